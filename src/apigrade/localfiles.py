"""Reading local inputs with a size limit: specs, saved reports, targets files, wordlists.

A local path can name anything: a 10 GB file, ``/dev/zero``, a FIFO. Every input the
user names is read through here, never with a bare ``read_text()``:

* :func:`read_limited` reads at most ``limit`` bytes (it asks for ``limit + 1`` and stops)
  and refuses the file when there is more, without loading the rest;
* :func:`check_streamable` refuses what cannot be streamed to an end (a device, a
  directory) for inputs that are read line by line in full (wordlists).

Every refusal is one :class:`~apigrade.errors.UsageError` line (exit 2) that names the
file and the limit.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from apigrade.errors import UsageError

MiB = 1024 * 1024
#: ``--spec FILE``: an OpenAPI or Swagger document.
SPEC_LIMIT = 20 * MiB
#: ``apigrade report SCAN.json``: a saved JSON report.
REPORT_LIMIT = 20 * MiB
#: ``apigrade scan-many FILE``: one URL a line (and its TOML config).
TARGETS_LIMIT = 4 * MiB
#: Longest wordlist line kept as a candidate; longer lines are skipped while streaming.
WORD_LIMIT = 4096
_BLOCK = 1 * MiB


def size_text(limit: int) -> str:
    """``20 MiB``, ``4096 bytes``."""
    if limit >= MiB and limit % MiB == 0:
        return f"{limit // MiB} MiB"
    return f"{limit} bytes"


def _shown(path: str | os.PathLike[str]) -> str:
    return repr(str(path))[:200]


def _read_at_most(fh: BinaryIO, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes, read in blocks (never one huge allocation)."""
    out = bytearray()
    while len(out) <= limit:
        block = fh.read(min(_BLOCK, limit + 1 - len(out)))
        if not block:
            break
        out += block
    return bytes(out)


def read_limited(path: str | os.PathLike[str], limit: int, what: str) -> bytes:
    """The bytes of ``path`` (``-`` is stdin); UsageError when over ``limit`` or unreadable.

    ``what`` names the input in the message ("spec", "report"). A regular file over the
    limit is refused from its size without reading it; anything else (a pipe, a device)
    is read up to ``limit + 1`` bytes and refused there.
    """
    too_big = UsageError(f"{what} {_shown(path)} is larger than the {size_text(limit)} limit")
    if str(path) == "-":
        raw = getattr(sys.stdin, "buffer", None)
        if raw is not None:
            data = _read_at_most(raw, limit)
        else:  # a text stream standing in for stdin (tests, embedding)
            data = sys.stdin.read(limit + 1).encode("utf-8", "surrogateescape")
    else:
        try:
            with open(path, "rb") as fh:
                info = os.fstat(fh.fileno())  # (a directory fails in open())
                if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                    raise too_big
                data = _read_at_most(fh, limit)
        except OSError as exc:
            raise UsageError(
                f"cannot read {what} {_shown(path)}: {exc.strerror or type(exc).__name__}"
            ) from None
    if len(data) > limit:
        raise too_big
    return data


def read_text_limited(path: str | os.PathLike[str], limit: int, what: str) -> str:
    """:func:`read_limited`, decoded as UTF-8; UsageError when it is not UTF-8."""
    data = read_limited(path, limit, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{what} {_shown(path)} is not UTF-8 text") from None


def check_streamable(path: str | os.PathLike[str], what: str) -> None:
    """Refuse an input that is read to its end line by line but has no end (wordlists).

    Only a regular file (or a link to one) is accepted: ``/dev/zero``, directories and
    FIFOs are refused with one UsageError line.
    """
    try:
        info = Path(path).stat()
        if not stat.S_ISREG(info.st_mode):  # checked before open(): a FIFO would block
            why = "is a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise UsageError(f"cannot read {what} {_shown(path)}: {why}")
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise UsageError(
            f"cannot read {what} {_shown(path)}: {exc.strerror or type(exc).__name__}"
        ) from None
