"""Offline key search on every core: the parent streams candidate chunks to worker
processes over pipes (one chunk in flight each), they hash, the first hit stops everyone."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from multiprocessing.connection import Connection, wait
from typing import Any

from apigrade.crack.batch import find_in_chunk, split_chunk
from apigrade.crack.candidates import Chunk, Source, as_source, to_bytes
from apigrade.crack.schemes import Scheme
from apigrade.crack.tokens import SignedToken

CHUNK_LINES = 20_000  # ~40 ms of hashing per chunk and scheme on one core
MIN_CHUNK_LINES = 1_000
_POLL = 0.05


class CrackError(RuntimeError):
    """A worker process failed."""


@dataclass(frozen=True)
class CrackProgress:
    """Snapshot passed to the ``progress`` callback."""

    tried: int
    total: int | None
    elapsed: float

    @property
    def rate(self) -> float:
        """Candidates per second so far."""
        return self.tried / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class CrackResult:
    """Outcome of :func:`crack`: ``key`` is None when no candidate verified."""

    key: bytes | None
    scheme: Scheme | None
    tried: int
    elapsed: float
    processes: int

    @property
    def found(self) -> bool:
        """True when a key verified."""
        return self.key is not None

    @property
    def key_text(self) -> str | None:
        """The key as text (undecodable bytes shown as ``\\xNN``)."""
        return None if self.key is None else self.key.decode("utf-8", "backslashreplace")

    @property
    def rate(self) -> float:
        """Candidates per second."""
        return self.tried / self.elapsed if self.elapsed > 0 else 0.0


ProgressFn = Callable[[CrackProgress], None]


def default_processes() -> int:
    """CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def verify_key(token: SignedToken, key: str | bytes) -> Scheme | None:
    """The scheme under which ``key`` signed ``token``, or None."""
    secret = to_bytes(key)
    return next((s for s in token.schemes if s.verify(secret)), None)


def _context() -> Any:
    """fork when this process is single-threaded (fast, nothing re-imported); otherwise
    forkserver/spawn, since forking a threaded process can deadlock the child. The search
    itself starts no thread."""
    methods = mp.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return mp.get_context("fork")
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


def _worker(schemes: Sequence[Scheme], conn: Connection) -> None:
    """Worker loop: receive a chunk, answer with its count or the hit; ``None`` ends it."""
    try:
        while (chunk := conn.recv()) is not None:
            words = split_chunk(chunk)
            hit = find_in_chunk(schemes, words)
            if hit is None:
                conn.send(("tried", len(words)))
            else:
                conn.send(("found", hit[0], words[hit[1]], hit[1] + 1))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass
    except BaseException:  # report, so the parent fails with the reason
        conn.send(("error", traceback.format_exc()))


