"""Tiny raw HTTP/1.1 servers for engine tests, on loopback, one thread per connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

Responder = Callable[[bytes], bytes]


def http_response(status: int = 200, body: bytes = b"ok", headers: dict[str, str] | None = None) -> bytes:
    head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def read_head(conn: socket.socket, limit: int = 65536) -> bytes | None:
    """The request head (up to the blank line), or None when the client hung up."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


class LoopbackServer:
    """Accepts on ``host``:free port in a thread; subclasses answer in ``respond``."""

    def __init__(self, host: str = "127.0.0.1", conn_timeout: float = 5) -> None:
        self.host = host
        self.conn_timeout = conn_timeout
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def respond(self, conn: socket.socket, head: bytes) -> None:
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(self.conn_timeout)
        try:
            head = read_head(conn)
            if head is not None:
                self.respond(conn, head)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


class RawServer(LoopbackServer):
    """Answers each connection with ``responder(request_line)``; records request lines."""

    def __init__(self, responder: Responder | None = None, host: str = "127.0.0.1") -> None:
        self.responder = responder or (lambda line: http_response())
        self.lines: list[bytes] = []
        self.heads: list[bytes] = []
        super().__init__(host)

    def respond(self, conn: socket.socket, head: bytes) -> None:
        line = head.split(b"\r\n", 1)[0]
        with self.lock:
            self.heads.append(head)
            self.lines.append(line)
        conn.sendall(self.responder(line))
