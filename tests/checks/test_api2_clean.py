"""The part-B checks stay silent on a catch-all SPA and on the hardened app; metadata."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from apps_api2 import mine, scan_app, scan_url  # noqa: E402

from apigrade.checks import load_checks  # noqa: E402
from apigrade.checks.registry import REGISTRY  # noqa: E402
from apps.catchall import create_app as catchall_app  # noqa: E402
from apps.hardened import create_app as hardened_app  # noqa: E402

#: id -> (severity, CWE, OWASP) of every finding kind of part B
KINDS = {
    "sqli.error-based": ("high", 89, "API8:2023"),
    "nosql.operator-injection": ("high", 943, "API8:2023"),
    "redos.user-regex": ("low", 1333, "API8:2023"),
    "ratelimit.auth-attempts": ("medium", 307, "API4:2023"),
    "ratelimit.resource-use": ("low", 770, "API4:2023"),
    "secrets.exposed-secret": ("high", 213, "API3:2023"),
    "exposure.internal-ip": ("low", 497, "API8:2023"),
    "tls.invalid-certificate": ("high", 295, "API8:2023"),
    "tls.legacy-protocol": ("medium", 327, "API8:2023"),
    "tls.weak-cipher": ("medium", 327, "API8:2023"),
    "tls.no-https-redirect": ("medium", 319, "API8:2023"),
    "tls.weak-hsts": ("low", 319, "API8:2023"),
    "tls.mixed-content": ("medium", 319, "API8:2023"),
    "ssrf.url-parameter": ("high", 918, "API7:2023"),
    "cors.reflected-origin": ("high", 942, "API10:2023"),
    "cors.null-origin": ("high", 942, "API10:2023"),
    "cors.permissive-origin": ("info", 942, "API10:2023"),
    "redirect.open-redirect": ("medium", 601, "API10:2023"),
    "jsonp.callback": ("low", 942, "API10:2023"),
    "llm.system-prompt-leak": ("medium", 200, "LLM07:2025"),
    "llm.model-disclosure": ("info", 200, "LLM02:2025"),
    "llm.prompt-injection": ("medium", 1427, "LLM01:2025"),
}


def test_metadata() -> None:
    load_checks()
    for check_id, (severity, cwe, owasp) in KINDS.items():
        meta = REGISTRY.meta(check_id)
        assert (meta.severity.value, meta.cwe, meta.owasp) == (severity, cwe, owasp), check_id
    phases = {c.id: c.phase for c in REGISTRY.checks() if c.id in KINDS}
    assert phases["ratelimit.auth-attempts"] == 2  # runs after everything else
    assert all(p == 1 for i, p in phases.items() if i != "ratelimit.auth-attempts")


@pytest.mark.parametrize("make", [catchall_app, hardened_app], ids=["catch-all", "hardened"])
@pytest.mark.parametrize("active", [False, True], ids=["default", "active"])
def test_silent_in_process(make: Callable[[], Any], active: bool) -> None:
    for base in ("http://testserver/", "https://api.example.test/"):
        report = scan_app(make(), active=active, base_url=base)
        assert mine(report, KINDS) == [], base


@pytest.mark.parametrize("make", [catchall_app, hardened_app], ids=["catch-all", "hardened"])
def test_silent_over_a_socket(serve: Callable[..., str], make: Callable[[], Any]) -> None:
    assert mine(scan_url(serve(make()), active=True), KINDS) == []
