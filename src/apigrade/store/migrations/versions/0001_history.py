"""Scan history: scans and their findings.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scans",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("target_key", sa.String(512), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(1), nullable=True),
        sa.Column("findings_count", sa.Integer(), nullable=False),
        sa.Column("requests_sent", sa.Integer(), nullable=False),
        sa.Column("tool_version", sa.String(32), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_scans_target_key_created", "scans", ["target_key", "created_at"])
    op.create_index("ix_scans_created", "scans", ["created_at"])
    op.create_table(
        "findings",
        sa.Column(
            "scan_id",
            sa.String(32),
            sa.ForeignKey("scans.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("finding_id", sa.String(64), primary_key=True),
        sa.Column("check_id", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
    )
    op.create_index("ix_findings_finding_id", "findings", ["finding_id"])


def downgrade() -> None:
    op.drop_table("findings")
    op.drop_table("scans")
