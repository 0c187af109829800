"""Usage errors and damaged inputs end with a usage line and one error line (issue 13).

The table runs through ``apigrade.cli.main`` (the console entry point) in-process; a few
rows run again as the installed ``apigrade`` in a subprocess. CI runs this file once more
against the oldest Typer the project allows (``typer==0.12.*``, see ``.ci/run``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from apigrade.cli import main
from apigrade.cli.errors import CLICK_USAGE
from apigrade.model import Fingerprint, ScanReport, ToolInfo
from apigrade.scoring import score_report

APIGRADE = str(Path(sys.executable).parent / "apigrade")
DOWN = "http://127.0.0.1:9/"  # never contacted: every row fails before a request


def _report(target: str = "http://127.0.0.1:5000/") -> ScanReport:
    score, grade, cats = score_report([])
    return ScanReport(
        tool=ToolInfo(version="0.1.0"), target=target, started_at="2026-11-29T10:00:00Z",
        duration_s=1.0, requests_sent=3, score=score, grade=grade, categories=cats, findings=[],
        fingerprint=Fingerprint(),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _private_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIGRADE_DB", f"sqlite:///{tmp_path / 'history.sqlite3'}")


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "scan.json"
    path.write_text(_report().model_dump_json())
    return path


# Errors of the command line itself, found by Typer/Click: the usage line, then one error line.
# (argv, the command in the usage line, words the error line must contain)
PARSE_ERRORS: list[tuple[list[str], str, list[str]]] = [
    (["scan"], "apigrade scan", ["url"]),
    (["nope"], "apigrade", ["nope"]),
    (["--bogus"], "apigrade", ["--bogus"]),
    (["scan", "--bogus", DOWN], "apigrade scan", ["--bogus"]),
    (["scan", "--timeout", "0", DOWN], "apigrade scan", ["--timeout"]),
    (["scan", "--max-requests", "zero", DOWN], "apigrade scan", ["--max-requests"]),
    (["scan", "--concurrency", "999", DOWN], "apigrade scan", ["--concurrency"]),
    (["scan", "--fail-under", "101", DOWN], "apigrade scan", ["--fail-under"]),
    (["scan", DOWN, "-H"], "apigrade scan", ["-H"]),
    (["report"], "apigrade report", ["SCAN.json"]),
    (["history", "--limit", "0"], "apigrade history", ["--limit"]),
    (["show"], "apigrade show", ["scan_id"]),
    (["crack"], "apigrade crack", ["value"]),
    (["scan-many"], "apigrade scan-many", ["Missing"]),
]

# Values apigrade checks itself: one error line that names the option or argument.
VALUE_ERRORS: list[tuple[list[str], list[str]]] = [
    (["scan", "http://xn--a.example/"], ["invalid URL", "xn--a.example", "domain name"]),
    (["scan", "http://a\x01b.example/"], ["invalid URL", "\\x01"]),
    (["scan", "http://example.test/a\x7fb"], ["invalid URL", "\\x7f"]),
    (["scan", "ftp://127.0.0.1/"], ["invalid URL", "http or https"]),
    (["scan", DOWN, "--fail-on", "urgent"], ["--fail-on", "urgent", "critical, high"]),
    (["scan", DOWN, "--format", "pdf"], ["--format", "pdf", "sarif"]),
    (["scan", DOWN, "--scope", "nonsense"], ["origin", "nonsense"]),
    (["scan", DOWN, "-H", "NoColon"], ["header"]),
    (["report", "scan.json", "--fail-on", "urgent"], ["--fail-on"]),
    (["report", "scan.json", "--format", "pdf"], ["--format"]),
    (["checks", "--format", "xml"], ["--format"]),
    (["history", "--format", "xml"], ["--format"]),
]


def _clean(code: int, err: str) -> list[str]:
    assert code == 2, err
    assert "internal error" not in err and "Traceback" not in err, err
    return err.strip().splitlines()


def _check_usage_error(code: int, err: str, usage: str, words: list[str]) -> None:
    lines = _clean(code, err)
    assert len(lines) == 2, err
    assert lines[0].startswith(f"Usage: {usage} "), err  # the command's normal usage line
    assert lines[1].startswith("apigrade: error: "), err
    for word in words:
        assert word.lower() in lines[1].lower(), (word, err)


@pytest.mark.parametrize(("argv", "usage", "words"), PARSE_ERRORS, ids=lambda v: repr(v)[:40])
def test_a_bad_command_line_is_the_usage_line_and_one_error_line(
    argv: list[str], usage: str, words: list[str], capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    _check_usage_error(code, err, usage, words)
    assert out == ""


@pytest.mark.parametrize(("argv", "words"), VALUE_ERRORS, ids=lambda v: repr(v)[:40])
def test_a_bad_value_is_one_error_line_naming_it(
    argv: list[str], words: list[str], saved: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(saved.parent)
    code = main(argv)
    out, err = capsys.readouterr()
    lines = _clean(code, err)
    assert len(lines) == 1 and lines[0].startswith("apigrade: error: "), err
    for word in words:
        assert word.lower() in lines[0].lower(), (word, err)
    assert out == ""


@pytest.mark.parametrize(("argv", "usage", "words"), PARSE_ERRORS[:6], ids=lambda v: repr(v)[:40])
def test_the_installed_command_says_the_same(argv: list[str], usage: str, words: list[str]) -> None:
    proc = subprocess.run([APIGRADE, *argv], capture_output=True, text=True, timeout=60)
    _check_usage_error(proc.returncode, proc.stderr, usage, words)


def test_the_installed_command_refuses_control_characters_in_one_line() -> None:
    proc = subprocess.run(
        [APIGRADE, "scan", "http://a\x01b.example/"], capture_output=True, text=True, timeout=60
    )
    lines = _clean(proc.returncode, proc.stderr)
    assert lines == ["apigrade: error: invalid URL 'http://a\\x01b.example/': Invalid "
                     "non-printable ASCII character in URL, '\\x01' at position 8."], lines


def test_typer_usage_errors_are_caught_by_their_base_class() -> None:
    """Whatever Typer raises (click's classes or its vendored copies) is one of ours."""
    assert isinstance(typer.BadParameter("x"), CLICK_USAGE)


def test_a_good_command_line_prints_no_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) and "Usage:" not in err and "error" not in err


