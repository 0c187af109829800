"""SSRF (API7): the scanner's own loopback receiver, or a differential of fetch errors."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api2 as apps  # noqa: E402
from apps_api2 import Recorder, by_check, scan_app, scan_url  # noqa: E402

from apigrade.checks.ssrf import url_fetch  # noqa: E402
from apigrade.checks.ssrf.local import loopback_host  # noqa: E402
from apigrade.engine.receiver import Receiver  # noqa: E402

SSRF = "ssrf.url-parameter"


def _receiver_port(evidence: str) -> int:
    return int(evidence.split("http://127.0.0.1:", 1)[1].split("/", 1)[0])


def test_out_of_band_proof(serve: Callable[..., str]) -> None:
    app = apps.ssrf_app("fetch")
    for report in (scan_app(app, only=[SSRF]), scan_url(serve(app), only=[SSRF])):
        [f] = by_check(report, SSRF)
        assert f.parameter == "url" and urlsplit(f.url).path == "/api/preview"
        assert f.severity == "high" and f.confidence == "certain" and f.cwe == 918
        assert "the scanner's own receiver" in f.evidence and "came back" in f.evidence
        with socket.socket() as s:  # the receiver is gone once the check is done
            assert s.connect_ex(("127.0.0.1", _receiver_port(f.evidence))) != 0


def test_allow_list_is_not_reported() -> None:
    assert by_check(scan_app(apps.ssrf_app("allowlist"), only=[SSRF]), SSRF) == []


def test_only_loopback_and_reserved_urls_are_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    for here in (True, False):
        monkeypatch.setattr(url_fetch, "runs_here", lambda ctx, h=here: h)
        rec = Recorder(apps.ssrf_app("allowlist"))
        scan_app(rec, only=[SSRF])
        sent = [
            dict(parse_qsl(q)).get("url", "") for _, _, q, _, _ in rec.to("GET", "/api/preview")
        ]
        hosts = {urlsplit(u).hostname for u in sent if "://" in u}
        assert hosts <= {"127.0.0.1", "apigrade-probe.invalid"}, hosts
        assert len(sent) <= 1 + (1 if here else 2)  # discovery's own visit + the probes


def test_differential_when_the_target_is_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(url_fetch, "runs_here", lambda ctx: False)
    [f] = by_check(scan_app(apps.ssrf_app("simulated"), only=[SSRF]), SSRF)
    assert f.confidence == "tentative" and "Name or service not known" in f.evidence
    assert "Connection refused" in f.evidence
    # refusing private addresses with its own message: no connection attempt shown
    assert by_check(scan_app(apps.ssrf_app("guarded"), only=[SSRF]), SSRF) == []


def test_receiver_and_scope_helpers() -> None:
    import urllib.request

    with Receiver() as r:
        with urllib.request.urlopen(r.url("apigrade-x"), timeout=2) as resp:
            assert resp.read() == b"apigrade-ssrf-receiver"
        assert r.seen("apigrade-x") and not r.seen("apigrade-y")
    assert loopback_host("127.0.0.1") and loopback_host("localhost") and loopback_host("::1")
    assert not loopback_host("10.0.0.1") and not loopback_host("api.example.com")
