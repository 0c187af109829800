"""Where the history lives: ``--db``, then ``APIGRADE_DB``, then a SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from apigrade.errors import UsageError

DB_ENV = "APIGRADE_DB"
DB_FILE = "history.sqlite3"


def data_dir() -> Path:
    """The user's data directory for apigrade (platformdirs, XDG on Linux)."""
    try:
        from platformdirs import user_data_dir
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "apigrade"
    return Path(user_data_dir("apigrade", appauthor=False))


def default_db_url() -> str:
    """The default database: a SQLite file in the user's data directory."""
    return f"sqlite:///{data_dir() / DB_FILE}"


def resolve_db_url(db: str | None) -> tuple[URL, bool]:
    """The SQLAlchemy URL to open and whether the user chose it (``--db`` or the env var).

    A value without ``://`` is taken as a SQLite file path; ``postgresql://`` and
    ``postgres://`` use the psycopg 3 driver.
    """
    raw = db or os.environ.get(DB_ENV) or ""
    explicit = bool(raw.strip())
    raw = raw.strip() or default_db_url()
    if "://" not in raw:
        raw = f"sqlite:///{Path(raw).expanduser().absolute()}"
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    try:
        url = make_url(raw)
    except ArgumentError:
        raise UsageError("bad --db: expected a SQLAlchemy URL such as sqlite:///path "
                         "or postgresql://user@host/db") from None  # fmt: skip
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise UsageError(f"bad --db: {url.get_backend_name()!r} is not supported "
                         "(use sqlite or postgresql)")  # fmt: skip
    return url, explicit


def shown(url: URL) -> str:
    """The URL for messages, password hidden."""
    return url.render_as_string(hide_password=True)
