"""The GitHub Action (action.yml): safe scripts, the right steps, and its shell steps run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from apigrade.demo.app import create_app
from apigrade.report.markdown import MARKER

ACTION = Path(__file__).resolve().parents[2] / "action.yml"


def _load(text: str) -> dict[str, Any]:
    """The action as GitHub reads it: a real YAML parser, never a hand-written reader."""
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


def _steps(text: str) -> dict[str, dict[str, str]]:
    """name -> fields of each composite step ("run", "uses", "with.script", "env.OUT", …)."""
    steps: dict[str, dict[str, str]] = {}
    for step in _load(text)["runs"]["steps"]:
        fields: dict[str, str] = {}
        for key, value in step.items():
            if isinstance(value, dict):
                fields.update({f"{key}.{k}": str(v) for k, v in value.items()})
            else:
                fields[key] = str(value)
        steps[fields.get("name", "?")] = fields
    return steps


def test_action_is_valid_yaml_and_fits_the_published_schema() -> None:
    """check-jsonschema's vendored GitHub Actions metadata schema, through its own CLI."""
    doc = _load(ACTION.read_text())
    schema = files("check_jsonschema.builtin_schemas.vendor") / "github-actions.json"
    jsonschema.validate(doc, json.loads(schema.read_text()))
    cli = Path(sys.executable).parent / "check-jsonschema"
    run = subprocess.run(
        [str(cli), "--builtin-schema", "vendor.github-actions", str(ACTION)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    for name, spec in doc["inputs"].items():
        assert isinstance(spec["description"], str) and spec["description"].strip(), name


def test_schema_check_rejects_the_plain_scalar_colon_slip(tmp_path: Path) -> None:
    """The slip that once shipped (a plain scalar holding ': ') fails the same check."""
    bad = ACTION.read_text().replace(
        "description: >-\n      Upload the SARIF report to code scanning (needs `security-events: write`).",
        "description: Upload the SARIF report (needs `security-events: write`).",
    )
    assert bad != ACTION.read_text()
    (tmp_path / "action.yml").write_text(bad)
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(bad)
    cli = Path(sys.executable).parent / "check-jsonschema"
    run = subprocess.run(
        [str(cli), "--builtin-schema", "vendor.github-actions", str(tmp_path / "action.yml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode != 0


def test_action_is_composite_with_the_documented_inputs() -> None:
    text = ACTION.read_text()
    doc = _load(text)
    assert doc["runs"]["using"] == "composite"
    for name in ("target", "fail-on", "fail-under", "args"):
        assert doc["inputs"][name]["description"], name
    assert doc["inputs"]["target"]["required"] is True
    steps = _steps(text)
    assert list(steps) == ["Set up Python", "Install apigrade", "Scan",
                           "Upload SARIF to code scanning", "Comment on the pull request",
                           "Apply the gates"]  # fmt: skip
    assert steps["Upload SARIF to code scanning"]["uses"].startswith(
        "github/codeql-action/upload-sarif@"
    )
    assert steps["Comment on the pull request"]["uses"].startswith("actions/github-script@")
    assert "updateComment" in steps["Comment on the pull request"]["with.script"]
    assert f"const marker = '{MARKER}';" in text
    assert '"$GITHUB_ACTION_PATH"' in steps["Install apigrade"]["run"]


def test_no_expression_is_spliced_into_a_script() -> None:
    for name, step in _steps(ACTION.read_text()).items():
        for key in ("run", "with.script"):
            assert "${{" not in step.get(key, ""), f"{name}: inputs must go through env"


def _bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        capture_output=True, text=True, timeout=60, cwd=cwd, env={**os.environ, "PATH": path, **env},
    )  # fmt: skip


def test_scan_and_gate_steps_run(serve: Callable[..., str], tmp_path: Path) -> None:
    steps = _steps(ACTION.read_text())
    url = serve(create_app())
    gh = {
        "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "sum.md"),
    }
    env = {**gh, "TARGET": url, "OUT": "reports",
           "ARGS": "--max-requests 80 -H 'X-Scan-Note: from the action'"}  # fmt: skip
    scan = _bash(steps["Scan"]["run"], env, tmp_path)
    assert scan.returncode == 0, scan.stderr
    outputs = dict(line.split("=", 1) for line in (tmp_path / "out.txt").read_text().splitlines())
    assert outputs["grade"] in "ABCDF" and 0 <= int(outputs["score"]) <= 100
    assert outputs["sarif-file"] == "reports/apigrade.sarif"
    for name in (
        "apigrade.json",
        "apigrade.sarif",
        "apigrade.md",
        "apigrade.html",
        "apigrade.junit.xml",
    ):
        assert (tmp_path / "reports" / name).is_file(), name
    assert (tmp_path / "sum.md").read_text().startswith(MARKER)
    gate = steps["Apply the gates"]["run"]
    failing = _bash(gate, {**gh, "OUT": "reports", "FAIL_ON": "high", "FAIL_UNDER": ""}, tmp_path)
    assert failing.returncode == 1 and "Grade" in failing.stdout
    # the job log says why, in one line (issue 13)
    why = [ln for ln in failing.stderr.splitlines() if ln.startswith("apigrade: gate failed: ")]
    assert len(why) == 1 and "at or above --fail-on high" in why[0], failing.stderr
    passing = _bash(gate, {**gh, "OUT": "reports", "FAIL_ON": "", "FAIL_UNDER": "0"}, tmp_path)
    assert passing.returncode == 0, passing.stderr
    assert "gate failed" not in passing.stderr


def test_install_step_installs_a_working_apigrade(
    serve: Callable[..., str], tmp_path: Path
) -> None:
    """The Install step as the runner runs it: a non-editable install of the action's folder
    into a fresh Python, then that install scans (templates and signatures shipped)."""
    root = ACTION.parent
    action_path = tmp_path / "action"
    junk = shutil.ignore_patterns(
        ".git", ".venv*", ".cache", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
    )
    shutil.copytree(root, action_path, ignore=junk)
    venv = tmp_path / "runner-python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    step = _steps(ACTION.read_text())["Install apigrade"]["run"]
    env = {**os.environ, "GITHUB_ACTION_PATH": str(action_path),
           "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
    env.pop("PYTHONPATH", None)
    install = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step],
        capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    apigrade = venv / "bin" / "apigrade"
    version = subprocess.run([str(apigrade), "--version"], capture_output=True, text=True,
                             timeout=60, env=env)  # fmt: skip
    assert version.returncode == 0 and version.stdout.startswith("apigrade "), version.stderr
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import apigrade; print(apigrade.__file__)"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert str(venv) in where.stdout, "the installed copy, not the checkout"
    url = serve(create_app())
    out = tmp_path / "r"
    scan = subprocess.run(
        [str(apigrade), "scan", url, "--max-requests", "60", "--no-store",
         "-f", "json", "-f", "html", "-f", "sarif", "--output-dir", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert scan.returncode == 0, scan.stderr[-2000:]
    report = json.loads((out / "apigrade.json").read_text())
    assert report["findings"] and (out / "apigrade.html").read_text().lower().startswith("<!doctype html>")
