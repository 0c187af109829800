"""The scanner's own loopback receiver for out-of-band probes (SSRF).

It listens on 127.0.0.1 only, on a random port, records the request paths and answers
each request with a short marker. It runs in its own thread so that an app fetching
synchronously (even inside the event loop) can reach it.

Checks never open one: they ask the engine (:meth:`Engine.receiver`), which keeps the
scope rule (only for a target on this machine), the deadline (``timeout`` bounds each
read and write of an exchange, and closing the receiver ends any exchange still open)
and the budget: ``admit`` is asked before every answer, and an exchange past ``--max-requests`` gets no answer (the connection is
closed; the path is still recorded, as the target's own request is the proof).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

MAX_RECORDED = 100
MARKER = b"apigrade-ssrf-receiver"


class Receiver:
    """``r = Receiver().start()`` ... ``r.close()``: a tiny HTTP server on 127.0.0.1."""

    def __init__(self, admit: Callable[[], bool] | None = None, timeout: float = 10.0) -> None:
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()  # connections being served
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._open.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._open.discard(self.connection)
                super().finish()

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                receiver._record(self.path)
                if admit is not None and not admit():
                    self.close_connection = True  # over budget: no answer
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(MARKER)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(MARKER)
                self.close_connection = True

            do_POST = do_HEAD = do_GET  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        Handler.timeout = timeout  # each socket operation of an exchange: a stalled peer is dropped
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._started = False

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def _record(self, path: str) -> None:
        with self._lock:
            if len(self.paths) < MAX_RECORDED:
                self.paths.append(path[:2048])

    def seen(self, marker: str) -> bool:
        with self._lock:
            return any(marker in p for p in self.paths)

    def start(self) -> Receiver:
        self._thread.start()
        self._started = True
        return self

    def close(self) -> None:
        """Stop serving, end the exchanges still open, free the port (blocks for up to
        one poll interval): no exchange outlives the receiver."""
        if self._started:
            self._server.shutdown()
            self._thread.join(timeout=2)
            self._started = False
        self._server.server_close()
        with self._lock:
            still_open, self._open = list(self._open), set()
        for conn in still_open:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
