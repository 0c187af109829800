"""Verify runs and liveness: scan kind, the scan a verify re-checked, owner process.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no foreign key): SQLite alters in place, no table copy.
    op.add_column("scans", sa.Column("kind", sa.String(16), nullable=False, server_default="scan"))
    op.add_column("scans", sa.Column("baseline_id", sa.String(32), nullable=True))
    op.add_column("scans", sa.Column("pid", sa.Integer(), nullable=True))
    op.add_column("scans", sa.Column("host", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scans") as batch:
        for name in ("host", "pid", "baseline_id", "kind"):
            batch.drop_column(name)
