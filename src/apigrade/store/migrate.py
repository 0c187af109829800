"""Bring a database to the newest schema with Alembic, run from code on every open."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from apigrade.store.database import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

#: The newest revision in migrations/versions (a test keeps the two in step).
HEAD = "0002"
MIGRATIONS = Path(__file__).parent / "migrations"
#: PostgreSQL advisory lock key: one migrating process at a time.
_PG_LOCK = 0x61706967  # "apig"


def current_revision(conn: Connection) -> str | None:
    """The revision stamped in ``alembic_version``, None for an empty database."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _config(conn: Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to ``revision`` (the newest by default) in one transaction.

    The transaction holds SQLite's write lock (BEGIN IMMEDIATE) or a PostgreSQL
    advisory lock, so concurrent first runs migrate once and the others wait.
    """
    with engine.connect() as probe:
        if revision == "head" and current_revision(probe) == HEAD:
            return  # the common case, without importing Alembic
    from alembic import command
    from alembic.util.exc import CommandError

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        found = current_revision(conn)
        if found is not None and found not in known_revisions():
            raise StoreError(
                f"the history database has schema revision {found!r}, newer than this "
                "apigrade knows: upgrade apigrade or use another --db"
            )
        try:
            command.upgrade(_config(conn), revision)
        except CommandError as exc:
            raise StoreError(f"cannot migrate the history database: {exc}") from None


def known_revisions() -> set[str]:
    """Every revision id shipped in migrations/versions."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return {rev.revision for rev in script.walk_revisions()}


def script_head() -> str | None:
    """The head revision according to the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()
