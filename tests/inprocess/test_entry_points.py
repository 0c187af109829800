"""The three entry points of a grey-box scan: ``apigrade scan --app``, ``apigrade.scan(app)``
and the pytest plugin (the copyable example of docs/in-process.md, run as written)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from greyapps import HERE, ROOT, grey_flask

import apigrade
from apigrade.model import ScanReport

pytest_plugins = ["pytester"]
APPS = HERE / "apps"


def _cli(*args: str, cwd: Path = APPS) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("APIGRADE_DB", "FORCE_COLOR")}
    return subprocess.run([sys.executable, "-m", "apigrade", "scan", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_cli_app_factory_gives_the_same_report_model_as_the_api() -> None:
    proc = _cli("--app", "grey_flask:create_app", "-f", "json", "--no-store")
    assert proc.returncode == 0, proc.stderr
    report = ScanReport.model_validate_json(proc.stdout)
    api = apigrade.scan(grey_flask.create_app())

    def stable(r: ScanReport) -> set[str]:
        return {f.id for f in r.findings if f.check_id.startswith("app-config.")
                or "/internal/" in f.url}  # fmt: skip

    assert stable(report) == stable(api) and len(stable(report)) >= 12
    assert report.target == api.target == "http://testserver/"
    assert report.discovery == api.discovery
    debug = next(f for f in report.findings if f.check_id == "app-config.debug")
    assert debug.location is not None
    assert debug.location.path == "tests/inprocess/apps/grey_flask/settings_flawed.py"


def test_cli_app_text_report_names_routes_and_source_lines() -> None:
    proc = _cli("--app", "grey_flask:create_app('flawed')", "--no-store", "--fail-on", "high")
    assert proc.returncode == 1, proc.stderr  # the gate failed
    assert "6 routes from the app, 2 discovered" in proc.stdout
    assert re.search(
        r"source:\s+tests/inprocess/apps/grey_flask/settings_flawed\.py:\d+", proc.stdout
    )
    assert "gate failed" in proc.stderr


def test_cli_app_module_alone_uses_its_app() -> None:
    proc = _cli("--app", "grey_flask", "-f", "json", "--no-store", "--max-requests", "40")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["requests_sent"] <= 40


def _broken_modules(tmp: Path) -> Path:
    (tmp / "raising_mod.py").write_text("raise RuntimeError('no database configured')\n")
    (tmp / "factory_mod.py").write_text(
        "def create_app():\n    raise KeyError('SECRET_KEY')\n\nnumber = 42\n"
    )
    (tmp / "deps_mod.py").write_text("import missing_dependency_xyz\n")
    return tmp


@pytest.mark.parametrize(("ref", "words"), [
    ("not a ref", ["bad --app", "MODULE:OBJECT"]),
    ("no_such_module_xyz:app", ["no module named 'no_such_module_xyz'"]),
    ("raising_mod:app", ["importing raising_mod failed", "RuntimeError: no database configured"]),
    ("deps_mod:app", ["importing deps_mod failed", "missing_dependency_xyz"]),
    ("factory_mod:create_app", ["calling create_app() failed", "KeyError"]),
    ("factory_mod:nothing", ["has no attribute 'nothing'"]),
    ("factory_mod:number", ["not a WSGI or ASGI app"]),
    ("factory_mod:create_app(os.environ)", ["Python literals"]),
])  # fmt: skip
def test_cli_app_errors_are_one_line_exit_2(tmp_path: Path, ref: str, words: list[str]) -> None:
    proc = _cli("--app", ref, "--no-store", cwd=_broken_modules(tmp_path))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("apigrade: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_cli_needs_exactly_one_target() -> None:
    both = _cli("http://127.0.0.1:9/", "--app", "grey_flask:app")
    assert both.returncode == 2 and "not both" in both.stderr
    neither = _cli()
    assert neither.returncode == 2 and "Missing argument 'URL'" in neither.stderr


def _docs_example() -> str:
    doc = (ROOT / "docs" / "in-process.md").read_text(encoding="utf-8")
    section = doc.split("### In your test suite (pytest)", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize("variant", ["fixed", "flawed"])
def test_the_documented_pytest_example_runs_as_written(
    pytester: pytest.Pytester, variant: str
) -> None:
    pytester.syspathinsert(APPS)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(myapp=f"from grey_flask import create_app as _make\n\n"
                              f"def create_app():\n    return _make({variant!r})\n")  # fmt: skip
    pytester.makepyfile(test_security=_docs_example())
    result = pytester.runpytest("-p", "no:cacheprovider")
    if variant == "fixed":
        result.assert_outcomes(passed=2)
    else:
        result.assert_outcomes(failed=2)
        result.stdout.fnmatch_lines(["*apigrade: grade F*",
                                     "*at tests/inprocess/apps/grey_flask/settings_flawed.py:*"])  # fmt: skip
