"""``apigrade.toml`` and ``pyproject.toml [tool.apigrade]`` (docs/config.md), through the
real command line: ``apigrade.cli.main`` in a temporary working directory, with the scan
itself replaced by a recorder (what reached ``run_scan``), and two real scans of a local
target in a subprocess for env-var headers (masked in the report) and ``skip``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from flask import Flask, request

from apigrade.cli import app, main
from apigrade.config import PARAMS, LazyDefaults, ScanSettings, check, scan_defaults
from apigrade.engine import scanner
from apigrade.engine.scanner import ScanOptions
from apigrade.errors import UsageError
from apigrade.model import Fingerprint, ScanReport, ToolInfo
from apigrade.redact import mask, redact_text
from apigrade.scoring import score_report
from helpers_scan import by_check, scan_app

URL = "http://127.0.0.1:9/"
#: the score of the recorded scan's report (for the gates)
SCORE = 50


@dataclass
class Run:
    code: int
    err: str
    out: str
    url: str | None
    options: ScanOptions | None


def _report(url: str) -> ScanReport:
    _score, grade, cats = score_report([])
    return ScanReport(
        tool=ToolInfo(version="test"), target=url, started_at="2026-12-06T10:00:00Z",
        duration_s=0.1, requests_sent=0, score=SCORE, grade="D", categories=cats,
        fingerprint=Fingerprint(), findings=[],
    )  # fmt: skip


@pytest.fixture
def run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Run]:
    """``run(cwd, *args)``: ``apigrade scan *args`` run from ``cwd``; nothing is sent."""
    seen: dict[str, Any] = {}

    async def recorder(url: str, options: ScanOptions | None = None, **_kw: Any) -> ScanReport:
        seen["url"], seen["options"] = url, options
        return _report(url)

    monkeypatch.setattr(scanner, "run_scan", recorder)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # default history: in tmp
    monkeypatch.delenv("APIGRADE_DB", raising=False)
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)

    def _run(cwd: Path, *args: str) -> Run:
        seen.clear()
        monkeypatch.chdir(cwd)
        code = main(["scan", *args])
        cap = capsys.readouterr()
        return Run(code, cap.err, cap.out, seen.get("url"), seen.get("options"))

    return _run


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository root (it holds ``.git``)."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    return root


def one_error_line(r: Run) -> str:
    """The ``apigrade: error:`` line of a usage error (exit 2), never a traceback."""
    assert r.code == 2, r.err
    assert "Traceback" not in r.err
    errors = [line for line in r.err.splitlines() if line.startswith("apigrade: error:")]
    assert len(errors) == 1, r.err
    return errors[0]


# -- every setting reaches the scan --------------------------------------------------------
def test_apigrade_toml_sets_every_scan_option(run: Callable[..., Run], repo: Path) -> None:
    (repo / "words.txt").write_text("secret\n")
    (repo / "openapi.json").write_text("{}")
    write(repo / "apigrade.toml", f"""\
        target = "{URL}"
        insecure = true
        spec = "openapi.json"
        active = true
        wordlist = "words.txt"
        max-requests = 123
        concurrency = 7
        rate = 2.5
        timeout = 4
        scope = ["http://127.0.0.1:80"]
        skip = ["headers.missing-csp", "headers.missing-nosniff"]
        no-store = true
        format = ["json", "markdown"]
        output-dir = "reports"
        """)  # fmt: skip
    sub = repo / "src" / "pkg"
    sub.mkdir(parents=True)
    r = run(sub)  # no URL on the command line: the file's target
    assert r.code == 0, r.err
    assert r.url == URL
    o = r.options
    assert o is not None
    assert (o.insecure, o.active, o.max_requests, o.concurrency, o.rate, o.timeout) == (
        True, True, 123, 7, 2.5, 4.0,
    )  # fmt: skip
    assert o.scope == ["http://127.0.0.1:80"]
    assert o.skip == ["headers.missing-csp", "headers.missing-nosniff"]
    # relative paths are taken from the file's directory, not the working directory
    assert o.spec == str(repo / "openapi.json")
    assert o.wordlist == str(repo / "words.txt")
    written = sorted(p.name for p in (repo / "reports").iterdir())
    assert written == ["apigrade.json", "apigrade.md"]
    assert json.loads((repo / "reports" / "apigrade.json").read_text())["target"] == URL
    assert not (sub / "reports").exists()


def test_without_a_file_the_builtin_defaults_apply(run: Callable[..., Run], repo: Path) -> None:
    r = run(repo, URL, "--no-store")
    assert r.code == 0, r.err
    o = r.options
    assert o is not None
    assert (o.timeout, o.max_requests, o.concurrency, o.rate, o.skip) == (10.0, 800, 10, None, [])
    assert r.url == URL


def test_no_target_anywhere_is_still_a_usage_error(run: Callable[..., Run], repo: Path) -> None:
    write(repo / "apigrade.toml", "timeout = 3\n")
    r = run(repo)
    assert r.code == 2 and r.options is None
    assert "Traceback" not in r.err


# -- precedence: command line > environment > apigrade.toml > pyproject.toml > defaults ----
def test_pyproject_beats_the_builtin_defaults(run: Callable[..., Run], repo: Path) -> None:
    write(repo / "pyproject.toml", """\
        [project]
        name = "x"
        [tool.apigrade]
        timeout = 3
        concurrency = 4
        no-store = true
        """)  # fmt: skip
    r = run(repo, URL)
    assert r.code == 0, r.err
    assert r.options is not None
    assert (r.options.timeout, r.options.concurrency) == (3.0, 4)


def test_apigrade_toml_beats_pyproject_key_by_key(run: Callable[..., Run], repo: Path) -> None:
    write(repo / "pyproject.toml", """\
        [tool.apigrade]
        timeout = 3
        concurrency = 4
        no-store = true
        """)  # fmt: skip
    write(repo / "apigrade.toml", "timeout = 5\nmax-requests = 60\n")
    r = run(repo, URL)
    assert r.code == 0, r.err
    assert r.options is not None
    # timeout from apigrade.toml, concurrency from pyproject, rate built in
    assert (r.options.timeout, r.options.max_requests, r.options.concurrency) == (5.0, 60, 4)
    assert r.options.rate is None


def test_command_line_beats_both_files(run: Callable[..., Run], repo: Path) -> None:
    write(repo / "pyproject.toml", "[tool.apigrade]\ntimeout = 3\nrate = 1.0\n")
    write(repo / "apigrade.toml", f'target = "{URL}"\ntimeout = 5\nno-store = true\n')
    other = "http://127.0.0.1:8/"
    r = run(repo, other, "--timeout", "7", "--rate", "9")
    assert r.code == 0, r.err
    assert r.url == other
    assert r.options is not None
    assert (r.options.timeout, r.options.rate) == (7.0, 9.0)


def test_command_line_turns_off_a_boolean_the_file_turns_on(
    run: Callable[..., Run], repo: Path
) -> None:
    write(repo / "apigrade.toml", "active = true\ninsecure = true\nno-store = true\n")
    on = run(repo, URL)
    assert on.options is not None and (on.options.active, on.options.insecure) == (True, True)
    assert not (repo.parent / "xdg").exists()  # no-store = true: no history written
    off = run(repo, URL, "--no-active", "--no-insecure", "--store", "--db", "h.sqlite3")
    assert off.code == 0, off.err
    assert off.options is not None and (off.options.active, off.options.insecure) == (False, False)
    assert (repo / "h.sqlite3").is_file()  # --store beat no-store = true


def test_environment_beats_the_files_and_loses_to_the_command_line(
    run: Callable[..., Run], repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``db``: the one scan setting with an environment variable (``APIGRADE_DB``)."""
    write(repo / "pyproject.toml", '[tool.apigrade]\ndb = "py.sqlite3"\n')
    assert run(repo, URL).code == 0
    assert (repo / "py.sqlite3").is_file()  # pyproject > default

    write(repo / "apigrade.toml", 'db = "dedicated.sqlite3"\n')
    assert run(repo, URL).code == 0
    assert (repo / "dedicated.sqlite3").is_file()  # apigrade.toml > pyproject

    env_db = tmp_path / "env.sqlite3"
    monkeypatch.setenv("APIGRADE_DB", str(env_db))
    (repo / "dedicated.sqlite3").unlink()
    assert run(repo, URL).code == 0
    assert env_db.is_file()  # environment > apigrade.toml
    assert not (repo / "dedicated.sqlite3").exists()

    cli_db = tmp_path / "cli.sqlite3"
    env_db.unlink()
    assert run(repo, URL, "--db", str(cli_db)).code == 0
    assert cli_db.is_file() and not env_db.exists()  # command line > environment


