"""Real FastAPI apps, flawed and fixed, and a uvicorn server for the socket half of the tests.

- flawed: ``FastAPI(debug=True)`` with the default ``/docs``, ``/redoc`` and ``/openapi.json``,
  a route that fails on a non-numeric id (``int(item_id)`` on a ``str`` parameter), and
  Starlette's ``SessionMiddleware`` with the key "secret" holding e-mail and role.
- fixed: ``FastAPI(debug=False, docs_url=None, redoc_url=None, openapi_url=None)``, the id
  typed as ``int`` (FastAPI answers 422 itself), a random key and an opaque session id.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware

WEAK_KEY = "secret"


def flawed_app() -> FastAPI:
    """Debug tracebacks, interactive docs, a readable session signed with a guessable key."""
    app = FastAPI(title="Shop API", debug=True)
    app.add_middleware(SessionMiddleware, secret_key=WEAK_KEY)

    @app.get("/")
    def index(request: Request) -> dict[str, str]:
        request.session.update(user_id=7, email="ada@example.com", role="customer")
        return {"shop": "welcome"}

    @app.get("/api/items/{item_id}")
    def item(item_id: str) -> dict[str, Any]:
        number = int(item_id)  # a non-numeric id raises: debug=True shows the traceback
        return {"id": number, "name": f"item {number}"}

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def fixed_app() -> FastAPI:
    """No debug, no docs, typed parameters; the session holds an opaque id, strong key."""
    app = FastAPI(title="Shop API", debug=False, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32))

    @app.get("/")
    def index(request: Request) -> dict[str, str]:
        request.session["sid"] = secrets.token_urlsafe(16)  # data stays server-side
        return {"shop": "welcome"}

    @app.get("/api/items/{item_id}")
    def item(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "name": f"item {item_id}"}

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def prefixed_docs_app() -> FastAPI:
    """Every route under /api/v1, the docs too (a common production layout)."""
    app = FastAPI(title="Shop API", openapi_url="/api/v1/openapi.json",
                  docs_url="/api/v1/docs", redoc_url="/api/v1/redoc")  # fmt: skip

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def quiet_errors_app() -> FastAPI:
    """debug=False but the same buggy route: the 500 is a bare 'Internal Server Error'."""
    app = FastAPI(title="Shop API", debug=False)

    @app.get("/api/items/{item_id}")
    def item(item_id: str) -> dict[str, Any]:
        return {"id": int(item_id)}

    return app


@contextlib.contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, in a thread; stopped on exit."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
