"""Reading a response body safely: a size cap and a decompression-bomb guard."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

#: Largest expansion accepted from compressed content before it is called a bomb.
MAX_RATIO = 200


@dataclass
class Body:
    data: bytes
    truncated: bool
    note: str | None = None


class _Inflater:
    def __init__(self, encoding: str) -> None:
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._wbits = wbits
        self._obj = zlib.decompressobj(wbits)
        self._first = True

    def feed(self, data: bytes, room: int) -> bytes:
        try:
            out = self._obj.decompress(data, room)
        except zlib.error:
            if not self._first or self._wbits != zlib.MAX_WBITS:
                raise
            # Some servers send raw deflate without the zlib header.
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._obj.decompress(data, room)
        self._first = False
        return out


async def read_capped(chunks: AsyncIterator[bytes], encoding: str | None, cap: int) -> Body:
    """Read raw chunks, decoding gzip/deflate, keeping at most ``cap`` bytes of output.

    Reading stops as soon as the cap is hit; compressed input that expands more than
    ``MAX_RATIO`` times past 64 KiB is refused as a decompression bomb.
    """
    enc = (encoding or "identity").strip().lower()
    inflater = _Inflater(enc) if enc in ("gzip", "x-gzip", "deflate") else None
    out = bytearray()
    raw_total = 0
    note = None
    if enc not in ("identity", "", "gzip", "x-gzip", "deflate"):
        note = f"undecoded content-encoding {enc[:20]}"
    async for chunk in chunks:
        raw_total += len(chunk)
        if inflater is None:
            out += chunk[: cap - len(out) + 1]
        else:
            try:
                out += inflater.feed(chunk, cap - len(out) + 1)
            except zlib.error:
                return Body(bytes(out[:cap]), truncated=True, note="corrupt compressed body")
            if len(out) > 65536 and len(out) > MAX_RATIO * raw_total:
                return Body(bytes(out[:cap]), truncated=True, note="decompression bomb refused")
        if len(out) > cap:
            return Body(bytes(out[:cap]), truncated=True, note="body over the size cap")
    return Body(bytes(out), truncated=False, note=note)
