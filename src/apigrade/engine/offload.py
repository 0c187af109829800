"""CPU work off the event loop: one process pool, a deadline and a size cap per item.

Parsing and matching what a target sends (passive checks, HTML, scripts, robots,
sitemaps, OpenAPI/YAML, fingerprinting) runs here, in worker processes, so a hostile
body can never stall the scan's event loop, its other requests, or Ctrl-C.

- One pool per process, created on first use and reused by every scan of the process
  (the test suite and ``scan-many`` run hundreds of scans in one process); closed at
  exit. A process that inherited a pool from its parent (fork) makes its own.
- Workers start from a ``forkserver`` (``spawn`` where there is none), never by plain
  ``fork`` of a process that has threads. The forkserver preloads the analysis
  modules, so a new worker is ready in milliseconds.
- :func:`run` gives each item a deadline (wall time in the worker, ``pebble`` kills
  and replaces a worker that runs over it) and refuses inputs over a size cap. An
  item that is dropped returns ``None`` and leaves one line in ``errors``; it is
  never waited on.
- Workers do not re-run the caller's ``__main__`` (``multiprocessing`` does by default
  with forkserver and spawn), so a script that calls ``apigrade.scan(app)`` without an
  ``if __name__ == "__main__"`` guard still works. Functions defined in ``__main__``
  therefore cannot be sent to the pool.
- A worker exits by itself when the scanning process dies, even by SIGKILL, so a
  worker busy with a hostile body cannot be orphaned.
- Workers ignore SIGINT: Ctrl-C reaches the scan, which cancels its items (a running
  item's worker is killed), and the pool is stopped at exit, so nothing outlives it.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import BrokenExecutor
from concurrent.futures import CancelledError as FutureCancelled
from multiprocessing import forkserver, resource_tracker, spawn, util
from multiprocessing.connection import wait
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from apigrade.engine.http import Exchange

T = TypeVar("T")

#: seconds an item may run in a worker before it is dropped (``EngineConfig.cpu_deadline``)
DEFAULT_DEADLINE = 2.0
#: characters/bytes an item may carry in its arguments (bodies are capped at 2 MiB)
MAX_INPUT = 8 * 1024 * 1024
#: imported once by the forkserver, so workers start with them loaded
PRELOAD = (
    "apigrade.engine.worker_preload",
    "apigrade.discovery.html",
    "apigrade.discovery.openapi",
    "apigrade.discovery.robots",
    "apigrade.discovery.sitemap",
    "apigrade.fingerprint",
)

_lock = threading.Lock()
_pool: ProcessPool | None = None
_pool_pid = 0


def workers() -> int:
    """Worker processes of the pool: at most two (the machine runs the scan too)."""
    return max(1, min(2, os.cpu_count() or 1))


_WORKER_NAME = "pebble_pool_worker"  # pebble's name for its worker processes
_plain_preparation = spawn.get_preparation_data


def _preparation_data(name: str) -> dict[str, Any]:
    """multiprocessing's start-up data, without re-running ``__main__`` in our workers."""
    data: dict[str, Any] = _plain_preparation(name)
    if name == _WORKER_NAME:
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


def _context() -> Any:
    spawn.get_preparation_data = _preparation_data
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


def _worker_init() -> None:
    """In each worker: Ctrl-C belongs to the parent; a worker never outlives it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        watch = threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True)
        watch.start()


def _exit_with(sentinel: int) -> None:
    """Exit as soon as the scanning process is gone (even killed with SIGKILL)."""
    wait([sentinel])
    os._exit(1)


def pool() -> ProcessPool:
    """The process's pool, started on first use (again after a fork or a shutdown)."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid() or not _pool.active:
            _pool = ProcessPool(max_workers=workers(), initializer=_worker_init, context=_context())
            _pool_pid = os.getpid()
            # A multiprocessing child (a service's scan) skips atexit: stop the pool
            # from multiprocessing's own exit hook, before it joins its children.
            util.Finalize(None, _at_exit, exitpriority=100)
        return _pool


def warm() -> None:
    """Start the pool's workers now, without waiting (a scan starts with its I/O)."""
    if multiprocessing.current_process().daemon:
        return  # no worker processes here: see run()
    if _pool is not None and _pool_pid == os.getpid() and _pool.active:
        return
    p = pool()
    for _ in range(workers()):
        p.schedule(os.getpid)


