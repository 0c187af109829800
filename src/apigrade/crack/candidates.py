"""Candidate secrets, streamed in chunks: built-in defaults, the flask-unsign-wordlist
package, user wordlists (any size, never loaded whole) and words harvested from a target.

A chunk is either a ``list[bytes]`` or one ``bytes`` blob of newline-separated candidates
that the worker splits, so handing millions of lines to worker processes stays cheap.
"""

from __future__ import annotations

import ast
import functools
import warnings
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Protocol, runtime_checkable

from apigrade.crack.defaults import DEFAULT_SECRETS
from apigrade.localfiles import WORD_LIMIT, check_streamable

#: A newline-separated blob of candidates, or a list of them (str is encoded as UTF-8).
Chunk = bytes | list[bytes] | list[str | bytes]
_READ = 1 << 20  # bytes per read when counting lines


@runtime_checkable
class Source(Protocol):
    """Anything that yields candidate chunks of about ``lines`` candidates."""

    name: str

    def chunks(self, lines: int) -> Iterator[Chunk]: ...

    def total(self) -> int | None: ...


def to_bytes(word: str | bytes) -> bytes:
    """Candidates are bytes; text is UTF-8 (what itsdangerous, Django and PyJWT use)."""
    return word if isinstance(word, bytes) else word.encode("utf-8", "surrogatepass")


class Words:
    """A small in-memory list of candidates, deduplicated in order (empty ones dropped)."""

    def __init__(self, words: Iterable[str | bytes], name: str = "words") -> None:
        self.name = name
        self.words: list[bytes] = list(dict.fromkeys(filter(None, map(to_bytes, words))))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.words)

    def __len__(self) -> int:
        return len(self.words)

    def chunks(self, lines: int) -> Iterator[Chunk]:
        for i in range(0, len(self.words), lines):
            yield self.words[i : i + lines]

    def total(self) -> int | None:
        return len(self.words)


class IterableSource:
    """Any iterable of candidates, batched lazily (no deduplication; a length only for
    lists and tuples)."""

    def __init__(self, words: Iterable[str | bytes], name: str = "candidates") -> None:
        self.name = name
        self._words = words

    def chunks(self, lines: int) -> Iterator[Chunk]:
        # Batched in C; empty words are dropped and text encoded by the worker.
        it = iter(self._words)
        while batch := list(islice(it, lines)):
            yield batch

    def total(self) -> int | None:
        return len(self._words) if isinstance(self._words, list | tuple) else None