def test_gates_from_the_file_and_the_command_line(run: Callable[..., Run], repo: Path) -> None:
    write(repo / "apigrade.toml", f'target = "{URL}"\nno-store = true\nfail-under = 70\n')
    failed = run(repo)
    assert failed.code == 1  # the file's gate: score 50 < 70
    assert run(repo, "--fail-under", "40").code == 0  # the command line's gate wins
    write(repo / "apigrade.toml", f'target = "{URL}"\nno-store = true\nfail-under = 40\n')
    assert run(repo).code == 0


# -- where the files are found --------------------------------------------------------------
def test_pyproject_is_found_up_to_the_repository_root(run: Callable[..., Run], repo: Path) -> None:
    write(repo / "pyproject.toml", "[tool.apigrade]\ntimeout = 3\nno-store = true\n")
    write(repo / "a" / "pyproject.toml", '[project]\nname = "a"\n')  # no table: skipped
    deep = repo / "a" / "b" / "c"
    deep.mkdir(parents=True)
    r = run(deep, URL)
    assert r.code == 0, r.err
    assert r.options is not None and r.options.timeout == 3.0


def test_files_above_the_repository_root_are_ignored(
    run: Callable[..., Run], tmp_path: Path
) -> None:
    write(tmp_path / "apigrade.toml", "timeout = 3\n")
    write(tmp_path / "pyproject.toml", "[tool.apigrade]\nconcurrency = 3\n")
    inner = tmp_path / "inner"
    (inner / ".git").mkdir(parents=True)
    r = run(inner, URL, "--no-store")
    assert r.code == 0, r.err
    assert r.options is not None
    assert (r.options.timeout, r.options.concurrency) == (10.0, 10)