def test_bare_apigrade_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Usage: apigrade") and "scan" in out and "error" not in err


# -- crack ---------------------------------------------------------------------------------
def test_crack_errors_go_to_stderr_with_the_prefix() -> None:
    proc = subprocess.run([APIGRADE, "crack", "hello"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("apigrade: error: not a signed cookie"), lines


# -- damaged inputs --------------------------------------------------------------------------
def _one_error_line(code: int, err: str, *words: str) -> str:
    assert code == 2, err
    assert "internal error" not in err and "Traceback" not in err, err
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("Usage: ")]
    assert len(lines) == 1 and lines[0].startswith("apigrade: error: "), err
    for word in words:
        assert word in lines[0], (word, err)
    return lines[0]


@pytest.mark.parametrize("shape", ["[", '{"a":'])
def test_a_100k_deep_report_is_one_line(
    shape: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    close = "]" if shape == "[" else "}"
    path = tmp_path / "deep.json"
    path.write_text(shape * 100_000 + "1" + close * 100_000)
    code = main(["report", str(path)])
    _one_error_line(code, capsys.readouterr().err, "nested too deeply")


@pytest.mark.parametrize("argv", [["schema"], ["report", "scan.json"], ["checks", "-f", "json"]])
def test_a_full_stdout_is_one_line(argv: list[str], saved: Path) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [APIGRADE, *argv], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
            cwd=saved.parent,
        )  # fmt: skip
    assert "Exception ignored" not in proc.stderr, proc.stderr
    _one_error_line(proc.returncode, proc.stderr, "cannot write the output", "No space left")


def _history_db(tmp_path: Path, scans: int = 3) -> tuple[str, list[str]]:
    from apigrade.store import open_store

    url = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    with open_store(url) as store:
        ids = [store.save(_report()).scan_id or "" for _ in range(scans)]
    return url, ids


def _set_created(db: str, scan_id: str, value: object) -> None:
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE scans SET created_at = ? WHERE id = ?", (value, scan_id))


@pytest.mark.parametrize("bad", ["garbage", "2026-12-06 14:t2:49.416767", "", 12345])
def test_one_row_with_a_bad_date_does_not_fail_history(
    bad: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, ids = _history_db(tmp_path)
    _set_created(db, ids[1], bad)
    assert main(["history", "--db", db]) == 0
    out, err = capsys.readouterr()
    assert all(i[:12] in out for i in ids), out  # every row is shown
    row = next(ln for ln in out.splitlines() if ids[1][:12] in ln)
    assert "date unreadable" in row
    assert f"warning: the start date of 1 stored scan(s) is unreadable: {ids[1]}" in err
    assert "internal error" not in err
    assert main(["history", "--db", db, "-f", "json"]) == 0
    rows = {r["scan_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[ids[1]]["started_at"] is None and rows[ids[0]]["started_at"]
    assert main(["show", ids[1], "--db", db, "-f", "json"]) == 0  # the report is intact
    assert json.loads(capsys.readouterr().out)["score"] == 100


def test_good_dates_are_read_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, ids = _history_db(tmp_path, scans=2)
    assert main(["history", "--db", db]) == 0
    out, err = capsys.readouterr()
    assert "unreadable" not in out + err and out.count(" 20") >= 2


def test_bit_flips_in_the_history_database_never_read_internal_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Flip bits across the file and in every stored date: each command works or says one line."""
    db, ids = _history_db(tmp_path)
    path = Path(db.removeprefix("sqlite:///"))
    for suffix in ("-wal", "-shm"):  # checkpointed by the close; the file alone is the database
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    clean = path.read_bytes()
    dates = [i for i in range(len(clean)) if clean.startswith(b"20", i) and clean[i + 4 : i + 5] == b"-"]
    spots = [0, 20, 100, 1000, len(clean) // 2, len(clean) - 10] + [d + k for d in dates for k in (3, 12, 17, 22)]
    outcomes = set()
    for pos in spots:
        if pos >= len(clean):
            continue
        for bit in (1, 6):
            damaged = bytearray(clean)
            damaged[pos] ^= 1 << bit
            flipped = tmp_path / f"flip-{pos}-{bit}.sqlite3"
            flipped.write_bytes(bytes(damaged))
            for argv in (["history"], ["show", ids[0], "-f", "json"], ["diff", ids[0], ids[1]]):
                code = main([*argv, "--db", f"sqlite:///{flipped}"])
                out, err = capsys.readouterr()
                assert "internal error" not in err and "Traceback" not in err, (pos, bit, argv, err)
                assert code in (0, 2), (pos, bit, argv, err)
                if code == 2:
                    assert len([ln for ln in err.splitlines() if "error" in ln]) == 1, err
                outcomes.add(code)
    assert 0 in outcomes  # most flips leave the commands working


def test_a_database_that_is_not_one_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "noise.sqlite3"
    path.write_bytes(os.urandom(8192))
    code = main(["history", "--db", f"sqlite:///{path}"])
    _one_error_line(code, capsys.readouterr().err, "history database")
