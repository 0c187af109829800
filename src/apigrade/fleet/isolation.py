"""Scans in child processes, so that a serving loop only ever waits on a pipe.

The service, the MCP server, scan-many, the monitor and the Celery worker all scan through
:func:`scan_isolated`. Each scan runs ``python -m apigrade.fleet.scan_child`` in a session
of its own (its own process group): whatever a target makes the scan do — burn CPU, drip
bytes, allocate — happens in that child and the processes it starts (the scan's own
analysis pool), never in the caller's event loop.

- The request (URL and the options' :meth:`ScanOptions.to_json`) goes to the child's
  stdin, the outcome (the report, or the exception the scan raised) comes back on its
  stdout, each as one length-prefixed pickle. Both ends are this package's own code:
  nothing a target sends is unpickled that the child did not build itself.
- Cancelling the awaiting task stops the child (SIGTERM: it exits through its normal
  cleanup, which stops the scan's analysis workers) and SIGKILLs its whole process group
  after :data:`STOP_GRACE_S`, whatever it was doing.
- The child keeps reading its stdin; when the parent dies (even by SIGKILL) the pipe
  closes and the child stops the same way, so nothing outlives the parent.
- The child does not inherit the service's API key, webhook secret or database URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import struct
import sys
import threading
import time
from typing import Any

from apigrade.model import ScanReport
from apigrade.redact import describe_error
from apigrade.scan_options import ScanOptions

CHILD_MODULE = "apigrade.fleet.scan_child"
#: environment variables a scan child never needs (service and monitor secrets)
SCRUBBED_ENV = ("APIGRADE_API_KEY", "APIGRADE_WEBHOOK_SECRET", "APIGRADE_DB")
#: seconds a child that already answered may take to exit before its group is killed
EXIT_GRACE_S = 5.0
#: seconds a cancelled scan's child may take to clean up before its group is killed
STOP_GRACE_S = 2.0
_HEADER = struct.Struct(">Q")
#: largest message accepted from a child (a report is bounded by --max-requests)
MAX_MESSAGE = 512 * 1024 * 1024


class ScanProcessError(RuntimeError):
    """The scan's child process ended without an answer (killed, out of memory...)."""


# -- the wire format (both sides) ----------------------------------------------------------
def encode(obj: Any) -> bytes:
    """One message: an 8-byte length, then the pickle."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def _read_exactly(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("truncated message")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int) -> Any:
    """Read one message from a blocking file descriptor (the child's stdin). Raw reads:
    a thread blocked on a buffered stdin would hold its lock at interpreter exit."""
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    return pickle.loads(_read_exactly(fd, size))  # noqa: S301 - from our own parent


async def _read_reply(stream: asyncio.StreamReader) -> Any:
    (size,) = _HEADER.unpack(await stream.readexactly(_HEADER.size))
    if size > MAX_MESSAGE:
        raise ScanProcessError("the scan process sent an oversized answer")
    return pickle.loads(await stream.readexactly(size))  # noqa: S301 - our own child


def portable_error(exc: BaseException) -> Exception:
    """The exception itself when it survives pickling, else a plain stand-in."""
    if isinstance(exc, Exception):
        try:
            pickle.loads(pickle.dumps(exc))  # noqa: S301 - round trip of our own object
        except Exception:  # noqa: BLE001, S110 - unpicklable: fall through to a stand-in
            pass
        else:
            return exc
    return ScanProcessError(describe_error(exc))  # type + masked message, never a repr


# -- the parent side ---------------------------------------------------------------------
def child_env() -> dict[str, str]:
    """The parent's environment without the secrets a scan does not need."""
    return {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}


def kill_group(pid: int) -> None:
    """SIGKILL a child's process group (the child leads it); gone already is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def scan_isolated(url: str, options: ScanOptions) -> ScanReport:
    """``run_scan(url, options)`` in a child process; raises what the scan raised.

    Cancelling the caller kills the child and everything it started.
    """
    proc = await asyncio.create_subprocess_exec(
        # -P: the server's working folder is not put on the child's sys.path (a token.py
        # there would shadow the standard library's and kill every scan)
        sys.executable, "-P", "-m", CHILD_MODULE,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, start_new_session=True, env=child_env(),
    )
    answered = False
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(encode((url, options.to_json())))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # died: see below
            await proc.stdin.drain()
        kind, value = await _outcome(proc, proc.stdout)
        answered = True
    finally:
        if not answered and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()  # the child cleans up; the watchdog kills what is left
        await _reap(proc, EXIT_GRACE_S if answered else STOP_GRACE_S)
    if kind == "ok" and isinstance(value, ScanReport):
        return value
    if isinstance(value, BaseException):
        raise value
    raise ScanProcessError("the scan process sent an unexpected answer")


async def _outcome(proc: asyncio.subprocess.Process, stdout: asyncio.StreamReader) -> Any:
    """The child's answer, or ScanProcessError when it exits without one."""
    reply = asyncio.ensure_future(_read_reply(stdout))
    exited = asyncio.ensure_future(proc.wait())
    try:
        await asyncio.wait({reply, exited}, return_when=asyncio.FIRST_COMPLETED)
        if not reply.done():  # exited: what it wrote may still be in the pipe
            await asyncio.wait({reply}, timeout=1.0)
        if reply.done() and not reply.cancelled() and reply.exception() is None:
            return reply.result()
        await asyncio.wait({exited}, timeout=1.0)  # for its exit code
        code = proc.returncode
        raise ScanProcessError(
            "the scan process ended without a result"
            + (f" (exit code {code})" if code is not None else "")
        )
    finally:
        for task in (reply, exited):
            task.cancel()
        await asyncio.gather(reply, exited, return_exceptions=True)


async def _reap(proc: asyncio.subprocess.Process, grace: float) -> None:
    """Let the child exit on its own for ``grace`` s; a watchdog thread then kills its
    group (whatever is left: analysis workers, a hung cleanup). The thread does not need
    this loop, so a cancellation that interrupts the wait (anyio cancels again and again)
    cannot skip the kill."""
    threading.Thread(target=_kill_group_after, args=(proc.pid, grace), daemon=True).start()
    try:
        if proc.returncode is None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(proc.wait(), grace)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # the child takes EOF as "stop" too


def _kill_group_after(pgid: int, grace: float) -> None:
    """SIGKILL the process group ``pgid`` unless it is empty within ``grace`` s."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return  # every process of the group has ended
        time.sleep(0.05)
    kill_group(pgid)
