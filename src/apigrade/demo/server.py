"""Serve a WSGI app on 127.0.0.1 in a background thread (demo, tests, benchmarks)."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        pass


@contextmanager
def serve_wsgi(
    app: Callable[..., Any],
    host: str = "127.0.0.1",
    port: int = 0,
    handler: type[WSGIRequestHandler] | None = None,
) -> Iterator[str]:
    """Serve ``app`` with Werkzeug's threaded server; yields the base URL, stops on exit."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(host, port, app, threaded=True, request_handler=handler or _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serve_demo() -> Iterator[str]:
    """The misconfigured demo app, debugger included, on a free loopback port."""
    from apigrade.demo.app import create_debug_app

    debug_app = create_debug_app()

    def quiet(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.errors"] = io.StringIO()  # the debugger logs each traceback there
        return debug_app(environ, start_response)

    with serve_wsgi(quiet) as url:
        yield url
