"""Helpers for the isolation and hardening tests: a hostile site, ``apigrade serve`` in a
subprocess, and the process tree read from /proc.

Imported by the test modules next to it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fleet_fixtures import API_KEY, APIGRADE, free_port, wait_for  # noqa: E402

from rawhttp import LoopbackServer  # noqa: E402

__all__ = [
    "CHILD", "HostileSite", "ServeProcess", "alive", "descendants", "scan_children",
]

#: the module every isolated scan runs in
CHILD = "apigrade.fleet.scan_child"
#: 1 MB of "-eyJ": the page that froze the event loop for minutes (issue 12, case 1)
EYJ_PAGE = b"-eyJ" * (256 * 1024)


class HostileSite(LoopbackServer):
    """A path ending in ``/`` answers 1 MB of ``-eyJ`` as HTML (CPU-heavy for a naive
    scanner); every other path drips its body one byte each 0.5 s, so a scan stays busy
    for minutes."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        super().__init__(conn_timeout=30)

    def respond(self, conn: object, head: bytes) -> None:
        import socket

        assert isinstance(conn, socket.socket)
        path = head.split(b" ", 2)[1].split(b"?")[0] if head.count(b" ") >= 2 else b"/"
        if path.endswith(b"/"):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(EYJ_PAGE) + EYJ_PAGE)
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                     b"Content-Length: 1000\r\n\r\n")
        for _ in range(240):
            if self.stopping.wait(0.5):
                return
            conn.sendall(b"x")

    def close(self) -> None:
        self.stopping.set()
        super().close()


# -- the process tree ----------------------------------------------------------------------
def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def descendants(root: int) -> dict[int, str]:
    """Every living descendant of ``root``: pid -> command line."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] != "Z":
                parents.setdefault(stat[1], []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = list(parents.get(root, []))
    while todo:
        pid = todo.pop()
        found[pid] = _cmdline(pid)
        todo.extend(parents.get(pid, []))
    return found


def scan_children(root: int) -> list[int]:
    """Descendants of ``root`` that are isolated scans."""
    return [pid for pid, cmd in descendants(root).items() if CHILD in cmd]


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


# -- apigrade serve in a subprocess -----------------------------------------------------------
class ServeProcess:
    """``apigrade serve`` on a free port, with ``APIGRADE_API_KEY`` set; a stopped
    process's stderr is in :attr:`stderr`."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = f"sqlite:///{tmp_path / 'serve.sqlite'}"
        self._log = tmp_path / "serve.log"
        self._out = self._log.open("wb")
        self.proc = subprocess.Popen(
            [APIGRADE, "serve", "--port", str(self.port), "--allow", "127.0.0.1",
             "--db", self.db, *args],
            env={**os.environ, "APIGRADE_API_KEY": API_KEY}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self._out, start_new_session=True,
        )
        self.seen: set[int] = set()
        wait_for(self._up, 30, "apigrade serve", 0.1)

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"apigrade serve exited: {self.stderr}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    @property
    def stderr(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self._log.read_text(errors="replace")

    def remember_children(self) -> dict[int, str]:
        """Record the current descendants (checked for leftovers in :meth:`close`)."""
        tree = descendants(self.proc.pid)
        self.seen.update(tree)
        return tree

    def terminate(self, timeout: float = 30) -> float:
        """SIGTERM; returns the seconds until the process exited."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=timeout)
        return time.monotonic() - t0

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.terminate(timeout=15)
        for pid in [self.proc.pid, *self.seen]:  # never leave anything behind a failed test
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if alive(pid) and pid != self.proc.pid:
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._out.close()


@contextlib.contextmanager
def serving(tmp_path: Path, *args: str) -> Iterator[ServeProcess]:
    svc = ServeProcess(tmp_path, *args)
    try:
        yield svc
    finally:
        svc.close()


__all__ += ["API_KEY", "EYJ_PAGE", "serving"]
