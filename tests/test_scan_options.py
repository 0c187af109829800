"""``ScanOptions``: one pydantic model, one serialiser pair, one store view.

Every field is handled by every view (the JSON wire, the store), so a new option cannot be
forgotten; the ``signatures`` option reaches the scan from the configuration file and
through ``scan-many`` (real command line, a Flask app on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response
from pydantic import ValidationError

from apigrade.config import scan_defaults
from apigrade.engine import offload, scanner
from apigrade.errors import UsageError
from apigrade.scan_options import ScanOptions, Stored
from apigrade.store.sanitize import missing_credentials, options_from_stored, stored_options

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SIGNATURE = ROOT / "docs" / "examples" / "signatures" / "backup_archive.toml"
SECRET = "Bearer never-stored-5ecret"
COOKIE_VALUE = "c00kie-never-stored"
ID_SECRET = "identity-never-stored-v4lue"

#: a value for every field, each different from its default
SAMPLES: dict[str, Any] = {
    "headers": [("Authorization", SECRET)],
    "cookie": f"sid={COOKIE_VALUE}; theme=dark",
    "insecure": True,
    "spec": "https://user:spec-pa55word@specs.example.test/openapi.json",
    "active": True,
    "wordlist": "/srv/words.txt",
    "max_requests": 123,
    "concurrency": 3,
    "rate": 2.5,
    "timeout": 4.5,
    "only": ["headers.security"],
    "skip": ["headers.server-banner"],
    "identities": {"bob": [("X-Api-Key", ID_SECRET)]},
    "cpu_deadline": 7.25,
    "scope": ["http://127.0.0.1:80"],
    "signatures": ["/srv/signatures"],
    "auth": "/srv/auth/identities.toml",
}
DEFAULTS: dict[str, Any] = {
    "headers": [], "cookie": None, "insecure": False, "spec": None, "active": False,
    "wordlist": None, "max_requests": 800, "concurrency": 10, "rate": None, "timeout": 10.0,
    "only": None, "skip": [], "identities": {}, "cpu_deadline": 2.0, "scope": [],
    "signatures": [], "auth": None,
}  # fmt: skip
FIELDS = sorted(ScanOptions.model_fields)


# -- the model ------------------------------------------------------------------------------
def test_the_scanner_re_exports_the_one_model() -> None:
    assert scanner.ScanOptions is ScanOptions
    assert ScanOptions().cpu_deadline == offload.DEFAULT_DEADLINE


def test_same_names_defaults_and_keyword_constructor() -> None:
    assert set(SAMPLES) == set(ScanOptions.model_fields) == set(DEFAULTS)
    assert ScanOptions().model_dump() == DEFAULTS
    opts = ScanOptions(**SAMPLES)
    for name in FIELDS:
        assert getattr(opts, name) == SAMPLES[name], name
    assert all(type(h) is tuple for h in opts.headers)


def test_lists_are_not_shared_between_instances() -> None:
    a, b = ScanOptions(), ScanOptions()
    a.headers.append(("X", "1"))
    assert b.headers == []


def test_an_unknown_keyword_is_refused() -> None:
    with pytest.raises(ValidationError, match="no_such_option"):
        ScanOptions(no_such_option=1)  # type: ignore[call-arg]


@pytest.mark.parametrize(("name", "bad"), [
    ("max_requests", 0), ("concurrency", 0), ("concurrency", 257), ("rate", 0.0),
    ("timeout", 0.0), ("cpu_deadline", 0.0),
])  # fmt: skip
def test_the_command_line_bounds_hold_for_the_model(name: str, bad: Any) -> None:
    with pytest.raises(ValidationError, match=name):
        ScanOptions(**{name: bad})


def test_model_copy_updates_one_field() -> None:
    base = ScanOptions(max_requests=50, headers=[("A", "b")])
    copy = base.model_copy(update={"max_requests": 10})
    assert (copy.max_requests, copy.headers, base.max_requests) == (10, [("A", "b")], 50)


# -- every field in every view -------------------------------------------------------------
@pytest.mark.parametrize("name", FIELDS)
def test_every_field_declares_a_store_policy(name: str) -> None:
    policy = ScanOptions.store_policy(name)
    assert isinstance(policy, Stored)
    if policy.how == "omit":
        assert policy.why, f"{name}: say why it is not stored"


@pytest.mark.parametrize("name", FIELDS)
def test_every_field_round_trips_through_json(name: str) -> None:
    sent = ScanOptions(**{name: SAMPLES[name]})
    data = json.loads(json.dumps(sent.to_json()))
    assert set(data) == set(FIELDS)
    back = ScanOptions.from_json(data)
    assert back == sent and getattr(back, name) == SAMPLES[name]


@pytest.mark.parametrize("name", FIELDS)
def test_every_field_is_handled_by_the_store_view(name: str) -> None:
    """A non-default value changes the stored row unless the field is declared omitted;
    a kept value comes back through from_stored; a secret never reaches the row."""
    policy = ScanOptions.store_policy(name)
    row = ScanOptions(**{name: SAMPLES[name]}).stored()
    default_row = ScanOptions().stored()
    text = json.dumps(row)
    assert SECRET not in text and COOKIE_VALUE not in text and ID_SECRET not in text
    assert "spec-pa55word" not in text
    if policy.how == "omit":
        assert row == default_row
        return
    assert row != default_row
    back = ScanOptions.from_stored(json.loads(text))
    if policy.how == "keep":
        assert getattr(back, name) == SAMPLES[name]
    elif policy.how == "url":
        assert getattr(back, name) == "https://specs.example.test/openapi.json"
    else:  # names only: the value must be given again
        assert getattr(back, name) == DEFAULTS[name]


def test_the_stored_row_keeps_its_shape() -> None:
    row = ScanOptions(**SAMPLES).stored()
    assert row == {
        "header_names": ["Authorization"], "cookie_names": ["sid", "theme"],
        "identities": {"bob": ["X-Api-Key"]}, "insecure": True,
        "spec": "https://specs.example.test/openapi.json", "active": True,
        "wordlist": "/srv/words.txt", "max_requests": 123, "concurrency": 3, "rate": 2.5,
        "timeout": 4.5, "scope": ["http://127.0.0.1:80"], "skip": ["headers.server-banner"],
        "signatures": ["/srv/signatures"], "auth": "/srv/auth/identities.toml",
    }  # fmt: skip
    assert stored_options(ScanOptions(**SAMPLES)) == row  # the old name still works
    assert options_from_stored(row) == ScanOptions.from_stored(row)


def test_a_new_field_without_a_store_policy_fails() -> None:
    class Newer(ScanOptions):
        brand_new: int = 0

    with pytest.raises(TypeError, match="brand_new declares no store policy"):
        Newer().stored()
    with pytest.raises(TypeError, match="brand_new"):
        Newer.from_stored({})
    with pytest.raises(TypeError):
        Newer.store_policy("brand_new")


def test_old_rows_and_nulls_take_the_defaults() -> None:
    back = ScanOptions.from_stored({"timeout": 3.0, "rate": None, "header_names": ["A"]})
    assert back == ScanOptions(timeout=3.0)


def test_a_bad_stored_value_is_one_usage_line() -> None:
    with pytest.raises(UsageError, match="bad stored scan option max_requests") as info:
        ScanOptions.from_stored({"max_requests": "many-5ecret"})
    assert "many-5ecret" not in str(info.value) and "\n" not in str(info.value)


def test_missing_credentials_names_what_must_be_given_again() -> None:
    row = ScanOptions(**SAMPLES).stored()
    assert missing_credentials(row, ScanOptions()) == ["Authorization", "cookie sid",
                                                       "cookie theme"]  # fmt: skip
    given = ScanOptions(headers=[("authorization", "x")], cookie="sid=1; theme=2")
    assert given.missing_credentials(row) == []


# -- from_json: the one reader -------------------------------------------------------------
def test_an_unknown_option_is_refused_by_name() -> None:
    data = {**ScanOptions().to_json(), "brand_new_option": 1}
    with pytest.raises(UsageError, match="unknown scan option\\(s\\) brand_new_option"):
        ScanOptions.from_json(data)
    with pytest.raises(UsageError, match="this worker does not know .*brand_new_option"):
        ScanOptions.from_json(data, reader="worker")


@pytest.mark.parametrize(("name", "bad"), [
    ("max_requests", "lots-of-5ecret"), ("headers", [["only-a-5ecret"]]),
    ("identities", ["bob-5ecret"]), ("signatures", "/one/5ecret/dir"), ("timeout", -1),
])  # fmt: skip
def test_a_bad_value_is_one_line_without_the_value(name: str, bad: Any) -> None:
    with pytest.raises(UsageError, match=f"bad scan option {name}") as info:
        ScanOptions.from_json({name: bad})
    assert "\n" not in str(info.value) and "5ecret" not in str(info.value)


def test_from_json_wants_an_object() -> None:
    with pytest.raises(UsageError, match="expected a JSON object"):
        ScanOptions.from_json(["headers"])


def test_a_missing_key_takes_its_default() -> None:
    assert ScanOptions.from_json({"timeout": 3}) == ScanOptions(timeout=3.0)


# -- signatures: the configuration file and scan-many --------------------------------------
def signature_dir(root: Path) -> Path:
    folder = root / "my-sigs"
    folder.mkdir(parents=True)
    shutil.copy(EXAMPLE_SIGNATURE, folder / "backup_archive.toml")
    return folder


def archive_app() -> Flask:
    app = Flask("signature_target")

    @app.get("/")
    def index() -> str:
        return "hello"

    @app.get("/backup.zip")
    def backup() -> Response:
        return Response(b"PK\x03\x04" + b"\x00" * 200, mimetype="application/zip")

    return app


def apigrade(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "APIGRADE_DB")}
    env |= {"HOME": str(cwd), "XDG_DATA_HOME": str(cwd / "xdg"), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "apigrade", *args],
        capture_output=True, text=True, timeout=600, env=env, cwd=cwd,
    )  # fmt: skip


def stored_row(db: Path, scan_id: str) -> dict[str, Any]:
    """The options row the store kept for one scan."""
    from apigrade.store import open_store

    store = open_store(str(db))
    try:
        return store.get(scan_id).options
    finally:
        store.close()


def test_config_signatures_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "apigrade.toml").write_text('signatures = ["my-sigs", "/abs/sigs"]\n')
    merged = scan_defaults(None, cwd=tmp_path)
    assert merged["signatures"] == [str(tmp_path / "my-sigs"), "/abs/sigs"]
    (tmp_path / "apigrade.toml").write_text('signatures = "my-sigs"\n')
    with pytest.raises(UsageError, match="key 'signatures'"):
        scan_defaults(None, cwd=tmp_path)


def test_a_signature_folder_from_the_config_file_finds_its_finding(
    serve: Callable[..., str], tmp_path: Path
) -> None:
    url = serve(archive_app())
    project = tmp_path / "project"
    project.mkdir()
    (project / ".git").mkdir()
    signature_dir(project)
    (project / "apigrade.toml").write_text('signatures = ["my-sigs"]\n')
    run = apigrade("scan", url, "-f", "json", "--db", str(tmp_path / "h.sqlite3"), cwd=project)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    found = {f["check_id"]: f for f in report["findings"]}
    assert found["example.backup-archive"]["url"] == url.rstrip("/") + "/backup.zip"
    # the folder is stored with the scan (a path, not a secret)
    assert stored_row(tmp_path / "h.sqlite3", report["scan_id"])["signatures"] == [
        str(project / "my-sigs")
    ]


def test_scan_many_signatures_reach_the_scan_child(
    serve: Callable[..., str], tmp_path: Path
) -> None:
    url = serve(archive_app())
    folder = signature_dir(tmp_path)
    (tmp_path / "targets.txt").write_text(url + "\n")
    db = tmp_path / "fleet.sqlite3"
    run = apigrade("scan-many", "targets.txt", "-f", "json", "--db", str(db),
                   "--signatures", "my-sigs", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    (entry,) = json.loads(run.stdout)
    assert entry["status"] == "completed", entry
    from apigrade.fleet.results import Results

    results = Results(str(db))
    report = results.report(entry["scan_id"])
    assert report is not None
    found = {f.check_id: f for f in report.findings}
    assert found["example.backup-archive"].url == url.rstrip("/") + "/backup.zip"
    assert stored_row(db, entry["scan_id"])["signatures"] == [str(folder)]


def test_scan_many_refuses_a_bad_signature_folder_before_any_scan(tmp_path: Path) -> None:
    (tmp_path / "targets.txt").write_text("http://127.0.0.1:9/\n")
    run = apigrade("scan-many", "targets.txt", "--no-store", "--signatures", "nowhere",
                   cwd=tmp_path)  # fmt: skip
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad --signatures" in lines[0], run.stderr


def test_the_scan_child_loads_the_signature_folders_before_scanning(tmp_path: Path) -> None:
    """Service, MCP, scan-many and workers scan in a child: a bad folder comes back as the
    child's one-line usage error (nothing is contacted: port 9 is never reached)."""
    import asyncio

    from apigrade.fleet.isolation import scan_isolated

    missing = tmp_path / "no-such-folder"
    with pytest.raises(UsageError, match="bad --signatures") as info:
        asyncio.run(scan_isolated("http://127.0.0.1:9/", ScanOptions(signatures=[str(missing)])))
    assert "\n" not in str(info.value)


