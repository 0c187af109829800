"""The engine owns every byte that leaves the machine (issue 12, item 4).

The ``--spec`` fetch from a named host, TLS handshakes and the SSRF receiver go through
the engine: each has its scope rule, the request timeout as a bound on the whole
exchange, and a place in ``--max-requests`` and ``requests_sent``. Nothing outside the
target's origin is contacted unless ``--scope`` names it. Checks open nothing themselves.
Every server here is started by the test on 127.0.0.1 and stopped again.
"""

from __future__ import annotations

import ast
import asyncio
import json
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "checks"))
from apigrade.engine.client import Engine, EngineConfig, NamedFetchError  # noqa: E402
from apigrade.engine.handshake import TlsHello  # noqa: E402
from apigrade.engine.http import Probe  # noqa: E402
from apigrade.engine.receiver import MARKER  # noqa: E402
from apigrade.engine.scanner import scan_sync  # noqa: E402
from apigrade.engine.target import Target, parse_origin  # noqa: E402
from apigrade.errors import UsageError  # noqa: E402
from rawhttp import LoopbackServer, RawServer, http_response  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "src" / "apigrade"
SPEC = json.dumps({
    "openapi": "3.0.0", "info": {"title": "t", "version": "1"},
    "paths": {"/api/items": {"get": {"responses": {"200": {"description": "ok"}}}}},
}).encode()  # fmt: skip
PAGE = b"<html><head><title>t</title></head><body>hello</body></html>"


def page(line: bytes) -> bytes:
    if line.startswith(b"GET / "):
        return http_response(200, PAGE, {"Content-Type": "text/html"})
    return http_response(404, b"not found", {"Content-Type": "text/plain"})


class Drip(LoopbackServer):
    """Sends a response one byte every ``interval`` seconds: ``total`` bytes of body
    (forever when None) after a head that is dripped too when ``drip_head``."""

    def __init__(self, interval: float, total: int | None = None, drip_head: bool = True) -> None:
        self.interval, self.total, self.drip_head = interval, total, drip_head
        self.requests = 0
        super().__init__(conn_timeout=600)

    def respond(self, conn: socket.socket, head: bytes) -> None:
        with self.lock:
            self.requests += 1
        length = self.total if self.total is not None else 10**9
        start = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        if not self.drip_head:
            conn.sendall(start.encode())
            start = ""
        sent = 0
        for ch in start.encode():
            if self._stop.is_set():
                return
            conn.sendall(bytes([ch]))
            time.sleep(self.interval)
        while not self._stop.is_set() and (self.total is None or sent < self.total):
            conn.sendall(b" ")
            sent += 1
            time.sleep(self.interval)


@pytest.fixture
def servers() -> Iterator[list[LoopbackServer]]:
    started: list[LoopbackServer] = []
    yield started
    for srv in started:
        srv.close()


def cli(*args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "apigrade", *args], capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    return proc, time.monotonic() - t0


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The one error line on stderr (progress lines aside); no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if "error" in ln]
    assert len(lines) == 1, proc.stderr
    return lines[0]


# -- --spec URL on another host -----------------------------------------------------
def test_dripping_spec_server_cannot_hold_the_scan(servers: list[LoopbackServer]) -> None:
    target = RawServer(page)
    drip = Drip(interval=0.5)  # 1 byte every 0.5 s, forever: no read ever times out
    servers += [target, drip]
    proc, took = cli("scan", target.url, "--spec", f"http://127.0.0.1:{drip.port}/openapi.json",
                     "--timeout", "5", "--no-store", "-f", "json")  # fmt: skip
    line = one_line_error(proc)
    assert proc.returncode == 2, proc.stderr
    assert "cannot fetch spec" in line and "within --timeout 5 s" in line
    assert took < 5 + 25  # the timeout bounds the whole fetch (was > 150 s)
    assert drip.requests == 1


