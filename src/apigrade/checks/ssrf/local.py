"""Where the target runs, and the scanner's own loopback receiver for out-of-band probes.

The receiver listens on 127.0.0.1 only, on a random port, for the duration of one check;
it answers every request with a short marker and records the request paths. It runs in
its own thread so that an app fetching synchronously (even inside the event loop) can
reach it.
"""

from __future__ import annotations

import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from apigrade.checks.context import CheckContext

MAX_RECORDED = 100
MARKER = b"apigrade-ssrf-receiver"


def in_process(ctx: CheckContext) -> bool:
    """True when the app is scanned in-process (no socket: nothing to connect to)."""
    return ctx.in_process


def loopback_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def runs_here(ctx: CheckContext) -> bool:
    """The target runs on this machine: a loopback address, or an app scanned in-process."""
    return in_process(ctx) or loopback_host(ctx.target.host)


class Receiver:
    """``r = Receiver().start()`` ... ``r.close()``: a tiny HTTP server on 127.0.0.1; ``r.paths`` it was asked for."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                receiver._record(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(MARKER)))
                self.end_headers()
                self.wfile.write(MARKER)

            do_POST = do_HEAD = do_GET  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def _record(self, path: str) -> None:
        with self._lock:
            if len(self.paths) < MAX_RECORDED:
                self.paths.append(path)

    def seen(self, marker: str) -> bool:
        with self._lock:
            return any(marker in p for p in self.paths)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and free the port (blocks for up to one poll interval)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
