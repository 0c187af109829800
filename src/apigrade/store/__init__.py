"""Scan history: every scan stored in SQLite (default) or PostgreSQL, compared and verified.

See docs/history.md. The public entry points:

* :func:`open_store` - open (and migrate) the database named by ``--db`` / ``APIGRADE_DB``;
* :class:`Store` - insert, finish and read scans;
* :func:`compare` - fixed / new / still open findings between two reports.
"""

from __future__ import annotations

from apigrade.store.compare import Comparison, ScanRef, compare
from apigrade.store.database import StoreError
from apigrade.store.location import DB_ENV, default_db_url, resolve_db_url
from apigrade.store.repository import ScanRecord, Store, open_store

__all__ = [
    "DB_ENV",
    "Comparison",
    "ScanRecord",
    "ScanRef",
    "Store",
    "StoreError",
    "compare",
    "default_db_url",
    "open_store",
    "resolve_db_url",
]
