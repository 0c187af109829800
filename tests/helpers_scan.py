"""Scan helpers for tests in subfolders (conftest.py is not importable from there)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from apigrade.engine.scanner import scan_sync
from apigrade.model import Finding, ScanReport


def scan_app(app: Any, **options: Any) -> ScanReport:
    """Scan an app object in-process (no socket)."""
    return scan_sync(app, **options)


def scan_url(url: str, **options: Any) -> ScanReport:
    """Scan a URL over a real socket."""
    return scan_sync(url, **options)


def by_check(report: ScanReport, check_id: str) -> list[Finding]:
    """The findings of one check."""
    return [f for f in report.findings if f.check_id == check_id]


def mine(report: ScanReport, ids: Iterable[str]) -> list[Finding]:
    """The findings of several checks."""
    wanted = set(ids)
    return [f for f in report.findings if f.check_id in wanted]


def sqlite_dump(db: Path) -> str:
    """Every column of every row of every table of a SQLite file, and the raw bytes of its
    files (WAL included): what a secrets test searches."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [repr(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables]
    finally:
        conn.close()
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))
    return "\n".join(rows) + raw.decode("latin-1")
