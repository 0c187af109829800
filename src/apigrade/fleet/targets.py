"""The targets file (one URL a line) and its optional TOML config (headers, cookies)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from apigrade.engine.target import Target
from apigrade.errors import UsageError
from apigrade.localfiles import TARGETS_LIMIT, read_text_limited
from apigrade.options import parse_cookie, parse_header

#: Keys allowed in a ``[[target]]`` table and in ``[defaults]``.
_KEYS = {"url", "headers", "cookie"}


@dataclass(frozen=True)
class FleetTarget:
    """One target of a fleet: its URL and the credentials to scan it with."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()
    cookie: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (the Celery task payload)."""
        return {"url": self.url, "headers": [list(h) for h in self.headers], "cookie": self.cookie}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FleetTarget:
        headers = tuple((str(n), str(v)) for n, v in data.get("headers") or [])
        return cls(url=str(data["url"]), headers=headers, cookie=data.get("cookie"))


@dataclass
class _Entry:
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookie: str | None = None


def normalise(url: str) -> str:
    """The canonical spelling used to match config entries and to name targets:
    lower-case host, no default port, ``/`` for an empty path."""
    tgt = Target.parse(url)
    parts = urlsplit(tgt.url)
    return tgt.origin + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def read_urls(path: Path) -> list[str]:
    """URLs of a targets file: one a line; blank lines and ``#`` comments ignored."""
    text = read_text_limited(path, TARGETS_LIMIT, "targets file")  # UsageError, one line
    urls: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = re.split(r"\s#", line, maxsplit=1)[0].strip()  # "url  # note"
        if not line or line.startswith("#"):
            continue
        if " " in line or "\t" in line:
            raise UsageError(f"{path.name}:{number}: one URL per line, got {line[:80]!r}")
        try:
            urls.append(normalise(line))
        except UsageError as exc:
            raise UsageError(f"{path.name}:{number}: {exc}") from None
    return urls


def _entry(table: dict[str, Any], where: str) -> _Entry:
    unknown = set(table) - _KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key {sorted(unknown)[0]!r} (allowed: headers, cookie, url)")
    headers = table.get("headers", [])
    if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
        raise UsageError(f"{where}: headers must be a list of 'Name: value' strings")
    cookie = table.get("cookie")
    if cookie is not None and not isinstance(cookie, str):
        raise UsageError(f"{where}: cookie must be a string")
    return _Entry([parse_header(h) for h in headers], parse_cookie(cookie))


def read_config(path: Path) -> tuple[_Entry, dict[str, _Entry]]:
    """``[defaults]`` and the ``[[target]]`` entries by normalised URL."""
    try:
        data = tomllib.loads(read_text_limited(path, TARGETS_LIMIT, "targets config"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"bad TOML in {path.name}: {exc}") from None
    unknown = set(data) - {"defaults", "target"}
    if unknown:
        raise UsageError(f"{path.name}: unknown table {sorted(unknown)[0]!r} (allowed: defaults, target)")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or "url" in defaults:
        raise UsageError(f"{path.name}: [defaults] takes headers and cookie only")
    entries: dict[str, _Entry] = {}
    tables = data.get("target", [])
    if not isinstance(tables, list):
        raise UsageError(f"{path.name}: use [[target]] (an array of tables)")
    for i, table in enumerate(tables, 1):
        where = f"{path.name}: [[target]] #{i}"
        if not isinstance(table.get("url"), str):
            raise UsageError(f"{where}: needs url = \"…\"")
        try:
            url = normalise(table["url"])
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None
        if url in entries:
            raise UsageError(f"{where}: {url} is configured twice")
        entries[url] = _entry(table, where)
    return _entry(defaults, f"{path.name}: [defaults]"), entries


def load_targets(targets_file: Path, config_file: Path | None = None) -> list[FleetTarget]:
    """The fleet, in file order, with per-target headers and cookies applied.

    A target's headers are the defaults' followed by its own; its cookie replaces the
    default cookie. A config entry for a URL missing from the targets file is an error
    (most likely a typo that would otherwise scan without credentials).
    """
    urls = read_urls(targets_file)
    if not urls:
        raise UsageError(f"no targets in {str(targets_file)!r}")
    defaults, entries = read_config(config_file) if config_file else (_Entry(), {})
    missing = sorted(set(entries) - set(urls))
    if missing:
        raise UsageError(f"targets config names {missing[0]} which is not in the targets file")
    seen: set[str] = set()
    fleet: list[FleetTarget] = []
    for url in urls:
        if url in seen:
            continue  # a duplicate line would scan the same target twice
        seen.add(url)
        own = entries.get(url, _Entry())
        headers = tuple(defaults.headers + own.headers)
        fleet.append(FleetTarget(url, headers, own.cookie or defaults.cookie))
    return fleet
