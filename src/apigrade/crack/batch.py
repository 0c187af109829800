"""Check a whole chunk of candidate secrets against a scheme with no Python loop per candidate.

HMAC is spelled out with hashlib (``H(K^opad + H(K^ipad + m))``) and evaluated through
chained ``map()`` calls, so the per-candidate work runs in C. On OpenSSL 3 this is ~1.5x
faster than calling ``hmac.digest`` per candidate, whose one-shot fetches the MAC each call.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any

from apigrade.crack.schemes import Scheme
from apigrade.localfiles import WORD_LIMIT

_T_IPAD = bytes(b ^ 0x36 for b in range(256))
_T_OPAD = bytes(b ^ 0x5C for b in range(256))
_BLOCK = {"sha1": 64, "sha224": 64, "sha256": 64, "sha384": 128, "sha512": 128}
# _PAD[block][n]: the pad bytes that follow an n-byte key in the block.
_IPAD = {b: [b"\x36" * (b - n) for n in range(b + 1)] for b in (64, 128)}
_OPAD = {b: [b"\x5c" * (b - n) for n in range(b + 1)] for b in (64, 128)}

_add = operator.add
_translate = bytes.translate
_finish: Callable[[Any], bytes] = type(hashlib.sha1()).digest


def _ctor(digest: str) -> Callable[[bytes], Any]:
    ctor: Callable[[bytes], Any] = getattr(hashlib, digest)
    return ctor


def _fit_keys(keys: list[bytes], digest: str) -> tuple[list[bytes], list[int]]:
    """HMAC hashes keys longer than the block first; do that, and return the key lengths."""
    block = _BLOCK[digest]
    lens = list(map(len, keys))
    if lens and max(lens) > block:
        new = _ctor(digest)
        keys = [k if len(k) <= block else new(k).digest() for k in keys]
        lens = list(map(len, keys))
    return keys, lens


def hmac_many(
    keys: Sequence[bytes], lens: Iterable[int] | int, msg: bytes, digest: str
) -> Iterator[bytes]:
    """Lazily yield HMAC(key, msg) for each key (keys no longer than the hash block).

    ``lens`` is the key lengths (a list, iterated twice) or one length for all keys.
    """
    block = _BLOCK[digest]
    new = _ctor(digest)
    ipad, opad = _IPAD[block], _OPAD[block]
    lens_in: Iterable[int] = repeat(lens) if isinstance(lens, int) else lens
    lens_out: Iterable[int] = repeat(lens) if isinstance(lens, int) else lens
    inner_blocks = map(_add, map(_translate, keys, repeat(_T_IPAD)), map(ipad.__getitem__, lens_in))
    inner = map(_finish, map(new, map(_add, inner_blocks, repeat(msg))))
    outer_blocks = map(_add, map(_translate, keys, repeat(_T_OPAD)), map(opad.__getitem__, lens_out))
    return map(_finish, map(new, map(_add, outer_blocks, inner)))


def signatures(scheme: Scheme, words: list[bytes]) -> Iterator[bytes]:
    """Lazily yield the signature each candidate secret would give under ``scheme``."""
    if scheme.derivation == "none":
        keys, lens = _fit_keys(words, scheme.digest)
        return hmac_many(keys, lens, scheme.message, scheme.digest)
    if scheme.derivation == "hmac":
        keys, lens = _fit_keys(words, scheme.derive_digest)
        derived = list(hmac_many(keys, lens, scheme.derive_data, scheme.derive_digest))
    else:  # concat
        new = _ctor(scheme.derive_digest)
        derived = list(map(_finish, map(new, map(_add, repeat(scheme.derive_data), words))))
    size = hashlib.new(scheme.derive_digest).digest_size
    if size > _BLOCK[scheme.digest]:  # never with standard pairs; keep it correct anyway
        derived, lens = _fit_keys(derived, scheme.digest)
        return hmac_many(derived, lens, scheme.message, scheme.digest)
    return hmac_many(derived, size, scheme.message, scheme.digest)


def find_in_chunk(schemes: Sequence[Scheme], words: list[bytes]) -> tuple[int, int] | None:
    """``(scheme index, word index)`` of the first candidate that verifies, else None."""
    for i, scheme in enumerate(schemes):
        try:
            return i, operator.indexOf(signatures(scheme, words), scheme.signature)
        except ValueError:
            continue
    return None


def split_chunk(payload: bytes | list[bytes] | list[str | bytes]) -> list[bytes]:
    """Candidates of one chunk: a list (text encoded as UTF-8, empty words dropped), or a
    newline-separated blob split into lines (trailing ``\\r`` stripped, empty lines dropped)."""
    if isinstance(payload, list):
        return list(filter(None, map(_to_bytes, payload)))
    if b"\r" in payload:
        payload = payload.replace(b"\r\n", b"\n")
        if payload.endswith(b"\r"):
            payload = payload[:-1]
    words = list(filter(None, payload.split(b"\n")))
    if len(payload) > WORD_LIMIT and max(map(len, words), default=0) > WORD_LIMIT:
        words = [w for w in words if len(w) <= WORD_LIMIT]  # over-long lines: not keys
    return words


def _to_bytes(word: str | bytes) -> bytes:
    return word if isinstance(word, bytes) else word.encode("utf-8", "surrogatepass")
