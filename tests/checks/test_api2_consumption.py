"""Unsafe consumption (API10): permissive CORS, open redirects, JSONP callbacks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api2 as apps  # noqa: E402
from apps_api2 import by_check, mine, scan_app, scan_url  # noqa: E402

from apigrade.checks.unsafe_consumption.open_redirect import off_site  # noqa: E402

CORS, NULL, ANY = "cors.reflected-origin", "cors.null-origin", "cors.permissive-origin"
REDIRECT, JSONP = "redirect.open-redirect", "jsonp.callback"
RUN = [CORS, REDIRECT, JSONP]
ALL = [CORS, NULL, ANY, REDIRECT, JSONP]


def test_open_app(serve: Callable[..., str]) -> None:
    app = apps.consumption_app("open")
    for report in (scan_app(app, only=RUN), scan_url(serve(app), only=RUN)):
        [cors] = by_check(report, CORS)
        assert cors.severity == "high" and cors.cwe == 942 and cors.owasp == "API10:2023"
        assert "Origin: https://evil.apigrade.invalid" in cors.evidence
        [null] = by_check(report, NULL)
        assert "Access-Control-Allow-Origin: null" in null.evidence and null.severity == "high"
        assert by_check(report, ANY) == []  # the worse kinds say it already
        [redirect] = by_check(report, REDIRECT)
        assert redirect.parameter == "next" and redirect.cwe == 601
        assert "Location: https://apigrade-redirect.invalid/" in redirect.evidence
        [jsonp] = by_check(report, JSONP)
        assert urlsplit(jsonp.url).path == "/api/profile" and jsonp.parameter == "callback"
        assert "application/javascript" in jsonp.evidence and jsonp.cwe == 942


def test_fixed_app_is_clean() -> None:
    assert mine(scan_app(apps.consumption_app("safe"), only=RUN), ALL) == []


@pytest.mark.parametrize(
    "mode, kind, words",
    [
        ("prefix", CORS, "look-alike"),
        ("wildcard", ANY, "Access-Control-Allow-Origin: *"),
    ],
)
def test_cors_variants(mode: str, kind: str, words: str) -> None:
    report = scan_app(apps.consumption_app(mode), only=RUN)
    [f] = mine(report, ALL)
    assert f.check_id == kind and words in f.evidence
    if kind == ANY:
        assert f.severity == "info"


def test_off_site_resolution() -> None:
    base = "http://h/login?next=x"
    assert off_site(base, "https://apigrade-redirect.invalid/")
    assert off_site(base, "//apigrade-redirect.invalid/")
    assert off_site(base, "/\\apigrade-redirect.invalid/")  # browsers read \ as /
    assert not off_site(base, "/dashboard")
    assert not off_site(base, "/apigrade-redirect.invalid/")