def test_outside_a_repository_only_the_working_directory_counts(
    run: Callable[..., Run], tmp_path: Path
) -> None:
    write(tmp_path / "apigrade.toml", "timeout = 3\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    r = run(sub, URL, "--no-store")
    assert r.options is not None and r.options.timeout == 10.0
    r = run(tmp_path, URL, "--no-store")
    assert r.options is not None and r.options.timeout == 3.0


def test_explicit_config_replaces_the_search(run: Callable[..., Run], repo: Path) -> None:
    write(repo / "apigrade.toml", "timeout = 5\nconcurrency = 5\n")
    named = write(repo / "ci" / "scan.toml", "timeout = 2\nno-store = true\n")
    r = run(repo, URL, "--config", str(named))
    assert r.code == 0, r.err
    assert r.options is not None
    assert (r.options.timeout, r.options.concurrency) == (2.0, 10)  # apigrade.toml not read
    pyproject = write(repo / "ci" / "pyproject.toml", "[tool.apigrade]\ntimeout = 6\n")
    r = run(repo, URL, "--config", str(pyproject), "--no-store")
    assert r.options is not None and r.options.timeout == 6.0


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("pyproject.toml", '[project]\nname = "x"\n', "has no [tool.apigrade] table"),
        ("missing.toml", None, "cannot read config"),
    ],
)
def test_explicit_config_errors(
    run: Callable[..., Run], repo: Path, name: str, text: str | None, expected: str
) -> None:
    path = repo / name
    if text is not None:
        write(path, text)
    line = one_error_line(run(repo, URL, "--config", str(path)))
    assert expected in line and name in line


def test_help_is_not_blocked_by_a_broken_file(run: Callable[..., Run], repo: Path) -> None:
    write(repo / "apigrade.toml", "timeout = [\n")
    r = run(repo, "--help")
    assert r.code == 0, r.err
    assert "--config" in r.out and "--skip" in r.out


