"""In-process transports: scan a WSGI or ASGI app with no socket.

Both honour the raw ``target`` request extension, so a probe such as
``/static/../config.py`` reaches the app as a server would pass it on.
"""

from __future__ import annotations

import asyncio
import inspect
import io
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

import httpx

#: Most body bytes an in-process app may hand back before the rest is dropped.
APP_BODY_CAP = 8 * 1024 * 1024


def _target(request: httpx.Request) -> bytes:
    target = request.extensions.get("target")
    if isinstance(target, bytes | bytearray):
        return bytes(target)
    return request.url.raw_path


def is_asgi(app: Any) -> bool:
    """True for an ASGI application (an ``async`` callable), False for WSGI."""
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(app)


class _Body(httpx.AsyncByteStream):
    """A finished body handed back as a stream, so the engine reads it like a socket's."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._data:
            yield self._data


class WSGIAppTransport(httpx.AsyncBaseTransport):
    """Run a WSGI app (Flask) in a worker thread, with an environ like Werkzeug's server's."""

    def __init__(self, app: Callable[..., Iterable[bytes]], remote_addr: str = "127.0.0.1"):
        self.app = app
        self.remote_addr = remote_addr

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        status, headers, content = await asyncio.to_thread(self._call, request, body)
        return httpx.Response(status, headers=headers, stream=_Body(content))

    def _environ(self, request: httpx.Request, body: bytes) -> dict[str, Any]:
        target = _target(request)
        path, _, query = target.partition(b"?")
        url = request.url
        env: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query.decode("latin-1"),
            "REQUEST_URI": target.decode("latin-1"),
            "RAW_URI": target.decode("latin-1"),
            "SERVER_NAME": url.host,
            "SERVER_PORT": str(url.port or (443 if url.scheme == "https" else 80)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": self.remote_addr,
            "REMOTE_PORT": 50000,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),  # not our stderr: debuggers log tracebacks there
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in request.headers.multi_items():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                env[key] = value
                continue
            key = "HTTP_" + key
            env[key] = env[key] + "," + value if key in env else value
        return env

    def _call(
        self, request: httpx.Request, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = headers
            return lambda data: None

        result = self.app(self._environ(request, body), start_response)
        out = bytearray()
        try:
            for chunk in result:
                out += chunk
                if len(out) > APP_BODY_CAP:
                    break
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers = [
            (k.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
            for k, v in captured.get("headers", [])
            if k.lower() != "content-length"
        ]
        return captured.get("status", 500), headers, bytes(out[:APP_BODY_CAP])


class ASGIAppTransport(httpx.AsyncBaseTransport):
    """Call an ASGI app (FastAPI, Starlette) directly in the event loop."""

    def __init__(self, app: Callable[..., Any], client: tuple[str, int] = ("127.0.0.1", 50000)):
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        target = _target(request)
        path, _, query = target.partition(b"?")
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": unquote_to_bytes(path).decode("utf-8", "replace"),
            "raw_path": path,
            "query_string": query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "client": self.client,
        }
        sent_body = False
        started = False
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        out = bytearray()
        done = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                if len(out) <= APP_BODY_CAP:
                    out.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        try:
            await self.app(scope, receive, send)
        except Exception:  # noqa: BLE001 - as uvicorn: the error is the server's, not the client's
            # Starlette re-raises after sending its 500 page; with nothing sent yet, a
            # server answers a bare 500 itself.
            if not started:
                status, headers = 500, [(b"content-type", b"text/plain; charset=utf-8")]
                out[:] = b"Internal Server Error"
        finally:
            done.set()
        hdrs = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        return httpx.Response(status, headers=hdrs, stream=_Body(bytes(out[:APP_BODY_CAP])))


def transport_for(app: Any) -> httpx.AsyncBaseTransport:
    """The in-process transport that fits an app object."""
    return ASGIAppTransport(app) if is_asgi(app) else WSGIAppTransport(app)
