"""``apigrade report``: re-rendering a saved JSON report gives the scan's own bytes."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from reportdata import hostile_report

from apigrade.cli import main
from apigrade.demo.app import create_app
from apigrade.report import EXTENSIONS

FORMATS = ["json", "html", "sarif", "markdown", "junit", "text"]


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The console entry point, in-process (a subprocess per call costs a second)."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(args))
    finally:
        sys.stdin = old_stdin
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def _flags() -> list[str]:
    return [x for fmt in FORMATS for x in ("-f", fmt)]


def test_scan_then_report_round_trip_is_byte_identical(
    serve: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIGRADE_DB", f"sqlite:///{tmp_path / 'history.db'}")  # not the user's
    url = serve(create_app())
    scan = cli("scan", url, *_flags(), "--output-dir", str(tmp_path / "scan"))
    assert scan.returncode == 0, scan.stderr
    saved = tmp_path / "scan" / "apigrade.json"
    again = cli("report", str(saved), *_flags(), "--output-dir", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    for fmt in FORMATS:
        name = f"apigrade{EXTENSIONS[fmt]}"
        first = (tmp_path / "scan" / name).read_bytes()
        assert first == (tmp_path / "again" / name).read_bytes(), fmt
    assert b"<!doctype html>" in (tmp_path / "again" / "apigrade.html").read_bytes()
    # stdin and a single -o file give the same bytes too
    piped = cli("report", "-", "-f", "sarif", stdin=saved.read_text())
    assert piped.stdout == (tmp_path / "scan" / "apigrade.sarif").read_text()


def test_gates_and_junit_threshold(tmp_path: Path) -> None:
    saved = tmp_path / "hostile.json"
    saved.write_text(hostile_report().model_dump_json())
    out = tmp_path / "j.xml"
    proc = cli("report", str(saved), "-f", "junit", "-o", str(out), "--fail-on", "critical")
    assert proc.returncode == 1 and 'failures="1"' in out.read_text()
    assert cli("report", str(saved), "-f", "junit", "--fail-under", "10").returncode == 0
    assert cli("report", str(saved), "--fail-under", "90").returncode == 1
    text = cli("report", str(saved))  # text by default; not a terminal: no escape codes
    assert text.returncode == 0 and "Grade" in text.stdout
    assert not any(ch in text.stdout for ch in ("\x1b", "\x07", "\x9b", "\u202e", "\x00"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("not json", "is not JSON"),
        ('{"score": 5}', "is not an apigrade JSON report"),
        ('{"findings": "x"}', "is not an apigrade JSON report"),
        (b"\xff\xfe", "is not UTF-8"),
    ],
)
def test_bad_files_are_one_line_usage_errors(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "scan.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    proc = cli("report", str(path), "-f", "html")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert message in proc.stderr and not proc.stdout


def test_bad_options_exit_2(tmp_path: Path) -> None:
    saved = tmp_path / "r.json"
    saved.write_text(hostile_report().model_dump_json())
    for args in (["-f", "pdf"], ["-f", "html", "-f", "sarif"], ["--fail-on", "urgent"]):
        proc = cli("report", str(saved), *args)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, args