# -- validation: one line naming the file and the key, exit 2 -------------------------------
@pytest.mark.parametrize(
    ("toml", "key", "why"),
    [
        ("fail_under = 70", "'fail_under'", "unknown key (did you mean 'fail-under'?)"),
        ("colour = true", "'colour'", "unknown key"),
        ('timeout = "10"', "'timeout'", "valid number"),
        ("timeout = 0", "'timeout'", "greater than or equal to 0.1"),
        ("concurrency = 1000", "'concurrency'", "less than or equal to 256"),
        ("max-requests = 1.5", "'max-requests'", "valid integer"),
        ('active = "yes"', "'active'", "valid boolean"),
        ('skip = "headers.missing-csp"', "'skip'", "valid list"),
        ('skip = ["no.such-check"]', "'skip'", "unknown check id 'no.such-check'"),
        ('fail-on = "urgent"', "'fail-on'", "'critical', 'high'"),
        ('format = ["pdf"]', "'format", "unknown format 'pdf'"),
        ('headers = {Authorization = "Bearer literal"}', "'headers.Authorization'", "valid dict"),
        ('headers = {X = {env = "A", value = "b"}}', "'headers.X.value'", "unknown key"),
        ('headers = {X = {env = "NOT A NAME"}}', "'headers.X.env'", "should match pattern"),
        ('cookie = "sid=literal"', "'cookie'", "valid dictionary"),
        ('db = "postgresql://u:pw@127.0.0.1/db"', "'db'", "holds a password"),
    ],
)
def test_bad_settings_are_one_line_naming_file_and_key(
    run: Callable[..., Run], repo: Path, toml: str, key: str, why: str
) -> None:
    write(repo / "apigrade.toml", toml + "\n")
    line = one_error_line(run(repo, URL))
    assert f"config '{repo / 'apigrade.toml'}'" in line
    assert f"key {key}" in line
    assert why in line
    assert "literal" not in line and "pw@" not in line  # values are not echoed


def test_bad_key_in_pyproject_names_the_tool_table(run: Callable[..., Run], repo: Path) -> None:
    write(repo / "pyproject.toml", "[tool.apigrade]\ntimout = 3\n")
    line = one_error_line(run(repo, URL))
    assert "pyproject.toml" in line and "key 'tool.apigrade.timout'" in line
    assert "did you mean 'timeout'" in line


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("apigrade.toml", "timeout = [\n", "invalid TOML"),
        ("pyproject.toml", "[tool]\napigrade = 3\n", "tool.apigrade must be a table"),
    ],
)
def test_malformed_files_are_one_line(
    run: Callable[..., Run], repo: Path, name: str, text: str, expected: str
) -> None:
    write(repo / name, text)
    line = one_error_line(run(repo, URL))
    assert expected in line and name in line


def test_an_oversized_file_is_refused_without_reading_it(
    run: Callable[..., Run], repo: Path
) -> None:
    with open(repo / "apigrade.toml", "wb") as fh:
        fh.truncate(2 * 1024 * 1024)
    line = one_error_line(run(repo, URL))
    assert "larger than the 1 MiB limit" in line


# -- headers and cookie from the environment ------------------------------------------------
ENV_HEADERS = """\
    no-store = true
    cookie = {env = "APP_COOKIE", prefix = "sid="}
    [headers]
    Authorization = {env = "API_TOKEN", prefix = "Bearer "}
    X-Api-Key = {env = "API_KEY"}
    """


