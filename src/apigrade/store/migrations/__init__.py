"""Alembic migrations of the history database, run programmatically on open."""
