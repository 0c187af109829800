"""The HTML report of a stored target carries its score trend (scan and show)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from apigrade.demo.app import create_app


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apigrade", *args], capture_output=True, text=True, timeout=120
    )


def test_html_report_shows_the_score_trend(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = serve(create_app())
    db = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    first = cli("scan", url, "--db", db, "-f", "json", "-o", str(tmp_path / "a.json"))
    assert first.returncode == 0, first.stderr
    html = tmp_path / "b.html"
    second = cli("scan", url, "--db", db, "-f", "html", "-o", str(html))
    assert second.returncode == 0, second.stderr
    assert "Score over time" in html.read_text()
    single = tmp_path / "single.html"
    other = cli("scan", url + "api/items", "--db", db, "-f", "html", "-o", str(single))
    assert other.returncode == 0
    assert "Score over time" not in single.read_text()  # one scan of that target: no chart