def test_the_command_line_signatures_replace_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--signatures`` (repeatable) replaces the file's list; both reach ScanOptions as
    absolute paths and are loaded before the scan (the loader recorded, not run)."""
    from apigrade.checks import plugins as check_plugins
    from apigrade.cli import main
    from apigrade.model import Fingerprint, ScanReport, ToolInfo
    from apigrade.scoring import score_report

    loaded: list[Path] = []
    seen: list[ScanOptions] = []

    async def recorder(url: str, options: ScanOptions, **_kw: Any) -> ScanReport:
        seen.append(options)
        _s, _g, cats = score_report([])
        return ScanReport(tool=ToolInfo(version="t"), target=url, started_at="2026-12-06T10:00:00Z",
                          duration_s=0.1, requests_sent=0, score=100, grade="A",
                          categories=cats, fingerprint=Fingerprint(), findings=[])  # fmt: skip

    monkeypatch.setattr(scanner, "run_scan", recorder)
    monkeypatch.setattr(check_plugins, "use_signatures", lambda folder: loaded.append(folder) or 0)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / "apigrade.toml").write_text('signatures = ["from-file"]\n')
    assert main(["scan", "http://127.0.0.1:9/", "--no-store"]) == 0
    assert seen[-1].signatures == [str(tmp_path / "from-file")]
    assert loaded == [tmp_path / "from-file"]
    loaded.clear()
    code = main(["scan", "http://127.0.0.1:9/", "--no-store", "--signatures", "a",
                 "--signatures", "b"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert seen[-1].signatures == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert loaded == [Path("a"), Path("b")]


def test_the_library_scan_loads_the_option_s_signature_folders(tmp_path: Path) -> None:
    """``run_scan(app, ScanOptions(signatures=[...]))`` (and so ``verify``) loads them too.

    In a child interpreter: loading signatures changes that process's registry."""
    folder = signature_dir(tmp_path)
    code = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from test_scan_options import archive_app\n"
        "from apigrade.engine.scanner import scan_sync\n"
        "r = scan_sync(archive_app(), signatures=[sys.argv[1]], only=['example.backup-archive'])\n"
        "print(sorted({f.check_id for f in r.findings}))\n"
    )
    run = subprocess.run([sys.executable, "-c", code, str(folder), str(ROOT / "tests")],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "example.backup-archive" in run.stdout
