"""The command line: exit codes and one-line errors (run as a real process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apigrade", *args],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _one_line_error(proc: subprocess.CompletedProcess[str], usage: bool = False) -> None:
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    if usage:  # a command line Click cannot parse: its usage line comes first (issue 13)
        assert lines[0].startswith("Usage: apigrade scan "), proc.stderr
        lines = lines[1:]
    assert len(lines) == 1, proc.stderr


def test_unreachable_target_exits_3() -> None:
    proc = cli("scan", "http://127.0.0.1:9/", "--timeout", "3")
    assert proc.returncode == 3, proc.stderr
    _one_line_error(proc)


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "ht!tp://x"],
        ["scan", "ftp://127.0.0.1/"],
        ["scan", "http://"],
        ["scan", "http://127.0.0.1:9/", "--format", "pdf"],
        ["scan", "http://127.0.0.1:9/", "--fail-on", "urgent"],
        ["scan", "http://127.0.0.1:9/", "-H", "NoColon"],
        ["scan", "http://127.0.0.1:9/", "--wordlist", "/nonexistent/list.txt"],
        ["scan", "http://127.0.0.1:9/", "--max-requests", "zero"],
        ["scan", "http://127.0.0.1:9/", "--no-such-option"],
        ["scan"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    proc = cli(*args)
    assert proc.returncode == 2, proc.stderr
    parse_error = args == ["scan"] or "zero" in args or "--no-such-option" in args
    _one_line_error(proc, usage=parse_error)


def test_checks_json_lists_metadata() -> None:
    proc = cli("checks", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert rows and {"id", "title", "category", "severity", "cwe", "owasp"} <= set(rows[0])


def test_schema_is_json_schema() -> None:
    proc = cli("schema")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert schema["type"] == "object" and "findings" in schema["properties"]
