"""Alembic environment: apigrade passes an open connection (see store/migrate.py)."""

from __future__ import annotations

from alembic import context

from apigrade.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("apigrade's migrations run through apigrade.store.migrate, not the CLI")

# render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
