"""Opening the database: SQLite tuned for concurrent writers, PostgreSQL via psycopg 3."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from apigrade.errors import ApigradeError
from apigrade.extras import require

#: How long a writer waits for another process's transaction (SQLite busy timeout).
BUSY_TIMEOUT_S = 30.0


class StoreError(ApigradeError):
    """The history database cannot be opened, migrated or written: exit 2."""

    exit_code = 2


def _sqlite_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # Take transaction control from the driver so that "begin" below is the only BEGIN.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
    cur.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: no corruption on a crash
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front: two writers queue on the busy timeout
    # instead of failing when a read transaction tries to become a write one.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: URL) -> Engine:
    """A SQLAlchemy engine; for SQLite the file's directory is created."""
    try:
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        require("postgres", "a PostgreSQL history database (--db postgresql://…)")
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"cannot open the history database: {reason(exc)}") from None


def reason(exc: BaseException) -> str:
    """A short reason without SQL or bound parameters."""
    orig = getattr(exc, "orig", None) if isinstance(exc, SQLAlchemyError) else None
    if orig is not None:
        return (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
