"""The history commands as a user runs them: outputs, one-line errors, no stored secrets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from apigrade.cli import main
from apigrade.engine.scanner import ScanOptions, run_scan
from apigrade.model import ScanReport
from apigrade.store import open_store
from apigrade.store.recording import recording
from apigrade.store.sanitize import redact_report, stored_options

from .conftest import cli, serving
from .test_store_repository import finding, report

TOKEN = "T0PSECRET-abcdef123456"
COOKIE = "C00KIESECRET-987654321"


def echo_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Reflects the credentials it gets, the way a careless debug page would."""
    body = (f"<html><title>echo</title>auth={environ.get('HTTP_AUTHORIZATION')} "
            f"cookie={environ.get('HTTP_COOKIE')}</html>")  # fmt: skip
    start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "text/html")])
    return [body.encode()]


def _one_line_error(proc: Any, code: int = 2) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_credentials_are_never_stored_in_clear(db_url: str) -> None:
    opts = ScanOptions(headers=[("Authorization", f"Bearer {TOKEN}")], cookie=f"sid={COOKIE}",
                       max_requests=40)  # fmt: skip
    with serving(echo_app) as url, open_store(db_url) as store:
        with recording(url, opts, store=store) as rec:
            rec.finish(asyncio.run(run_scan(url, opts, on_start=rec.on_start)))
        with store.engine.connect() as conn:
            rows = [conn.execute(text(f"SELECT * FROM {t}")).all() for t in ("scans", "findings")]
    dump = repr(rows)
    assert TOKEN not in dump and COOKIE not in dump
    assert "Authorization" in dump  # the header's name is kept, to remind verify users


def test_second_redaction_pass_catches_what_a_check_leaked() -> None:
    opts = ScanOptions(headers=[("Authorization", f"Bearer {TOKEN}")], cookie=f"sid={COOKIE}")
    leaky = report([finding(evidence=f"saw {TOKEN} and {COOKIE}", title=f"t {TOKEN}")])
    clean = redact_report(leaky, opts)
    assert TOKEN not in clean.model_dump_json() and COOKIE not in clean.model_dump_json()
    assert TOKEN not in json.dumps(stored_options(opts)) and COOKIE not in json.dumps(
        stored_options(opts)
    )


def test_sqlite_file_holds_no_secret_after_a_cli_scan(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    with serving(echo_app) as url:
        proc = cli("scan", url, "--db", str(db), "-H", f"Authorization: Bearer {TOKEN}",
                   "-b", f"sid={COOKIE}", "--max-requests", "40", "-f", "json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["scan_id"]
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("h.sqlite3"))
    assert TOKEN.encode() not in raw and COOKIE.encode() not in raw
    assert b"sqlite" in raw.lower() or raw  # the file exists and was written


def test_baseline_last_then_show_and_no_store(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    with serving(echo_app) as url:
        first = cli("scan", url, "--db", db, "--baseline", "last", "--max-requests", "30")
        assert first.returncode == 0, first.stderr
        assert "nothing to compare with" in first.stderr and "Grade" in first.stdout
        second = cli("scan", url, "--db", db, "--baseline", "last", "-f", "json",
                     "--max-requests", "30")  # fmt: skip
        assert second.returncode == 0, second.stderr
    cmp = json.loads(second.stdout)
    keys = {"baseline", "current", "fixed", "new", "still_open", "score_delta", "requests_sent"}
    assert set(cmp) == keys
    assert cmp["baseline"]["scan_id"] != cmp["current"]["scan_id"]
    shown = cli("show", cmp["current"]["scan_id"], "--db", db, "-f", "json")
    assert shown.returncode == 0, shown.stderr
    assert ScanReport.model_validate_json(shown.stdout).scan_id == cmp["current"]["scan_id"]


def test_no_store_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "never.sqlite3"
    with serving(echo_app) as url:
        assert main(["scan", url, "--db", str(db), "--no-store", "--max-requests", "10",
                     "-f", "json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["scan_id"] is None
    assert not db.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["show", "ffffffffffff"],
        ["show", "not-an-id"],
        ["diff", "aaaa", "bbbb", "-f", "html"],
        ["history", "-f", "xml"],
        ["verify"],  # empty history
        ["show", "abcd", "--db", "ftp://x/y"],
        ["history", "--db", "postgresql://u:pw@127.0.0.1:9/x"],
    ],
)
def test_errors_are_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'h.sqlite3'}"] if "--db" not in args else []
    code = main([*args, *db])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "pw@" not in err


def test_named_database_that_cannot_open_fails_before_scanning(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    proc = cli("scan", "http://127.0.0.1:9/", "--db", f"sqlite:///{tmp_path}/f/sub/h.sqlite3")
    _one_line_error(proc)
    assert "history database" in proc.stderr


def test_env_var_selects_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "env.sqlite3"
    with open_store(str(db)) as store:
        store.save(report([finding()], score=40))
    monkeypatch.setenv("APIGRADE_DB", f"sqlite:///{db}")
    assert main(["history", "-f", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_unreachable_target_is_recorded_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    assert main(["scan", "http://127.0.0.1:9/", "--db", db, "--timeout", "2"]) == 3
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    with open_store(db) as store:
        rows = store.history()
    assert [(r.status, r.grade) for r in rows] == [("incomplete", None)]
    assert "cannot connect" in (rows[0].error or "")
