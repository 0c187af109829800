"""Concurrent writers lose nothing; interrupted scans are marked incomplete, never complete."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from apigrade.engine.scanner import ScanOptions, run_scan
from apigrade.store import open_store
from apigrade.store.recording import recording

from .conftest import cli, fixed_demo_app, serving
from .test_store_repository import finding, report


def slow_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers everything, slowly: a scan of it takes many seconds."""
    time.sleep(0.15)
    start_response("200 OK", [("Content-Type", "text/html"), ("Set-Cookie", "s=1; Path=/")])
    return [b"<html><title>slow</title><a href='/a?x=1'>a</a> <a href='/b'>b</a></html>"]


def plain_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A small site without cookies (so no offline key cracking slows the scans down)."""
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<html><title>plain</title><a href='/a?x=1'>a</a></html>"]


def test_two_scans_in_parallel_into_one_sqlite_file(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'shared.sqlite3'}"  # new: both processes also migrate it
    with serving(plain_app) as url:
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "apigrade",
                    "scan",
                    url,
                    "--db",
                    db,
                    "-f",
                    "json",
                    "-o",
                    str(tmp_path / f"r{i}.json"),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for i in range(2)
        ]
        outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    ids = {json.loads((tmp_path / f"r{i}.json").read_text())["scan_id"] for i in range(2)}
    with open_store(db) as store:
        rows = store.history(url)
        assert {r.scan_id for r in rows} == ids and len(ids) == 2
        assert all(r.status == "complete" and r.grade is not None for r in rows)
        with store.engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM findings")).scalar()
    assert stored == sum(r.findings for r in rows)


def test_many_concurrent_writers_lose_no_rows(db_url: str) -> None:
    with open_store(db_url):
        pass  # migrated once; each thread opens its own engine below
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with open_store(db_url) as store:
                for _ in range(15):
                    sid = store.begin("http://127.0.0.1:5000/")
                    store.finish(sid, report([finding()], score=50))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with open_store(db_url) as store:
        rows = store.history(limit=1000)
    assert len(rows) == 90 and all(r.status == "complete" for r in rows)


def test_keyboard_interrupt_marks_the_row_incomplete_with_partial_findings(sqlite_url: str) -> None:
    def interrupt(label: str, done: int, total: int, requests: int) -> None:
        raise KeyboardInterrupt  # Ctrl-C right after discovery

    opts = ScanOptions()
    with serving(fixed_demo_app()) as url, open_store(sqlite_url) as store:
        with pytest.raises(KeyboardInterrupt), recording(url, opts, store=store) as rec:
            asyncio.run(run_scan(url, opts, progress=interrupt, on_start=rec.on_start))
        row = store.get(rec.scan_id or "")
        assert (row.status, row.error, row.grade) == ("incomplete", "interrupted", None)
        partial = store.report(row.scan_id)
        assert partial.complete is False and partial.requests_sent > 0
        assert store.latest() is None  # never offered as a baseline


def _wait_for_running_row(db: str, proc: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        if Path(db.removeprefix("sqlite:///")).exists():
            with open_store(db) as store:
                rows = store.history()
            if rows and rows[-1].requests_sent == 0 and rows[-1].status == "running":
                return rows[-1].scan_id
        time.sleep(0.1)
    raise AssertionError(
        f"no running row: {proc.poll()} {proc.stderr.read() if proc.stderr else ''}"
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_or_killed_scan_process_leaves_an_incomplete_row(
    tmp_path: Path, sig: signal.Signals
) -> None:
    db = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    with serving(slow_app) as url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "apigrade", "scan", url, "--db", db, "--concurrency", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
        sid = _wait_for_running_row(db, proc)
        time.sleep(0.4)  # mid-scan
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=30)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "Traceback" not in err
    with open_store(db) as store:
        row = store.get(sid)
        assert row.status == "incomplete" and row.grade is None
        if sig == signal.SIGINT:
            assert row.error == "interrupted" and store.report(sid).complete is False
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    shown = cli("history", "--db", db, "-f", "json")
    assert json.loads(shown.stdout)[0]["status"] == "incomplete"


def test_a_database_another_process_is_setting_up_is_opened_after_a_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers opening one new SQLite file at once: the loser's "database is locked"
    (the switch to WAL does not wait on the busy timeout) is retried, not an exit."""
    from sqlalchemy.exc import OperationalError

    from apigrade.store import StoreError, migrate
    from apigrade.store import repository as repo

    real = migrate.upgrade
    calls: list[int] = []

    def busy_twice(engine: Any) -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError("PRAGMA journal_mode = WAL", {}, Exception("database is locked"))
        real(engine)

    monkeypatch.setattr(migrate, "upgrade", busy_twice)
    store = open_store(str(tmp_path / "h.sqlite3"))
    store.close()
    assert len(calls) == 3
    # any other failure, or a lock that outlasts the wait, is still one StoreError
    monkeypatch.setattr(repo, "LOCKED_RETRY_S", 0.0)
    calls.clear()
    with pytest.raises(StoreError, match="database is locked"):
        open_store(str(tmp_path / "h2.sqlite3"))
    assert len(calls) == 1
