"""Soft-404 baselines: what a target answers for paths that cannot exist."""

from __future__ import annotations

import asyncio
import difflib
import posixpath
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from apigrade.engine.http import Exchange, Probe

Sender = Callable[[Probe], Awaitable[Exchange | None]]


def _shape(exchange: Exchange, token: str | None = None) -> str:
    text = exchange.text[:20000]
    if token:
        text = text.replace(token, "")
    return text


def similar(a: str, b: str) -> float:
    """0..1 similarity of two bodies, fast enough for 20 KB texts."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < 0.8 or matcher.quick_ratio() < 0.8:
        return matcher.quick_ratio()
    return matcher.ratio()


class SoftNotFound:
    """Per directory and extension, one random-path probe that shows the 'not found' answer."""

    def __init__(self, origin: str, send: Sender) -> None:
        self.origin = origin
        self._send = send
        self._cache: dict[tuple[str, str], asyncio.Task[tuple[Exchange | None, str]]] = {}

    @staticmethod
    def _key(path: str) -> tuple[str, str]:
        directory, name = posixpath.split(path)
        _, ext = posixpath.splitext(name)
        if name.startswith(".") and not ext:
            ext = name  # ".env" style names
        return directory or "/", ext.lower()[:16]

    async def _probe(self, directory: str, ext: str) -> tuple[Exchange | None, str]:
        token = "apigrade" + secrets.token_hex(6)
        path = posixpath.join(directory, token + ext)
        if not path.startswith("/"):
            path = "/" + path
        return await self._send(Probe(url=self.origin + path)), token

    async def reference(self, path: str) -> tuple[Exchange | None, str]:
        key = self._key(path)
        task = self._cache.get(key)
        if task is None:
            task = asyncio.ensure_future(self._probe(*key))
            self._cache[key] = task
        return await task

    async def is_soft404(self, exchange: Exchange) -> bool:
        """True when ``exchange`` is indistinguishable from the not-found answer."""
        if exchange.status in (404, 410):
            return True
        path = urlsplit(exchange.probe.display_url).path or "/"
        ref, token = await self.reference(path)
        if ref is None:
            return False
        if ref.status != exchange.status:
            return False
        if ref.redirects != () and ref.url == exchange.url:
            return True
        return similar(_shape(ref, token), _shape(exchange)) >= 0.9