class WordlistFile:
    """A wordlist file of any size, one candidate per line, read in bounded binary blocks.

    Lines keep every byte but the trailing ``\\r\\n`` / ``\\n``; empty lines are skipped,
    and so are lines longer than ``WORD_LIMIT`` bytes (never held whole, whatever their
    size). Duplicates are not removed (a global set for 10M lines would cost ~1 GB).
    """

    def __init__(self, path: str | Path, name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.name
        self._total: int | None = None

    def check(self) -> None:
        """Raise UsageError now (one line) if the file cannot be streamed to an end:
        unreadable, a directory, or not a regular file (``/dev/zero``, a FIFO)."""
        check_streamable(self.path, "wordlist")

    def chunks(self, lines: int) -> Iterator[Chunk]:
        self.check()  # an endless input (/dev/zero) is never read
        size = max(4096, lines * 12)  # first guess: ~12 bytes a line, adapted below
        rest = b""
        skipping = False  # inside a line over WORD_LIMIT: dropped up to its newline
        with self.path.open("rb") as fh:
            while True:
                block = fh.read(size)
                if not block:
                    break
                if skipping:
                    nl = block.find(b"\n")
                    if nl < 0:
                        continue
                    block, skipping = block[nl + 1 :], False
                block = rest + block
                cut = block.rfind(b"\n")
                rest = block[cut + 1 :]
                if len(rest) > WORD_LIMIT:
                    rest, skipping = b"", True
                if cut < 0:
                    continue
                body = block[: cut + 1]
                yield body
                seen = body.count(b"\n")
                size = max(4096, min(16 << 20, len(body) * lines // max(seen, 1)))
        if rest and not skipping:
            yield rest

    def __iter__(self) -> Iterator[bytes]:
        from apigrade.crack.batch import split_chunk

        for chunk in self.chunks(4096):
            yield from split_chunk(chunk)

    def total(self) -> int | None:
        """Number of lines (one fast pass over the file, cached)."""
        if self._total is None:
            count, last = 0, b"\n"
            with self.path.open("rb") as fh:
                while block := fh.read(_READ):
                    count += block.count(b"\n")
                    last = block[-1:]
            self._total = count + (last != b"\n")
        return self._total


class Candidates:
    """Sources chained in order; in-memory :class:`Words` are deduplicated across sources."""

    def __init__(self, *sources: Source, name: str = "candidates") -> None:
        self.sources = sources
        self.name = name

    def chunks(self, lines: int) -> Iterator[Chunk]:
        seen: set[bytes] = set()
        for source in self.sources:
            if isinstance(source, Words):
                fresh = [w for w in source.words if w not in seen]
                seen.update(fresh)
                for i in range(0, len(fresh), lines):
                    yield fresh[i : i + lines]
            else:
                yield from source.chunks(lines)

    def total(self) -> int | None:
        counts = [s.total() for s in self.sources]
        return None if None in counts else sum(c or 0 for c in counts)


def builtin_defaults() -> Words:
    """(a) The built-in list of secrets seen in tutorials, docs and templates."""
    return Words(DEFAULT_SECRETS, name="built-in defaults")


def package_wordlist_path(name: str = "all") -> Path | None:
    """Path of a list shipped by the ``flask-unsign-wordlist`` package, None if absent."""
    try:
        import flask_unsign_wordlist
    except ImportError:
        return None
    try:
        return Path(flask_unsign_wordlist.get(name))
    except Exception:  # the package raises its own NoSuchWordlist
        return None


def _literal(line: str) -> bytes | None:
    """One line of the package list: a Python str or bytes literal."""
    q = line[:1]
    if len(line) >= 2 and q in "'\"" and line[-1] == q and "\\" not in line:
        inner = line[1:-1]
        if q not in inner:
            return inner.encode("utf-8", "surrogatepass")
    try:
        value = ast.literal_eval(line)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return line.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return None


@functools.lru_cache(maxsize=4)
def _package_words(name: str) -> tuple[bytes, ...]:
    path = package_wordlist_path(name)
    if path is None:
        return ()
    with path.open(encoding="utf-8", errors="surrogateescape") as fh, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # literal_eval warns on odd escapes in the list
        words = (_literal(line.rstrip("\r\n")) for line in fh if line.strip("\r\n"))
        return tuple(w for w in words if w)


def package_wordlist(name: str = "all") -> Words:
    """(b) The ``flask-unsign-wordlist`` package's list (lines are Python literals, decoded
    here); empty when the package is not installed."""
    return Words(_package_words(name), name="flask-unsign-wordlist")


def wordlist(path: str | Path) -> WordlistFile:
    """(c) A user wordlist, streamed."""
    return WordlistFile(path)


def default_candidates(
    path: str | Path | None = None, extra: Iterable[str | bytes] = (), *, builtin: bool = True
) -> Candidates:
    """Everything in order of likelihood: ``extra`` (e.g. :func:`harvest_words` output), the
    built-in defaults, the flask-unsign-wordlist list, then the wordlist at ``path``."""
    sources: list[Source] = []
    extra_words = Words(extra, name="harvested")
    if len(extra_words):
        sources.append(extra_words)
    if builtin:
        sources += [builtin_defaults(), package_wordlist()]
    if path is not None:
        sources.append(WordlistFile(path))
    return Candidates(*sources)


def as_source(candidates: Source | Iterable[str | bytes]) -> Source:
    """Wrap a plain iterable of candidates as a :class:`Source`."""
    if isinstance(candidates, Source):
        return candidates
    if isinstance(candidates, str | bytes):
        raise TypeError("candidates must be an iterable of words, not one string")
    return IterableSource(candidates)
