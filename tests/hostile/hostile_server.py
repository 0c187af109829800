"""A hostile HTTP server for reliability tests: one behaviour per path, on 127.0.0.1.

Each behaviour gets the raw socket and may stall, flood, reset or lie. The server
counts requests and records their arrival times (for budget and rate tests).
"""

from __future__ import annotations

import socket
import struct
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rawhttp import LoopbackServer  # noqa: E402

Behaviour = Callable[[socket.socket], None]
# Runs the CLI and records the process's own peak RSS (KiB) in the file named by argv[1].
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking test process.
MEASURED_CLI = """
import sys
from apigrade.cli import main
peak_file = sys.argv.pop(1)
code = main(sys.argv[1:])
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
open(peak_file, "w").write(hwm)
sys.exit(code)
"""

PAGE = b"<html><head><title>Hostile</title></head><body><a href='/x'>x</a></body></html>"


def send(conn: socket.socket, status: str, body: bytes, *headers: str) -> None:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close", *headers]
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def ok_page(conn: socket.socket) -> None:
    send(conn, "200 OK", PAGE, "Content-Type: text/html", "X-Powered-By: PHP/5.1.6")


def huge_body(conn: socket.socket) -> None:
    """Announces 1 GiB and streams it until the client hangs up."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1073741824\r\n\r\n")
    chunk = b"A" * 65536
    for _ in range(16384):
        conn.sendall(chunk)


def endless_chunked(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"B" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    while True:
        conn.sendall(frame)


_BOMB: list[bytes] = []


def make_bomb(mib: int = 256) -> bytes:
    """gzip of ``mib`` MiB of zeros, built a MiB at a time (the test process stays small)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * (1024 * 1024)
    return b"".join(z.compress(zeros) for _ in range(mib)) + z.flush()


def gzip_bomb(conn: socket.socket) -> None:
    if not _BOMB:
        _BOMB.append(make_bomb())
    send(conn, "200 OK", _BOMB[0], "Content-Type: text/html", "Content-Encoding: gzip")


def brotli_claim(conn: socket.socket) -> None:
    """Claims brotli (never asked for) with undecodable bytes."""
    send(conn, "200 OK", bytes(range(256)) * 64, "Content-Type: text/html", "Content-Encoding: br")


def bad_utf8(conn: socket.socket) -> None:
    body = b"<html>\xff\xfe\xc3\x28 binary \x00\x01\x02\x1b[31m" + bytes(range(256)) + b"</html>"
    send(conn, "200 OK", body, "Content-Type: text/html; charset=utf-8")


def slowloris(conn: socket.socket) -> None:
    """One byte a second, forever (until the client gives up)."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000:
        conn.sendall(bytes([byte]))
        time.sleep(1)


def never_answer(conn: socket.socket) -> None:
    time.sleep(30)


def reset_mid_response(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\npartial")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def duplicate_headers(conn: socket.socket) -> None:
    send(conn, "200 OK", PAGE, "Content-Type: text/html", "Server: a/1.0", "Server: b/2.0",
         "Set-Cookie: ;;;===", "Set-Cookie: =novalue", "Set-Cookie: \x7fodd=\x01v; Path")  # fmt: skip


def oversized_header(conn: socket.socket) -> None:
    send(conn, "200 OK", PAGE, "X-Big: " + "h" * 200_000)


def invalid_status(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 9999 WHAT\r\nContent-Length: 2\r\n\r\nok")


def negative_length(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello")


def http09(conn: socket.socket) -> None:
    conn.sendall(b"<html>no status line at all</html>")


def redirect_to(location: str) -> Behaviour:
    def behaviour(conn: socket.socket) -> None:
        send(conn, "302 Found", b"", f"Location: {location}")

    return behaviour


def redirect_loop(conn: socket.socket) -> None:
    send(conn, "302 Found", b"", "Location: /loop")


BEHAVIOURS: dict[str, Behaviour] = {
    "/": ok_page,
    "/huge": huge_body,
    "/endless": endless_chunked,
    "/bomb": gzip_bomb,
    "/brotli": brotli_claim,
    "/utf8": bad_utf8,
    "/slow": slowloris,
    "/silent": never_answer,
    "/reset": reset_mid_response,
    "/dupes": duplicate_headers,
    "/bigheader": oversized_header,
    "/badstatus": invalid_status,
    "/neglen": negative_length,
    "/http09": http09,
    "/loop": redirect_loop,
    "/to-metadata": redirect_to("http://169.254.169.254/latest/meta-data/"),
    "/to-private": redirect_to("http://10.0.0.1/"),
    "/to-other-loopback": redirect_to("http://127.0.0.2:1/"),
    "/to-https": redirect_to("https://127.0.0.1/"),
}


class HostileServer(LoopbackServer):
    """Serves BEHAVIOURS by path (unknown paths: a plain 404); records paths and times."""

    def __init__(self, behaviours: dict[str, Behaviour] | None = None) -> None:
        self.behaviours = behaviours if behaviours is not None else dict(BEHAVIOURS)
        self.times: list[float] = []
        self.paths: list[str] = []
        super().__init__(conn_timeout=40)

    def respond(self, conn: socket.socket, head: bytes) -> None:
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        path = parts[1].decode("latin-1").split("?", 1)[0] if len(parts) > 1 else "/"
        with self.lock:
            self.times.append(time.monotonic())
            self.paths.append(path)
        behaviour = self.behaviours.get(path)
        if behaviour is None:
            send(conn, "404 Not Found", b"not found", "Content-Type: text/plain")
        else:
            behaviour(conn)
