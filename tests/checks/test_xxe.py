"""XXE: entity expansion in-band, external entities on the scanner's loopback receiver."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apigrade.checks.input_validation import xxe
from apigrade.discovery.model import Endpoint
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import apps_xxe as apps  # noqa: E402

from apps import catchall  # noqa: E402
from conftest import scan_app  # noqa: E402

CHECKS = (xxe.CHECK, xxe.EXPANSION)
Both = Callable[..., tuple[ScanReport, ScanReport]]
SPEC = "/openapi.json"


def _mine(report: ScanReport) -> dict[tuple[str, str], Any]:
    return {(f.check_id, f.url.rsplit("/", 1)[-1]): f for f in report.findings
            if f.check_id in CHECKS}  # fmt: skip


def test_documents_never_contain_their_proof() -> None:
    target = xxe.Target(Endpoint(url="http://t/x", method="POST"))
    for _ in range(20):
        m = xxe.Split.new()
        for doc in (xxe.internal_doc(target, m), xxe.parameter_doc(target, m)):
            assert m.joined not in doc and m.head in doc and m.tail in doc
    doc = xxe.external_general_doc(target, "http://127.0.0.1:1/apigrade-xxe-x-0-ge")
    assert "file:" not in doc and 'SYSTEM "http://127.0.0.1:1/' in doc


def test_entities_and_external_fetch(scan_both: Both) -> None:
    app = apps.flawed_app()
    for report in scan_both(app, only=[xxe.CHECK], active=True):
        found = _mine(report)
        expansion = found[(xxe.EXPANSION, "import")]
        assert expansion.severity == "high" and expansion.confidence == "firm"
        assert "expanded too" in expansion.evidence and expansion.cwe == 611
        form = found[(xxe.EXPANSION, "parse")]  # a form field named xml
        assert form.parameter == "xml" and form.method == "POST" and form.severity == "high"
        external = found[(xxe.CHECK, "feed")]  # xml.sax with external entities on: blind
        assert external.severity == "high" and external.confidence == "certain"
        assert "127.0.0.1" in external.evidence and external.method == "POST"
        assert "defusedxml" in external.remediation and "resolve_entities=False" in (
            external.remediation
        )
        assert not any(k[1] == "notes" for k in found)  # a JSON endpoint
        assert (xxe.EXPANSION, "feed") not in found  # blind: nothing comes back


def test_stdlib_expat_is_only_low() -> None:
    found = _mine(scan_app(apps.stdlib_app(), only=[xxe.CHECK], active=True))
    assert set(found) == {(xxe.EXPANSION, "import")}
    f = found[(xxe.EXPANSION, "import")]
    assert f.severity == "low" and "not expanded" in f.evidence


def test_nothing_without_active() -> None:
    report = scan_app(apps.flawed_app(), only=[xxe.CHECK])
    assert _mine(report) == {}


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(apps.fixed_app, id="defusedxml"),
        pytest.param(catchall.create_app, id="catch-all"),
    ],
)
def test_no_false_alarms(scan_both: Both, make: Callable[[], Any]) -> None:
    for report in scan_both(make(), only=[xxe.CHECK], active=True):
        assert _mine(report) == {}


def test_request_bound() -> None:
    app = apps.flawed_app()
    discovery = scan_app(app, only=[], active=True).requests_sent
    report = scan_app(app, only=[xxe.CHECK], active=True)
    # each probe is one request; the receiver's answers count too
    assert report.requests_sent - discovery <= xxe.MAX_TARGETS * 4 * 2