def shutdown() -> None:
    """Stop the pool's workers now (running items are killed). Safe to call twice."""
    global _pool
    with _lock:
        p, _pool = _pool, None
        if p is None or _pool_pid != os.getpid():
            return
    p.stop()
    p.join(timeout=5)


def _stop_helpers() -> None:
    """Stop the forkserver and resource tracker that the pool started, and reap them.

    They would otherwise outlive the process for a moment (``Ctrl-C`` must leave
    nothing behind). Private multiprocessing hooks, present since Python 3.8.
    """
    for helper in (getattr(forkserver, "_forkserver", None),
                   getattr(resource_tracker, "_resource_tracker", None)):  # fmt: skip
        stop = getattr(helper, "_stop", None)
        if stop is not None:
            try:
                stop()
            except (OSError, ChildProcessError):
                pass


def _at_exit() -> None:
    """At exit: stop the pool, then (bounded) its forkserver and resource tracker."""
    if _pool_pid != os.getpid():
        return  # this process never started a pool
    shutdown()
    helpers = threading.Thread(target=_stop_helpers, daemon=True)
    helpers.start()
    helpers.join(timeout=2)  # never hold the exit for long


atexit.register(_at_exit)


def input_size(obj: object) -> int:
    """Characters/bytes carried by an item's arguments (strings, bytes, exchanges)."""
    if isinstance(obj, str | bytes | bytearray):
        return len(obj)
    if isinstance(obj, Exchange):
        return len(obj.response.body) + len(obj.probe.body or b"")
    if isinstance(obj, list | tuple):
        return sum(input_size(x) for x in obj)
    if isinstance(obj, dict):
        return sum(input_size(x) for x in obj.values())
    return 0


def drop_line(label: str, why: str) -> str:
    """The one line an item that was dropped leaves in the report's errors."""
    return f"{label} dropped: {why}"


async def run(
    fn: Callable[..., T],
    *args: Any,
    deadline: float = DEFAULT_DEADLINE,
    label: str = "analysis",
    errors: list[str] | None = None,
    max_input: int = MAX_INPUT,
) -> T | None:
    """``fn(*args)`` in a worker; its result, or None when the item was dropped.

    ``fn`` and its arguments are pickled (``fn`` by reference: a module-level
    function). An exception raised by ``fn`` is raised here. The item is dropped,
    with one line in ``errors``, when its input is over ``max_input``, when it runs
    past ``deadline`` seconds (its worker is killed and replaced) or when its
    worker dies. Cancelling the caller cancels the item and kills its worker.
    """
    if getattr(fn, "__module__", None) == "__main__":
        raise TypeError(f"{fn!r} is defined in __main__: the analysis pool cannot import it")
    size = input_size(args)
    if size > max_input:
        if errors is not None:
            errors.append(drop_line(label, f"input of {size} bytes is over {max_input}"))
        return None
    if multiprocessing.current_process().daemon:
        return await _in_thread(fn, args, deadline, label, errors)
    future = pool().schedule(fn, args=args, timeout=deadline)
    try:
        return await asyncio.wrap_future(future)
    except TimeoutError as exc:
        if exc.args[:1] != ("Task timeout",):
            raise  # raised by fn itself
        why = f"over {deadline:g} s CPU"
    except ProcessExpired as exc:
        why = f"its worker died (exit code {exc.exitcode})"
    except BrokenExecutor:
        shutdown()  # the next item starts a fresh pool
        why = "the analysis pool failed"
    except FutureCancelled:
        raise asyncio.CancelledError from None
    except asyncio.CancelledError:
        future.cancel()  # pebble stops the worker that runs it
        raise
    if errors is not None:
        errors.append(drop_line(label, why))
    return None


async def _in_thread(
    fn: Callable[..., T],
    args: tuple[Any, ...],
    deadline: float,
    label: str,
    errors: list[str] | None,
) -> T | None:
    """Fallback where no worker process may start (a daemonic process): a thread.

    The loop stays responsive and the item is still dropped at its deadline, but a
    thread cannot be killed: it finishes in the background.
    """
    try:
        return await asyncio.wait_for(asyncio.to_thread(fn, *args), deadline)
    except TimeoutError:
        if errors is not None:
            errors.append(drop_line(label, f"over {deadline:g} s CPU"))
        return None
