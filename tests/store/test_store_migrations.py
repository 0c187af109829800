"""Schema migrations: a database from an older apigrade migrates forward on open."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from apigrade.store import StoreError, open_store
from apigrade.store.database import create_db_engine
from apigrade.store.location import resolve_db_url
from apigrade.store.migrate import HEAD, current_revision, script_head, upgrade

from .test_store_repository import finding, report


def _engine(url: str) -> Any:
    return create_db_engine(resolve_db_url(url)[0])


def test_head_constant_matches_the_scripts() -> None:
    assert script_head() == HEAD


def test_database_from_the_first_revision_migrates_forward(db_url: str) -> None:
    engine = _engine(db_url)
    upgrade(engine, "0001")  # what the first release created
    old_report = report([finding()], score=50).model_copy(update={"scan_id": "0123456789ab"})
    with engine.begin() as conn:
        assert current_revision(conn) == "0001"
        conn.execute(
            text(
                "INSERT INTO scans (id, target, target_key, status, created_at, finished_at, "
                "score, grade, findings_count, requests_sent, tool_version, options, report) "
                "VALUES ('0123456789ab', 'http://127.0.0.1:5000/', 'http://127.0.0.1:5000', "
                "'complete', :t, :t, 50, 'F', 1, 10, '0.0.9', '{}', :r)"
            ),
            {"t": datetime(2026, 1, 1), "r": old_report.model_dump_json()},
        )
    engine.dispose()

    with open_store(db_url) as store:  # current code: migrates to head on open
        with store.engine.connect() as conn:
            assert current_revision(conn) == HEAD
        old = store.get("0123456789ab")
        assert (old.kind, old.status, old.score, old.baseline_id) == ("scan", "complete", 50, None)
        assert store.report(old.scan_id).findings[0].check_id == "flask.werkzeug-debugger"
        new = store.save(report([], score=95), kind="verify", baseline_id=old.scan_id)
        assert store.get(new.scan_id or "").baseline_id == old.scan_id
        assert [r.scan_id for r in store.history()] == [old.scan_id, new.scan_id]


def test_opening_twice_is_a_no_op(db_url: str) -> None:
    with open_store(db_url) as store:
        sid = store.save(report([])).scan_id
    with open_store(db_url) as store:
        assert store.get(sid or "").status == "complete"


def test_database_newer_than_the_code_is_refused(db_url: str) -> None:
    engine = _engine(db_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer than this apigrade"):
        open_store(db_url)


def test_unusable_database_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="history database"):
        open_store(f"sqlite:///{blocker}/sub/history.sqlite3")
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        open_store(str(garbage))


def test_unreachable_postgres_is_one_clear_error_without_password() -> None:
    with pytest.raises(StoreError) as info:
        open_store("postgresql://u:hunter2@127.0.0.1:9/db")
    assert "hunter2" not in str(info.value)


def test_options_json_is_plain_json(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        sid = store.begin("http://127.0.0.1:5000/", {"a": 1})
        with store.engine.connect() as conn:
            raw = conn.execute(text("SELECT options FROM scans WHERE id = :i"), {"i": sid}).scalar()
    assert json.loads(str(raw)) == {"a": 1}