def test_spec_fetch_is_counted_in_requests_sent(servers: list[LoopbackServer], tmp_path: Path) -> None:
    target = RawServer(page)
    spec = RawServer(lambda line: http_response(200, SPEC, {"Content-Type": "application/json"}))
    servers += [target, spec]
    out = tmp_path / "r.json"
    proc, _ = cli("scan", target.url, "--spec", spec.url + "openapi.json", "--no-store",
                  "-f", "json", "-o", str(out), "--timeout", "5")  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(out.read_text())
    assert len(spec.lines) == 1 and spec.lines[0].startswith(b"GET /openapi.json ")
    assert report["requests_sent"] == len(target.lines) + len(spec.lines)
    assert any("/api/items" in line.decode() for line in target.lines)  # the spec was used


def test_spec_fetch_refused_past_max_requests(servers: list[LoopbackServer]) -> None:
    target = RawServer(page)
    spec = RawServer(lambda line: http_response(200, SPEC))
    servers += [target, spec]
    proc, _ = cli("scan", target.url, "--spec", spec.url + "openapi.json", "--no-store",
                  "--max-requests", "1")  # fmt: skip
    line = one_line_error(proc)
    assert proc.returncode == 2 and "max-requests" in line
    assert spec.lines == []  # nothing sent once the budget is spent


def test_named_fetch_takes_its_place_in_the_budget(servers: list[LoopbackServer]) -> None:
    spec = RawServer(lambda line: http_response(200, SPEC))
    servers.append(spec)

    async def go() -> tuple[int, str]:
        async with Engine(Target.parse("http://127.0.0.1:1/"), EngineConfig(max_requests=1)) as e:
            ex = await e.fetch_named(spec.url + "a.json")
            assert ex.text == SPEC.decode()
            with pytest.raises(NamedFetchError) as info:
                await e.fetch_named(spec.url + "b.json")
            return e.requests_sent, str(info.value)

    sent, message = asyncio.run(go())
    assert sent == 1 and "max-requests" in message and len(spec.lines) == 1


def test_named_fetch_keeps_to_its_origin_and_the_users_credentials(
    servers: list[LoopbackServer],
) -> None:
    other = RawServer()
    spec = RawServer(lambda line: http_response(302, b"", {"Location": other.url + "x"}))
    servers += [other, spec]

    async def go() -> Exception | None:
        cfg = EngineConfig(headers=(("Authorization", "Bearer s3cr3t-token"),), cookie="sid=abcd")
        async with Engine(Target.parse("http://127.0.0.1:1/"), cfg) as engine:
            ex = await engine.fetch_named(spec.url + "openapi.json")
            assert ex.status == 302  # the redirect off the named origin is not followed
            assert engine.requests_sent == 1
        return None

    asyncio.run(go())
    assert other.lines == []
    [head] = spec.heads
    assert b"s3cr3t" not in head and b"abcd" not in head  # -H and -b belong to the target


def test_named_fetch_error_is_one_line_without_userinfo(servers: list[LoopbackServer]) -> None:
    target = RawServer(page)
    servers.append(target)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    proc, _ = cli("scan", target.url, "--spec", f"http://bob:hunter2pw@127.0.0.1:{closed}/s.json",
                  "--no-store")  # fmt: skip
    line = one_line_error(proc)
    assert proc.returncode == 2 and "cannot fetch spec" in line
    assert "hunter2pw" not in proc.stderr + proc.stdout


# -- the request timeout bounds the whole exchange ------------------------------------
def test_timeout_bounds_the_whole_exchange_not_each_read(servers: list[LoopbackServer]) -> None:
    # head at once, then 13 body bytes 0.2 s apart: the whole answer takes ~2.6 s, no
    # single read waits more than 0.2 s. With --timeout 2 it must be cut at 2 s.
    drip = Drip(interval=0.2, total=13, drip_head=False)
    servers.append(drip)

    async def go() -> tuple[object, float, list[str]]:
        async with Engine(Target.parse(drip.url), EngineConfig(timeout=2.0)) as engine:
            t0 = time.monotonic()
            ex = await engine.send(Probe(url=drip.url))
            return ex, time.monotonic() - t0, engine.stats.errors

    ex, took, errors = asyncio.run(go())
    assert ex is None and errors  # 1.5 x the timeout would have let it finish
    assert took < 2 + 3  # generous on a shared machine


