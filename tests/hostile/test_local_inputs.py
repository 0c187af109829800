"""Local inputs are read with size limits and streamed where they can be large (issue 12).

``--spec FILE``, ``apigrade report FILE``, scan-many targets files and wordlists: an
endless device (``/dev/zero``), a file far over the limit and a wordlist made of one
giant line all end quickly, with bounded memory (peak RSS of the process, measured),
and, where the input is refused, exit 2 with one line naming the file and the limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "crack"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_server import MEASURED_CLI  # noqa: E402

from apigrade.crack.candidates import WordlistFile  # noqa: E402
from apigrade.errors import UsageError  # noqa: E402
from apigrade.localfiles import (  # noqa: E402
    REPORT_LIMIT,
    SPEC_LIMIT,
    WORD_LIMIT,
    check_streamable,
    read_limited,
)
from rawhttp import RawServer, http_response  # noqa: E402

ZERO = "/dev/zero"
#: generous bound on a refused input's peak RSS (the interpreter and apigrade's imports
#: alone take ~100 MiB; the old code grew to GBs within seconds)
PEAK_MIB = 400
SECONDS = 60

MEASURED = MEASURED_CLI  # the CLI, recording its own peak RSS (hostile_server.py)

pytestmark = pytest.mark.skipif(not os.path.exists(ZERO), reason="needs /dev/zero")


def measured(tmp_path: Path, *args: str, stdin: str | None = None) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """(process, seconds, peak RSS in MiB) of ``apigrade ARGS``."""
    peak = tmp_path / "peak"
    t0 = time.monotonic()
    with open(stdin or os.devnull, "rb") as fh:
        proc = subprocess.run([sys.executable, "-c", MEASURED, str(peak), *args], stdin=fh,
                              capture_output=True, timeout=SECONDS * 3)  # fmt: skip
    took = time.monotonic() - t0
    text = subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode(errors="replace"),
                                       proc.stderr.decode(errors="replace"))  # fmt: skip
    return text, took, int(peak.read_text()) / 1024


def usage_line(proc: subprocess.CompletedProcess[str], stream: str = "stderr") -> str:
    out = getattr(proc, stream)
    assert proc.returncode == 2, (proc.returncode, proc.stderr, proc.stdout)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in out.strip().splitlines() if "error" in ln]
    assert len(lines) == 1, out
    return lines[0]


@pytest.fixture
def target() -> Iterator[RawServer]:
    page = b"<html><head><title>t</title></head><body>ok</body></html>"
    srv = RawServer(lambda line: http_response(200, page, {"Content-Type": "text/html"}))
    yield srv
    srv.close()


def test_spec_from_dev_zero(tmp_path: Path, target: RawServer) -> None:
    proc, took, peak = measured(tmp_path, "scan", target.url, "--spec", ZERO, "--no-store")
    line = usage_line(proc)
    assert ZERO in line and "20 MiB" in line
    assert took < SECONDS and peak < PEAK_MIB, (took, peak)


def test_spec_file_far_over_the_limit_is_refused_unread(tmp_path: Path, target: RawServer) -> None:
    big = tmp_path / "spec.json"
    with big.open("wb") as fh:
        fh.truncate(8 * SPEC_LIMIT)  # sparse: costs no disk
    proc, took, peak = measured(tmp_path, "scan", target.url, "--spec", str(big), "--no-store")
    assert "spec.json" in usage_line(proc) and took < SECONDS and peak < PEAK_MIB


def test_report_from_dev_zero_and_from_endless_stdin(tmp_path: Path) -> None:
    for args, stdin in ((("report", ZERO), None), (("report", "-"), ZERO)):
        proc, took, peak = measured(tmp_path, *args, stdin=stdin)
        line = usage_line(proc)
        assert "20 MiB" in line and "report" in line
        assert took < SECONDS and peak < PEAK_MIB, (args, took, peak)


def test_scan_many_targets_file_from_dev_zero(tmp_path: Path) -> None:
    proc, took, peak = measured(tmp_path, "scan-many", ZERO, "--no-store")
    line = usage_line(proc)
    assert ZERO in line and "targets file" in line and "MiB" in line
    assert took < SECONDS and peak < PEAK_MIB


def test_scan_wordlist_from_dev_zero(tmp_path: Path) -> None:
    proc, took, peak = measured(tmp_path, "scan", "http://127.0.0.1:9/", "--wordlist", ZERO,
                                "--no-store")  # fmt: skip
    line = usage_line(proc)
    assert ZERO in line and "not a regular file" in line
    assert took < SECONDS and peak < PEAK_MIB


def test_crack_wordlist_from_dev_zero(tmp_path: Path) -> None:
    from crack_helpers import flask_cookie

    proc, took, peak = measured(tmp_path, "crack", flask_cookie("k-" + "x" * 20), "--wordlist", ZERO)
    line = usage_line(proc)  # crack reports errors on stderr (issue 13)
    assert proc.stdout == "" and line.startswith("apigrade: error: ")
    assert ZERO in line and "not a regular file" in line
    assert took < SECONDS and peak < PEAK_MIB


def test_crack_streams_a_wordlist_made_of_one_giant_line(tmp_path: Path) -> None:
    from crack_helpers import flask_cookie

    key = "streamed-key-after-a-giant-line"
    words = tmp_path / "words.txt"
    with words.open("wb") as fh:
        fh.truncate(512 * 1024 * 1024)  # 512 MiB of zeros, no newline (sparse)
        fh.seek(0, os.SEEK_END)
        fh.write(b"\n" + key.encode() + b"\n")
    proc, took, peak = measured(tmp_path, "crack", flask_cookie(key), "--wordlist", str(words))
    assert proc.returncode == 0, (proc.stdout, proc.stderr)  # the key after the line is found
    assert key in proc.stdout
    assert took < SECONDS * 2 and peak < PEAK_MIB, (took, peak)


# -- the helpers -------------------------------------------------------------------------
def test_read_limited_reads_up_to_the_limit_and_refuses_more(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 100)
    assert read_limited(path, 100, "spec") == b"a" * 100
    with pytest.raises(UsageError, match=r"spec '.*f' is larger than the 99 bytes limit"):
        read_limited(path, 99, "spec")
    with pytest.raises(UsageError, match="larger than the 20 MiB limit"):
        read_limited(ZERO, REPORT_LIMIT, "report")
    with pytest.raises(UsageError, match="(?i)cannot read spec .*: is a directory"):
        read_limited(tmp_path, 100, "spec")
    with pytest.raises(UsageError, match="cannot read spec .*No such file"):
        read_limited(tmp_path / "missing", 100, "spec")


def test_check_streamable_accepts_regular_files_only(tmp_path: Path) -> None:
    words = tmp_path / "w.txt"
    words.write_text("a\n")
    check_streamable(words, "wordlist")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, why in ((ZERO, "not a regular file"), (fifo, "not a regular file"),
                      (tmp_path, "is a directory"), (tmp_path / "no", "No such file")):  # fmt: skip
        with pytest.raises(UsageError, match=why):
            check_streamable(path, "wordlist")


@pytest.mark.parametrize("lines", [1, 3, 4096])
def test_wordlist_lines_over_the_cap_are_skipped_wherever_they_fall(
    tmp_path: Path, lines: int
) -> None:
    words = tmp_path / "w.txt"
    long_a, long_b = b"x" * (WORD_LIMIT + 1), b"y" * (3 * 65536)
    words.write_bytes(b"a\n" + long_a + b"\nb\r\n" + long_b + b"\nc\n" + b"z" * WORD_LIMIT + b"\n"
                      + long_a)  # fmt: skip
    assert list(WordlistFile(words)) == [b"a", b"b", b"c", b"z" * WORD_LIMIT]
    from apigrade.crack.batch import split_chunk

    got = [w for chunk in WordlistFile(words).chunks(lines) for w in split_chunk(chunk)]
    assert got == [b"a", b"b", b"c", b"z" * WORD_LIMIT]
