"""The tables, as SQLAlchemy ORM models. Change them only together with a migration."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from apigrade.store.coltypes import TolerantDateTime

#: Row status. A ``running`` row whose process is gone reads as ``incomplete``.
RUNNING, COMPLETE, INCOMPLETE = "running", "complete", "incomplete"
#: Row kind: a full scan or the re-check of an earlier one.
SCAN, VERIFY = "scan", "verify"


class Base(DeclarativeBase):
    pass


class ScanRow(Base):
    """One scan: inserted ``running`` before it starts, finished or marked incomplete."""

    __tablename__ = "scans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    target: Mapped[str] = mapped_column(Text)  # as reported (credentials redacted)
    target_key: Mapped[str] = mapped_column(String(512))  # origin + path, for filtering
    status: Mapped[str] = mapped_column(String(16))
    # UTC, naive; an unreadable stored value reads as None (store/coltypes.py)
    created_at: Mapped[datetime] = mapped_column(TolerantDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(TolerantDateTime, nullable=True)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)  # complete scans only
    grade: Mapped[str | None] = mapped_column(String(1), nullable=True)
    findings_count: Mapped[int] = mapped_column(Integer, default=0)
    requests_sent: Mapped[int] = mapped_column(Integer, default=0)
    tool_version: Mapped[str] = mapped_column(String(32))
    options: Mapped[str] = mapped_column(Text, default="{}")  # JSON, no secret values
    report: Mapped[str | None] = mapped_column(Text, nullable=True)  # the JSON report
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # revision 0002
    kind: Mapped[str] = mapped_column(String(16), default=SCAN, server_default=SCAN)
    baseline_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)

    __table_args__ = (
        Index("ix_scans_target_key_created", "target_key", "created_at"),
        Index("ix_scans_created", "created_at"),
    )


class FindingRow(Base):
    """A finding of a stored scan, for queries across scans (the report holds the rest)."""

    __tablename__ = "findings"

    scan_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True
    )
    finding_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    check_id: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_findings_finding_id", "finding_id"),)
