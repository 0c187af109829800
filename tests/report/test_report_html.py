"""The HTML report: self-contained, strict CSP, and inert in a real headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from reportdata import (
    CHROMIUM,
    EFFECTS,
    SCRIPT,
    chromium,
    demo_report,
    hostile_report,
    make_report,
)

from apigrade.report.html import render_html


@pytest.fixture
def chromium_installed() -> None:
    """Fail, never skip, without Chromium: a skip in CI would hide that the browser test stopped."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"needs {CHROMIUM}: apt-get install -y chromium chromium-driver "
                    "(.ci/run installs it)", pytrace=False)  # fmt: skip


needs_chromium = pytest.mark.usefixtures("chromium_installed")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "style") else None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        self._in = None


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def _sha(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_self_contained_with_a_strict_csp() -> None:
    page = render_html(demo_report())
    tags = _parse(page)
    names = [t for t, _ in tags.tags]
    for tag in ("img", "link", "iframe", "object", "embed", "image", "use", "a", "form"):
        assert tag not in names, tag
    for tag, attrs in tags.tags:
        for attr in ("src", "href", "xlink:href", "srcset", "action", "style", "background"):
            assert attr not in attrs, (tag, attr)
        assert not any(a.startswith("on") for a in attrs), tag
    assert names.count("script") == 1 and names.count("style") == 1
    csp = next(
        a["content"] for t, a in tags.tags if a.get("http-equiv") == "Content-Security-Policy"
    )
    assert csp is not None and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert f"script-src '{_sha(tags.scripts[0])}'" in csp
    assert f"style-src '{_sha(tags.styles[0])}'" in csp
    own = tags.styles[0] + tags.scripts[0]
    assert not re.search(r"url\(|@import|fetch|XMLHttpRequest|import\(|https?:|innerHTML", own)


def test_content_grade_categories_findings_and_fixes() -> None:
    report = demo_report()
    page = render_html(report)
    assert f">{report.grade}</text>" in page and f"{report.score}/100" in page
    for name in report.categories:
        assert f">{name}</text>" in page
    for f in report.findings:
        assert f'data-severity="{f.severity.value}"' in page
    assert page.count('<article class="finding') == len(report.findings)
    assert "Environment file (.env)" in page and "<code>.env</code>" in page  # `code` in fixes
    assert 'id="filter-category"' in page and "Score over time" not in page
    assert render_html(report) == page  # deterministic: same report, same bytes


def test_trend_hook_draws_history() -> None:
    trend = [("2026-11-01", 35), ("2026-11-15", 62), ("2026-11-29", 91)]
    page = render_html(demo_report(), trend=trend)
    assert "Score over time" in page and "<polyline" in page
    assert "2026-11-01" in page and "2026-11-29: 91" in page
    single = render_html(demo_report(), trend=[("2026-11-29", 50)])
    assert "<polyline" not in single and "<circle cx=" in single


def test_target_text_is_escaped_in_the_source() -> None:
    page = render_html(hostile_report())
    tags = _parse(page)
    names = [t for t, _ in tags.tags]
    assert names.count("script") == 1 and "img" not in names and "iframe" not in names
    assert "svg" in names and all("onload" not in a for t, a in tags.tags if t == "svg")
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;" in page
    assert "{{ 7*191 }}" in page and "1337" not in page  # data is never a template
    for ch in ("\x1b", "\x07", "\x9b", "\x00", "\u202e"):
        assert ch not in page
    assert "\\x1b[2J" in page  # controls are shown, visibly


@needs_chromium
def test_chromium_screenshot_of_the_demo_report(tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    html.write_text(render_html(demo_report()), encoding="utf-8")
    shot = tmp_path / "report.png"
    proc = chromium(f"--screenshot={shot}", "--window-size=1280,2000", html.as_uri())
    assert shot.is_file(), proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    pixels = zlib.decompress(b"".join(_chunks(data, b"IDAT")))
    assert len(set(pixels[::97])) > 20  # a rendered page, not a blank canvas


def _chunks(png: bytes, kind: bytes) -> list[bytes]:
    out, i = [], 8
    while i < len(png):
        (length,) = struct.unpack(">I", png[i : i + 4])
        if png[i + 4 : i + 8] == kind:
            out.append(png[i + 8 : i + 8 + length])
        i += 12 + length
    return out


@needs_chromium
def test_injection_canary_never_runs_in_chromium(tmp_path: Path) -> None:
    html = tmp_path / "hostile.html"
    html.write_text(render_html(hostile_report()), encoding="utf-8")
    proc = chromium("--dump-dom", "--virtual-time-budget=2000", html.as_uri())
    dom = proc.stdout
    assert "</html>" in dom, proc.stderr[-2000:]
    assert 'data-ready="1"' in dom  # our own script ran (CSP allows it) ...
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title and title.group(1).startswith("apigrade report: grade")
    for effect in EFFECTS:  # ... and nothing the target supplied did
        assert effect not in dom, effect
    assert "PWNED-IFRAME" not in title.group(1) and "<iframe" not in dom
    assert dom.count("<script") == 1 and "<img" not in dom
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom  # shown as text
    assert 'id="filters"' in dom and 'id="filters" hidden' not in dom


@needs_chromium
def test_filters_work_in_chromium(tmp_path: Path) -> None:
    from reportdata import finding

    report = make_report([
        finding(severity="high", title="High one"),
        finding(severity="low", title="Low one", check_id="headers.missing-nosniff"),
    ])  # fmt: skip
    page = render_html(report).replace(
        'value="low" checked',
        'value="low"',  # as if the user unticked "low"
    )
    html = tmp_path / "filters.html"
    html.write_text(page, encoding="utf-8")
    dom = chromium("--dump-dom", html.as_uri()).stdout
    assert "1 of 2 shown" in dom
    low = re.search(r'<article[^>]*data-severity="low"[^>]*>', dom)
    assert low and "hidden" in low.group(0)
    assert SCRIPT not in dom