def test_headers_and_cookie_come_from_the_environment_and_are_secrets(
    run: Callable[..., Run], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, key, sid = (f"{w}-{uuid.uuid4().hex}" for w in ("tok", "key", "sid"))
    monkeypatch.setenv("API_TOKEN", token)
    monkeypatch.setenv("API_KEY", key)
    monkeypatch.setenv("APP_COOKIE", sid)
    write(repo / "apigrade.toml", ENV_HEADERS)
    r = run(repo, URL)
    assert r.code == 0, r.err
    assert r.options is not None
    assert r.options.headers == [("Authorization", f"Bearer {token}"), ("X-Api-Key", key)]
    assert r.options.cookie == f"sid={sid}"
    for secret in (token, key, sid):  # remembered like any -H / -b value
        assert secret not in redact_text(f"reflected: {secret}")


@pytest.mark.parametrize("value", [None, ""])
def test_a_missing_variable_is_one_line_naming_it(
    run: Callable[..., Run], repo: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    monkeypatch.setenv("API_KEY", "k" * 12)
    monkeypatch.setenv("APP_COOKIE", "c" * 12)
    if value is None:
        monkeypatch.delenv("API_TOKEN", raising=False)
    else:
        monkeypatch.setenv("API_TOKEN", value)
    write(repo / "apigrade.toml", ENV_HEADERS)
    r = run(repo, URL)
    line = one_error_line(r)
    assert "environment variable API_TOKEN is not set" in line
    assert "key 'headers.Authorization'" in line and "apigrade.toml" in line
    assert r.options is None  # nothing was scanned


def test_command_line_headers_replace_the_files_and_need_no_variable(
    run: Callable[..., Run], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("API_TOKEN", "API_KEY", "APP_COOKIE"):
        monkeypatch.delenv(name, raising=False)
    write(repo / "apigrade.toml", ENV_HEADERS)
    r = run(repo, URL, "-H", "X-Other: value-1234", "-b", "a=bcdefgh")
    assert r.code == 0, r.err
    assert r.options is not None
    assert r.options.headers == [("X-Other", "value-1234")] and r.options.cookie == "a=bcdefgh"


def test_a_bad_value_from_the_environment_is_refused_unshown(
    run: Callable[..., Run], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_TOKEN", "SECRETPART\r\nX-Evil: 1")
    monkeypatch.setenv("API_KEY", "k" * 12)
    monkeypatch.setenv("APP_COOKIE", "c" * 12)
    write(repo / "apigrade.toml", ENV_HEADERS)
    line = one_error_line(run(repo, URL))
    assert "headers.Authorization" in line and "line break" in line
    assert "SECRETPART" not in line


# -- skip -----------------------------------------------------------------------------------
def test_skip_on_the_command_line(run: Callable[..., Run], repo: Path) -> None:
    write(repo / "apigrade.toml", 'skip = ["headers.missing-csp"]\nno-store = true\n')
    r = run(repo, URL, "--skip", "headers.missing-nosniff", "--skip", "secrets.exposed-secret")
    assert r.code == 0, r.err
    assert r.options is not None  # the command line's list replaces the file's
    assert r.options.skip == ["headers.missing-nosniff", "secrets.exposed-secret"]
    line = one_error_line(run(repo, URL, "--skip", "no.such-check"))
    assert "--skip 'no.such-check'" in line


TOKEN = "ConfigFileToken-8c21f0a9d3"


def echo_app() -> Flask:
    """An HTML page without browser protections that reflects the Authorization header."""
    app = Flask(__name__)

    @app.after_request
    def leak(resp: Any) -> Any:
        resp.headers["X-Powered-By"] = "PHP/5.1 " + request.headers.get("Authorization", "")
        return resp

    @app.route("/")
    def index() -> Any:
        return f"<html><title>echo</title><pre>{request.headers.get('Authorization')}</pre>"

    return app


def test_skip_drops_checks_and_finding_kinds_in_the_engine() -> None:
    only = ["headers.missing-csp"]
    plain = scan_app(echo_app(), only=only)
    assert by_check(plain, "headers.missing-csp") and by_check(plain, "headers.missing-nosniff")
    kind = scan_app(echo_app(), only=only, skip=["headers.missing-nosniff"])
    assert by_check(kind, "headers.missing-csp")  # the check still runs
    assert not by_check(kind, "headers.missing-nosniff")  # its skipped kind is not reported
    check = scan_app(echo_app(), only=only, skip=["headers.missing-csp"])
    assert not check.findings  # the check did not run at all


@pytest.fixture
def served_echo(serve: Callable[..., str]) -> Iterator[str]:
    yield serve(echo_app())


def test_real_scan_with_env_headers_and_skip_from_the_file(
    served_echo: str, tmp_path: Path
) -> None:
    """A real scan in a subprocess: the token from the environment is sent (the target
    reflects it), masked in the report like a -H value; skipped kinds are not reported."""
    work = tmp_path / "proj"
    (work / ".git").mkdir(parents=True)
    write(work / "apigrade.toml", f"""\
        target = "{served_echo}"
        no-store = true
        format = "json"
        output = "out/report.json"
        max-requests = 60
        skip = ["headers.missing-nosniff"]
        headers = {{Authorization = {{env = "SCAN_TOKEN", prefix = "Bearer "}}}}
        """)  # fmt: skip
    env = {**os.environ, "SCAN_TOKEN": TOKEN}
    env.pop("APIGRADE_DB", None)
    proc = subprocess.run(
        [sys.executable, "-m", "apigrade", "scan"],
        cwd=work, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    text = (work / "out" / "report.json").read_text()
    report = json.loads(text)
    assert report["target"].rstrip("/") == served_echo.rstrip("/")
    ids = {f["check_id"] for f in report["findings"]}
    assert "headers.missing-csp" in ids and "headers.missing-nosniff" not in ids
    assert TOKEN not in text + proc.stdout + proc.stderr
    assert mask(f"Bearer {TOKEN}") in text  # the reflected value is there, masked
    assert "auth.credentials-echoed" in ids  # (so the target did receive the token)


def test_dev_zero_as_config_is_refused(run: Callable[..., Run], repo: Path) -> None:
    line = one_error_line(run(repo, URL, "--config", "/dev/zero"))
    assert "larger than the 1 MiB limit" in line


# -- the documentation matches the code ---------------------------------------------------
DOC = Path(__file__).parent.parent / "docs" / "config.md"


def _scan_params() -> set[str | None]:
    group: Any = typer.main.get_command(app)  # click's, or Typer's vendored click
    return {p.name for p in group.commands["scan"].params}


def test_every_key_is_a_scan_option_and_documented() -> None:
    doc = DOC.read_text()
    params = _scan_params()
    for key in ScanSettings.model_json_schema(by_alias=True)["properties"]:
        assert f"| `{key}` |" in doc, key
        param = {"target": "url", "headers": "header"}.get(key, key.replace("-", "_"))
        assert param in params, key


def test_the_documented_full_example_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(), re.S)
    dedicated, pyproject = blocks[0], blocks[1]
    (tmp_path / ".git").mkdir()
    write(tmp_path / "apigrade.toml", dedicated)
    write(tmp_path / "pyproject.toml", pyproject)
    monkeypatch.delenv("APIGRADE_DB", raising=False)
    merged = scan_defaults(None, cwd=tmp_path)
    assert merged["url"] == "https://staging.api.example.com/"
    assert merged["fail_under"] == 70 and merged["fail_on"] == "high"
    assert merged["format"] == ["sarif", "markdown"]
    assert merged["output_dir"] == str(tmp_path / "reports")
    for name, value in (
        ("API_TOKEN", "t" * 20),
        ("API_KEY", "k" * 20),
        ("APIGRADE_SESSION", "s" * 20),
    ):
        monkeypatch.setenv(name, value)
    assert merged["header"]() == [f"Authorization: Bearer {'t' * 20}", f"X-Api-Key: {'k' * 20}"]
    assert merged["cookie"]() == f"session={'s' * 20}"


def test_a_file_that_fails_to_load_raises_on_use_not_on_help_rendering() -> None:
    """Click 8.1 renders ``--help`` from the default map: the error waits for a value."""

    def broken() -> dict[str, Any]:
        raise UsageError("config 'x.toml': invalid TOML")

    lazy = LazyDefaults(broken)
    value = lazy.get("timeout")  # what help rendering does: no error, a callable
    assert callable(value) and set(lazy) == set(PARAMS)
    with pytest.raises(UsageError, match="invalid TOML"):
        value()  # what an option taking its value from the map does
    ctx = typer.Context(typer.main.get_command(app))
    ctx.default_map = LazyDefaults(broken)
    with pytest.raises(UsageError, match="invalid TOML"):
        check(ctx)  # what the scan command does first
    ctx.default_map = LazyDefaults(lambda: {"timeout": 3.0})
    check(ctx)
    assert ctx.default_map["timeout"] == 3.0
