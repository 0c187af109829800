"""The GitHub Action (action.yml): safe scripts, the right steps, and its shell steps run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from apigrade.demo.app import create_app
from apigrade.report.markdown import MARKER

ACTION = Path(__file__).resolve().parents[2] / "action.yml"


def _steps(text: str) -> dict[str, dict[str, str]]:
    """name -> fields of each composite step ("run", "uses", "with.script", "env.OUT", …).

    A tiny reader for this file's shape (no YAML library in the test dependencies).
    """
    steps: dict[str, dict[str, str]] = {}
    body = text.split("\n  steps:\n", 1)[1]
    for chunk in ("\n" + body).split("\n    - ")[1:]:
        lines = ("      " + chunk).splitlines()
        fields: dict[str, str] = {}
        parent, block, block_indent = "", "", 0
        for line in lines:
            indent = len(line) - len(line.lstrip(" "))
            if block and (not line.strip() or indent >= block_indent):
                fields[block] += line[block_indent:] + "\n"
                continue
            block = ""
            m = re.match(r"^( *)([A-Za-z_][\w-]*): ?(.*)$", line)
            if not m or indent < 6:
                continue
            key = m.group(2) if indent == 6 else f"{parent}.{m.group(2)}"
            if indent == 6:
                parent = m.group(2)
            fields[key] = m.group(3)
            if m.group(3) in ("|", ">-"):
                fields[key], block, block_indent = "", key, indent + 2
        steps[fields.get("name", "?")] = fields
    return steps


def test_action_is_composite_with_the_documented_inputs() -> None:
    text = ACTION.read_text()
    assert "\n  using: composite\n" in text
    for name in ("target", "fail-on", "fail-under", "args"):
        assert re.search(rf"^  {name}:\n    description: ", text, re.M), name
    assert re.search(r"^  target:\n    description: .*\n    required: true", text, re.M)
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
    passing = _bash(gate, {**gh, "OUT": "reports", "FAIL_ON": "", "FAIL_UNDER": "0"}, tmp_path)
    assert passing.returncode == 0, passing.stderr
