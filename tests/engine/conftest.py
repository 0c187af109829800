from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rawhttp import RawServer, Responder  # noqa: E402


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def _make(responder: Responder | None = None, host: str = "127.0.0.1") -> RawServer:
        s = RawServer(responder=responder, host=host) if responder else RawServer(host=host)
        servers.append(s)
        return s

    yield _make
    for s in servers:
        s.close()