class _Search:
    """Parent-side bookkeeping for one search.

    Chunks are numbered in candidate order. A hit counts once every earlier chunk has
    answered, so ``tried`` is exact and the same on any number of processes: every
    candidate up to and including the key (all of them when none verifies).
    """

    def __init__(self, total: int | None, progress: ProgressFn | None, every: float) -> None:
        self.total, self.progress, self.every = total, progress, every
        self.tried = 0  # answered so far, for progress
        self.counts: dict[int, int] = {}  # chunk number -> candidates it held
        self.hit: tuple[int, int, bytes, int] | None = None  # chunk, scheme, key, position
        self.error: str | None = None
        self.start = time.perf_counter()
        self._last = 0.0

    def handle(self, msg: tuple[Any, ...], seq: int) -> None:
        kind = msg[0]
        if kind == "tried":
            self.tried += msg[1]
            self.counts[seq] = msg[1]
        elif kind == "found":
            self.tried += msg[3]
            if self.hit is None or seq < self.hit[0]:  # the first key in candidate order
                self.hit = (seq, msg[1], msg[2], msg[3])
        elif kind == "error":
            self.error = msg[1]

    @property
    def found(self) -> tuple[int, bytes] | None:
        return None if self.hit is None else (self.hit[1], self.hit[2])

    def exact_tried(self) -> int:
        """Candidates before the key in candidate order plus the key; all on a miss."""
        if self.hit is None:
            return sum(self.counts.values())
        seq = self.hit[0]
        return sum(n for s, n in self.counts.items() if s < seq) + self.hit[3]

    def settled(self, pending: Iterable[int]) -> bool:
        """Over: a worker failed, or a key was found and no earlier chunk is in flight."""
        if self.error is not None:
            return True
        return self.hit is not None and all(s > self.hit[0] for s in pending)

    def tick(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self.progress is not None and (force or now - self._last >= self.every):
            self._last = now
            self.progress(CrackProgress(self.tried, self.total, now - self.start))


def _search_pool(
    schemes: Sequence[Scheme], chunks: Iterator[Chunk], processes: int, search: _Search
) -> None:
    """One pipe per worker, one chunk in flight per worker, the next chunk read ahead while
    the workers hash: memory stays at a few chunks, and no thread is ever started (so
    ``fork`` stays safe)."""
    ctx = _context()
    pipes: list[tuple[Any, Any]] = []
    for _ in range(processes):
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(tuple(schemes), theirs), daemon=True)
        proc.start()
        theirs.close()
        pipes.append((mine, proc))
    busy: dict[Any, Any] = {}  # connection -> process, for workers holding a chunk
    seq_of: dict[Any, int] = {}  # connection -> number of the chunk it holds
    ended: set[Any] = set()  # connections that were sent the final None
    ahead = next(chunks, None)
    sent = 0

    def feed(conn: Any, proc: Any) -> None:
        """Hand ``conn`` the chunk read ahead (or None: no more), then read the next one."""
        nonlocal ahead, sent
        try:
            conn.send(ahead)
        except OSError:
            search.error = search.error or f"worker process {proc.pid} died"
            return
        if ahead is None:
            busy.pop(conn, None)
            ended.add(conn)
        else:
            busy[conn], seq_of[conn] = proc, sent
            sent += 1
            ahead = next(chunks, None)

    def over() -> bool:
        return search.settled(seq_of[c] for c in busy)

    try:
        for conn, proc in pipes:
            feed(conn, proc)
        while busy and not over():
            ready = set(wait([*busy, *(p.sentinel for p in busy.values())], timeout=_POLL))
            for conn, proc in list(busy.items()):
                if conn in ready:
                    try:
                        msg = conn.recv()
                    except (EOFError, OSError):
                        msg = ("error", f"worker process {proc.pid} died")
                    search.handle(msg, seq_of[conn])
                    if search.hit is None and search.error is None:
                        feed(conn, proc)
                    else:
                        busy.pop(conn)  # no new chunk once a key is found
                elif proc.sentinel in ready:
                    search.handle(("error", f"worker process {proc.pid} died"), seq_of[conn])
                if over():
                    break
            search.tick()
    finally:
        for conn, proc in pipes:
            if proc.is_alive() and conn not in ended:
                proc.terminate()  # mid-chunk after a hit, or the parent is failing
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
            conn.close()


def _search_inline(schemes: Sequence[Scheme], chunks: Iterable[Chunk], search: _Search) -> None:
    for seq, chunk in enumerate(chunks):
        words = split_chunk(chunk)
        hit = find_in_chunk(schemes, words)
        if hit is not None:
            search.handle(("found", hit[0], words[hit[1]], hit[1] + 1), seq)
            return
        search.handle(("tried", len(words)), seq)
        search.tick()


def crack(
    token: SignedToken,
    candidates: Source | Iterable[str | bytes],
    *,
    processes: int | None = None,
    progress: ProgressFn | None = None,
    chunk_lines: int = CHUNK_LINES,
    progress_every: float = 0.25,
) -> CrackResult:
    """Try every candidate secret against ``token``; stop at the first that verifies.

    ``candidates`` is a :class:`Source` (see :mod:`apigrade.crack.candidates`) or any
    iterable of str/bytes. ``processes`` defaults to every usable CPU; a search that fits
    in one chunk runs in-process. ``progress`` is called about every ``progress_every``
    seconds with a :class:`CrackProgress`.
    """
    source = as_source(candidates)
    schemes = token.schemes
    if not schemes:
        raise ValueError("this token has no signature scheme to check")
    lines = max(MIN_CHUNK_LINES, chunk_lines // len(schemes))
    total = source.total()
    search = _Search(total, progress, progress_every)
    chunks = source.chunks(lines)
    nproc = processes or default_processes()
    first = next(chunks, None)
    if first is not None:
        second = next(chunks, None)
        rest: Iterator[Chunk] = chain([first], [] if second is None else [second], chunks)
        if nproc <= 1 or (second is None and processes is None):
            nproc = 1
            _search_inline(schemes, rest, search)
        else:
            _search_pool(schemes, rest, nproc, search)
    if search.error is not None:
        raise CrackError(search.error)
    search.tried = search.exact_tried()
    search.tick(force=True)
    elapsed = time.perf_counter() - search.start
    if search.found is None:
        return CrackResult(None, None, search.tried, elapsed, nproc)
    index, key = search.found
    return CrackResult(key, schemes[index], search.tried, elapsed, nproc)
