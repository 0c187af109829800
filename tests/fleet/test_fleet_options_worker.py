"""--spec, --wordlist and --identity reach a real Celery worker through Redis, and the
identities' secrets stay out of the stored scan and the worker's log."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify, request, session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_fixtures import *  # noqa: E402,F403
from fleet_fixtures import APIGRADE, Worker, serve_targets, wait_for  # noqa: E402

from apigrade.fleet.results import Results  # noqa: E402

pytestmark = pytest.mark.fleet
SIGNING_KEY = "zebra-unlikely-key-4242"  # in no public list: only --wordlist finds it
TOKENS = {"alice-secret-7f3a9c": 1, "bob-secret-2e8d41": 2}
SPEC_ONLY = "/api/only-in-the-spec"  # linked from nowhere: only --spec names it


def recording_app(seen: list[tuple[str, dict[str, str]]]) -> Flask:
    app = Flask("recorder")
    app.config["SECRET_KEY"] = SIGNING_KEY
    lock = threading.Lock()

    @app.before_request
    def record() -> None:
        with lock:
            seen.append((request.path, dict(request.headers)))

    @app.route("/")
    def index() -> Any:
        session["visits"] = 1  # a signed Flask session cookie for the weak-key check
        return '<html><body><a href="/api/users/1">me</a></body></html>'

    @app.route("/api/me")
    def me() -> Any:
        uid = TOKENS.get(request.headers.get("X-Identity-Token", ""))
        return (jsonify({"id": uid, "name": f"user{uid}"}), 200) if uid else ("no", 401)

    @app.route("/api/users/<int:uid>")
    def user(uid: int) -> Any:
        return jsonify({"id": uid, "name": f"user{uid}"})

    @app.route(SPEC_ONLY)
    def hidden() -> Any:
        return jsonify({"ok": True})

    return app


SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "recorder", "version": "1"},
    "paths": {
        SPEC_ONLY: {"get": {"responses": {"200": {"description": "ok"}}}},
        "/api/me": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/api/users/{id}": {"get": {
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok"}}}},
    },
}


@pytest.mark.timeout(150)
def test_spec_wordlist_and_identities_reach_the_worker(redis_url: str, tmp_path: Path) -> None:
    db_file = tmp_path / "fleet.sqlite"
    db = f"sqlite:///{db_file}"
    run_dir = tmp_path / "submitter"  # relative paths: the worker runs elsewhere
    run_dir.mkdir()
    (run_dir / "spec.json").write_text(json.dumps(SPEC))
    (run_dir / "words.txt").write_text("not-it\n" + SIGNING_KEY + "\n")
    seen: list[tuple[str, dict[str, str]]] = []
    log = tmp_path / "w.log"
    with serve_targets(1, lambda i: recording_app(seen)) as (url,):
        (run_dir / "targets.txt").write_text(url + "\n")
        worker = Worker(redis_url, db, "w@opts", log, "--concurrency", "1")
        try:
            wait_for(worker.ready, 40, "the worker", 0.2)
            identities = [f"{name}:X-Identity-Token: {token}"
                          for name, token in zip(("alice", "bob"), TOKENS, strict=True)]
            run = subprocess.run(
                [APIGRADE, "scan-many", "targets.txt", "--broker", redis_url,
                 "--spec", "spec.json", "--wordlist", "words.txt",
                 *[a for ident in identities for a in ("--identity", ident)],
                 "--max-requests", "300", "--format", "json", "--wait-timeout", "120"],
                capture_output=True, text=True, timeout=130, cwd=run_dir,
            )
        finally:
            worker.stop()
    assert run.returncode == 0, run.stderr[-2000:]
    (row,) = json.loads(run.stdout)
    assert row["status"] == "completed", row

    paths = {path for path, _ in seen}
    assert SPEC_ONLY in paths  # the spec reached the worker
    sent_tokens = {h.get("X-Identity-Token") for _, h in seen} - {None}
    assert set(TOKENS) <= sent_tokens  # both identities reached the worker

    results = Results(db)
    report = results.report(row["scan_id"])
    results.close()
    assert report is not None
    weak = [f for f in report.findings if f.check_id == "auth.weak-signing-key"]
    assert weak, [f.check_id for f in report.findings]  # found with the --wordlist key

    # the identities' values: not in the stored scan, the report, nor the worker's log
    stored = db_file.read_bytes()
    worker_log = log.read_text(errors="replace")
    for token in TOKENS:
        assert token.encode() not in stored
        assert token not in report.model_dump_json()
        assert token not in worker_log
        assert token not in run.stdout + run.stderr


@pytest.mark.timeout(150)
def test_an_auth_file_reaches_the_worker_and_its_secret_stays_there(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``scan-many --auth`` sends only the file's path: the worker resolves the secret from
    its own environment (the submitter never has it) and scans logged in."""
    import os

    db_file = tmp_path / "fleet.sqlite"
    db = f"sqlite:///{db_file}"
    run_dir = tmp_path / "submitter"
    run_dir.mkdir()
    token = next(iter(TOKENS))
    (run_dir / "ids.toml").write_text(
        '[[identity]]\nname = "alice"\nrole = "user"\ndefault = true\n'
        '[identity.static]\nheaders = { X-Identity-Token = { env = "WORKER_ALICE_TOKEN" } }\n'
    )
    monkeypatch.setenv("WORKER_ALICE_TOKEN", token)  # the worker's environment only
    submitter_env = {k: v for k, v in os.environ.items() if k != "WORKER_ALICE_TOKEN"}
    seen: list[tuple[str, dict[str, str]]] = []
    log = tmp_path / "w.log"
    with serve_targets(1, lambda i: recording_app(seen)) as (url,):
        (run_dir / "targets.txt").write_text(url + "\n")
        worker = Worker(redis_url, db, "w@auth", log, "--concurrency", "1")
        try:
            wait_for(worker.ready, 40, "the worker", 0.2)
            run = subprocess.run(
                [APIGRADE, "scan-many", "targets.txt", "--broker", redis_url,
                 "--auth", "ids.toml", "--max-requests", "200", "--format", "json",
                 "--wait-timeout", "120"],
                capture_output=True, text=True, timeout=130, cwd=run_dir, env=submitter_env,
            )  # fmt: skip
        finally:
            worker.stop()
    assert run.returncode == 0, run.stderr[-2000:]
    (row,) = json.loads(run.stdout)
    assert row["status"] == "completed", row
    assert token in {h.get("X-Identity-Token") for _, h in seen}  # scanned as alice
    results = Results(db)
    report = results.report(row["scan_id"])
    results.close()
    assert report is not None and report.identities is not None
    assert [(i.name, i.login) for i in report.identities] == [("alice", "static")]
    assert token.encode() not in db_file.read_bytes()
    assert token not in log.read_text(errors="replace") + run.stdout + run.stderr