# -- TLS handshakes ---------------------------------------------------------------------
class TlsServer(LoopbackServer):
    """Accepts TLS on 127.0.0.1:free port and closes after the handshake; counts accepts."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.accepted = 0
        super().__init__()

    def _handle(self, conn: socket.socket) -> None:
        with self.lock:
            self.accepted += 1
        try:
            conn.settimeout(self.conn_timeout)
            self.ctx.wrap_socket(conn, server_side=True).close()
        except (OSError, ssl.SSLError):
            conn.close()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TlsServer]:
    pytest.importorskip("cryptography")
    import apps_api2

    cert, key, _ = apps_api2.make_cert(tmp_path, "self")
    srv = TlsServer(cert, key)
    yield srv
    srv.close()


def test_tls_handshakes_are_counted_and_refused_past_the_budget(tls_server: TlsServer) -> None:
    async def go() -> tuple[list[object], int]:
        target = Target.parse(f"https://127.0.0.1:{tls_server.port}/")
        async with Engine(target, EngineConfig(max_requests=3, timeout=5)) as engine:
            got = [await engine.tls_handshake(TlsHello()) for _ in range(5)]
            return got, engine.requests_sent

    got, sent = asyncio.run(go())
    assert [r is not None and r.ok for r in got] == [True, True, True, False, False]  # type: ignore[attr-defined]
    assert got[3] is None and got[4] is None
    assert sent == 3 and tls_server.accepted == 3


def test_tls_handshake_that_stalls_is_cut_at_the_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)  # accepts TCP, never speaks TLS
        port = listener.getsockname()[1]

        async def go() -> tuple[object, float]:
            async with Engine(Target.parse(f"https://127.0.0.1:{port}/"), EngineConfig(timeout=1)) as e:
                t0 = time.monotonic()
                return await e.tls_handshake(TlsHello()), time.monotonic() - t0

        result, took = asyncio.run(go())
    assert result is not None and not result.ok and "1 s" in (result.error or "")  # type: ignore[attr-defined]
    assert took < 1 + 3


def test_tls_handshakes_only_with_an_https_target_over_a_socket() -> None:
    from apigrade.engine.transports import transport_for

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    async def go() -> list[object]:
        out: list[object] = []
        async with Engine(Target.parse("http://127.0.0.1:1/")) as plain:
            out += [await plain.tls_handshake(TlsHello()), plain.requests_sent]
        target = Target.parse("https://testserver/")
        async with Engine(target, transport=transport_for(app)) as in_process:
            out += [await in_process.tls_handshake(TlsHello()), in_process.requests_sent]
        return out

    assert asyncio.run(go()) == [None, 0, None, 0]


def test_the_tls_check_counts_every_handshake(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    import apps_api2

    cert, key, _ = apps_api2.make_cert(tmp_path, "self")
    with apps_api2.serve_https(apps_api2.https_app(weak=False), cert, key) as url:
        without = scan_sync(url, insecure=True, only=[])
        with_tls = scan_sync(url, insecure=True, only=["tls.invalid-certificate"])
    handshakes = with_tls.requests_sent - without.requests_sent  # discovery is the same
    assert 4 <= handshakes <= 7  # unverified, system CA, pinned x2, then protocol probes


# -- the receiver -----------------------------------------------------------------------
def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return bytes(resp.read())
    except Exception:  # noqa: BLE001 - a refused exchange: no answer
        return None


def test_receiver_exchanges_are_counted_and_refused_past_the_budget() -> None:
    async def go() -> tuple[list[bytes | None], int, bool, int]:
        async with Engine(Target.parse("http://127.0.0.1:1/"), EngineConfig(max_requests=2)) as e:
            async with e.receiver() as rec:
                assert rec is not None
                got = [await asyncio.to_thread(_get, rec.url(f"apigrade-{i}")) for i in range(3)]
                seen = all(rec.seen(f"apigrade-{i}") for i in range(3))
                port = rec.port
            return got, e.requests_sent, seen, port

    got, sent, seen, port = asyncio.run(go())
    assert got == [MARKER, MARKER, None]  # the third exchange is past --max-requests
    assert sent == 2 and seen  # the path is still recorded: the target's request is the proof
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # closed with the block


def test_no_receiver_exchange_outlives_the_receiver() -> None:
    async def go() -> socket.socket:
        async with Engine(Target.parse("http://127.0.0.1:1/"), EngineConfig(timeout=60)) as e:
            async with e.receiver() as rec:
                assert rec is not None
                client = socket.create_connection(("127.0.0.1", rec.port))
                client.sendall(b"GET /apigrade-slow HTTP/1.1\r\n")  # and never the rest
                await asyncio.sleep(0.3)
        return client

    client = asyncio.run(go())
    client.settimeout(10)
    t0 = time.monotonic()
    try:
        assert client.recv(100) == b""  # ended by the receiver's close, not the 60 s timeout
    except ConnectionResetError:
        pass
    finally:
        client.close()
    assert time.monotonic() - t0 < 5


def test_receiver_only_for_a_target_on_this_machine() -> None:
    async def go() -> list[object]:
        out = []
        for url in ("http://api.example.com/", "http://10.1.2.3/"):
            async with Engine(Target.parse(url)) as e, e.receiver() as rec:
                out.append(rec)
        async with Engine(Target.parse("http://127.0.0.1:1/"), EngineConfig(max_requests=1)) as e:
            e._take()  # the budget is spent: no receiver either
            async with e.receiver() as rec:
                out.append(rec)
        return out

    assert asyncio.run(go()) == [None, None, None]


# -- scope: nothing outside the target's origin unless --scope names it -----------------
class Connections:
    """Records every outgoing socket connection attempt of this process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[tuple[Any, ...]] = []
        original = socket.socket.connect
        original_ex = socket.socket.connect_ex

        def connect(sock: socket.socket, address: Any) -> Any:
            if isinstance(address, tuple):  # AF_UNIX paths (worker pools) are local
                self.seen.append(address[:2])
            return original(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            if isinstance(address, tuple):
                self.seen.append(address[:2])
            return original_ex(sock, address)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


def test_https_target_on_443_sends_nothing_to_port_80_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The target (https://127.0.0.1/, port 443) answers through a mock transport; sockets
    # are watched, so the cleartext probe of old (a raw connection to port 80) would show.
    seen_urls: list[str] = []

    class Page(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield PAGE

    def answer(request: httpx.Request) -> httpx.Response:
        seen_urls.append(str(request.url))
        return httpx.Response(200, headers={"Content-Type": "text/html"}, stream=Page())

    conns = Connections(monkeypatch)
    only = ["tls.no-https-redirect"]
    scan_sync("https://127.0.0.1/", only=only, transport=httpx.MockTransport(answer))
    assert not any(port == 80 for _, port in conns.seen), conns.seen
    assert not any(":80" in u or u.startswith("http://") for u in seen_urls), seen_urls

    seen_urls.clear()
    scan_sync("https://127.0.0.1/", only=only, transport=httpx.MockTransport(answer),
              scope=["http://127.0.0.1:80"])  # fmt: skip
    assert "http://127.0.0.1/" in seen_urls  # named: asked of the engine, like any probe
    assert not any(port == 80 for _, port in conns.seen)  # and never a socket of its own


def test_https_scan_connects_only_to_the_target_unless_scope_names_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, servers: list[LoopbackServer]
) -> None:
    pytest.importorskip("cryptography")
    import apps_api2

    twin = RawServer(lambda line: http_response(200, b"plain", {"Content-Type": "text/plain"}))
    servers.append(twin)
    cert, key, _ = apps_api2.make_cert(tmp_path, "self")
    with apps_api2.serve_https(apps_api2.https_app(weak=False), cert, key) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        conns = Connections(monkeypatch)
        scan_sync(url, insecure=True, max_requests=150)  # every check, default options
        assert {p for _, p in conns.seen} == {port}, conns.seen
        assert twin.lines == []
        report = scan_sync(url, insecure=True, only=["tls.no-https-redirect"],
                           scope=[f"http://127.0.0.1:{twin.port}"])  # fmt: skip
    assert [line.split(b" ")[0] for line in twin.lines] == [b"GET"]
    [hit] = [f for f in report.findings if f.check_id == "tls.no-https-redirect"]
    assert f"127.0.0.1:{twin.port}" in hit.evidence


def test_scope_origins_extend_the_target_scope() -> None:
    t = Target.parse("https://api.example.com/v1/").with_origins(["http://api.example.com:80/"])
    assert t.in_scope("https://api.example.com/x") and t.in_scope("http://api.example.com/x")
    assert not t.in_scope("http://api.example.com:8080/") and not t.in_scope("http://other/")
    assert not Target.parse("https://api.example.com/").in_scope("http://api.example.com/")
    assert parse_origin("HTTP://Example.com") == ("http", "example.com", 80)
    for bad in ("ftp://x", "http://x/path", "http://u:pw@x", "x", "http://x?q=1"):
        with pytest.raises(UsageError) as info:
            parse_origin(bad)
        assert "pw" not in str(info.value)  # userinfo is never echoed


def test_scope_option_is_validated_and_documented() -> None:
    proc, _ = cli("scan", "http://127.0.0.1:1/", "--scope", "http://127.0.0.1:80/admin",
                  "--no-store")  # fmt: skip
    assert proc.returncode == 2 and "invalid origin" in one_line_error(proc)
    helptext, _ = cli("scan", "--help")
    assert "--scope" in helptext.stdout and "cleartext" in helptext.stdout


# -- checks open nothing themselves ------------------------------------------------------
FORBIDDEN_MODULES = {
    "socket", "ssl", "httpx", "httpcore", "h11", "h2", "http.client", "http.server",
    "socketserver", "urllib.request", "urllib3", "requests", "aiohttp", "websockets",
    "asyncssh", "selectors", "select", "ftplib", "smtplib", "telnetlib", "xmlrpc.client",
    "apigrade.engine.transports",
}  # fmt: skip
FORBIDDEN_CALLS = {
    "open_connection", "start_server", "create_connection", "create_server",
    "sock_connect", "open_unix_connection", "start_unix_server", "create_datagram_endpoint",
    "getaddrinfo", "urlopen", "wrap_socket",
}  # fmt: skip
#: the engine's own openers: a check asks the engine (ctx.receiver, ctx.tls_handshake)
ENGINE_OPENERS = {"Receiver", "handshake", "build_context", "AsyncClient", "Client"}


def io_offences(source: str) -> list[str]:
    """Imports of networking modules and calls that open connections, in one module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES):
                found.append(f"imports {name}")
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_CALLS:
            found.append(f"uses .{node.attr}")
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_CALLS:
            found.append(f"uses {node.id}")
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ENGINE_OPENERS:
                found.append(f"calls {called}()")
    return found


def test_the_offence_finder_finds_offences() -> None:
    assert io_offences("import socket") == ["imports socket"]
    assert io_offences("from http.server import HTTPServer")
    assert io_offences("import asyncio\nasync def f():\n    await asyncio.open_connection('h', 1)")
    assert io_offences("from apigrade.engine.receiver import Receiver\nr = Receiver()")
    assert io_offences("from apigrade.engine import handshake as h\nh.handshake('h', 1, c, 1)")
    assert io_offences("from apigrade.engine.http import Probe") == []


def test_no_check_opens_a_connection_or_socket_itself() -> None:
    offences = {
        str(path.relative_to(SRC)): found
        for path in sorted((SRC / "checks").rglob("*.py"))
        if (found := io_offences(path.read_text(encoding="utf-8")))
    }
    assert offences == {}, offences
