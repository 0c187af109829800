"""Shared fixtures: serve a real app on 127.0.0.1, scan in-process and over a socket."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apigrade.demo.server import serve_wsgi
from apigrade.model import ScanReport
from helpers_scan import by_check, scan_app, scan_url  # noqa: F401 - re-exported for the tests
from rawhttp import RawServer, Responder


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """``url = serve(app)``: the app on a free loopback port, stopped after the test."""
    with contextlib.ExitStack() as stack:

        def _serve(app: Any, **kw: Any) -> str:
            return stack.enter_context(serve_wsgi(app, **kw))

        yield _serve





@pytest.fixture
def scan_both(serve: Callable[..., str]) -> Callable[..., tuple[ScanReport, ScanReport]]:
    """``inproc, sock = scan_both(app, only=[...])``: the same app both ways."""

    def _both(app: Any, **options: Any) -> tuple[ScanReport, ScanReport]:
        url = serve(app)
        return scan_app(app, **options), scan_url(url, **options)

    return _both


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    """``srv = raw_server(responder)``: a raw HTTP server that records request lines."""
    servers: list[RawServer] = []

    def _make(responder: Responder | None = None, host: str = "127.0.0.1") -> RawServer:
        s = RawServer(responder=responder, host=host) if responder else RawServer(host=host)
        servers.append(s)
        return s

    yield _make
    for s in servers:
        s.close()
