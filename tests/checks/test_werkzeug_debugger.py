"""The Werkzeug debugger: resources, console, PIN, trusted hosts, traceback pages."""

from __future__ import annotations

import importlib.metadata
import pkgutil
import re
import sys
from collections.abc import Callable
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from apps_debug import (
    Recorder,
    api_app,
    by_check,
    debugged,
    localhost_only,
    scan_app,
    scan_url,
    unlocked,
)
from werkzeug.debug import DebuggedApplication

from apigrade.checks.misconfiguration.werkzeug_debugger import (
    BAD_VALUE,
    MAX_PROVOKE,
    is_debugger_css,
    is_debugger_js,
    js_version_hint,
    parse_debugger_page,
)
from apigrade.checks.misconfiguration.werkzeug_versions import _worst, applicable
from apps.catchall import create_app as catchall_app
from apps.hardened import create_app as hardened_app

DEBUGGER = "flask.werkzeug-debugger"
UNLOCKED = "flask.werkzeug-console-unlocked"
TRACEBACK = "flask.werkzeug-traceback"
ONLY = [DEBUGGER, TRACEBACK]
VULN = "flask.werkzeug-vulnerable-version"
MINE = [DEBUGGER, UNLOCKED, TRACEBACK, "errors.verbose-error", VULN]


def _version_tuple(text: str) -> tuple[int, int, int]:
    """'2.3.8' -> (2, 3, 8); '3.1.0rc1' -> (3, 1, 0). No packaging dependency."""
    nums = [int(n) for n in re.findall(r"\d+", text)[:3]]
    nums += [0] * (3 - len(nums))
    return (nums[0], nums[1], nums[2])


#: The installed Werkzeug. The trusted-host check of the console and of code execution
#: (CVE-2024-34069 fix) exists from 3.0.3 on; before it, any Host gets the console and
#: traceback pages render EVALEX = true whatever the Host.
WERKZEUG = _version_tuple(importlib.metadata.version("werkzeug"))
HOST_CHECK = WERKZEUG >= (3, 0, 3)


def _expected_js_hint(version: tuple[int, int, int]) -> str:
    """What js_version_hint must say for the debugger.js shipped with ``version``."""
    if version >= (3, 0, 4):
        return ">= 3.0.4"
    if version >= (3, 0, 3):
        return "3.0.3"
    if version >= (2, 0, 0):
        return "2.0 to 3.0.2"
    return "< 2.0"


def _shared(name: str) -> str:
    data = pkgutil.get_data("werkzeug.debug", f"shared/{name}")
    assert data is not None
    return data.decode()


def test_real_debugger_resources_are_recognised_and_lookalikes_are_not() -> None:
    js, css = _shared("debugger.js"), _shared("style.css")
    assert is_debugger_js(js) and is_debugger_css(css)
    assert js_version_hint(js) == _expected_js_hint(WERKZEUG)  # the installed Werkzeug
    page = "<!doctype html><html><body>EVALEX_TRUSTED initPinBox pinauth openShell</body></html>"
    assert not is_debugger_js(page) and not is_debugger_css(page)
    assert not is_debugger_js("body { color: red }") and not is_debugger_css(js)


def test_pin_protected_debugger_is_high_in_process() -> None:
    report = scan_app(debugged(), only=ONLY)
    [hit] = by_check(report, DEBUGGER)
    assert hit.severity == "high" and hit.cwe == 489 and hit.category == "misconfiguration"
    assert "debugger.js served" in hit.evidence and "locked by PIN" in hit.evidence
    if HOST_CHECK:
        # in-process the Host is "testserver": Werkzeug >= 3.0.3 refuses it, localhost gets
        # the console
        assert (
            "restricted to trusted hosts" in hit.evidence
            and "400 for Host testserver" in hit.evidence
        )
    else:
        # before 3.0.3 there is no host check: "testserver" gets the console directly
        assert "restricted to trusted hosts" not in hit.evidence
        assert "400 for Host" not in hit.evidence
        assert "answered for the target's own Host header" in hit.evidence
        assert "reachable at http://testserver/console" in hit.evidence
    assert not by_check(report, UNLOCKED)
    traces = by_check(report, TRACEBACK)
    paths = {urlsplit(t.url).path for t in traces}
    assert "/api/items" in paths and any(p.startswith("/api/orders/") for p in paths)
    for t in traces:
        assert t.cwe == 209 and t.category == "data-exposure" and t.owasp == "API8:2023"
        assert "ValueError" in t.evidence and "apps_debug.py" in t.evidence


def test_pin_protected_debugger_over_a_socket_is_not_host_restricted(
    serve: Callable[..., str],
) -> None:
    url = serve(debugged())
    report = scan_url(url, only=ONLY)
    [hit] = by_check(report, DEBUGGER)
    assert hit.severity == "high"
    assert "reachable at" in hit.evidence and "/console" in hit.evidence
    assert "answered for the target's own Host header" in hit.evidence  # 127.0.0.1 is a trusted host
    assert by_check(report, TRACEBACK)


@pytest.mark.skipif(
    not HOST_CHECK,
    reason="DebuggedApplication.trusted_hosts (the console Host check) exists only in "
    f"Werkzeug >= 3.0.3; installed {'.'.join(map(str, WERKZEUG))}",
)
def test_trusted_hosts_restriction_is_reported(serve: Callable[..., str]) -> None:
    url = serve(localhost_only())
    report = scan_url(url, only=ONLY)
    [hit] = by_check(report, DEBUGGER)
    netloc = urlsplit(url).netloc
    assert "restricted to trusted hosts" in hit.evidence
    assert f"400 for Host {netloc}" in hit.evidence and "Host: localhost" in hit.evidence


def test_debugger_without_pin_is_critical(serve: Callable[..., str]) -> None:
    for report in (scan_app(unlocked(), only=ONLY), scan_url(serve(unlocked()), only=ONLY)):
        [hit] = by_check(report, UNLOCKED)
        assert hit.severity == "critical" and hit.cwe == 489
        assert "NO PIN (EVALEX_TRUSTED = true)" in hit.evidence
        assert not by_check(report, DEBUGGER)  # one finding for one problem
        assert report.score < 40


def test_frames_that_run_code_without_pin_are_critical_even_without_console() -> None:
    # No /console, PIN off; in-process the Host is untrusted, so (Werkzeug >= 3.0.3) the
    # traceback page says EVALEX = false until asked again with Host: localhost.
    report = scan_app(debugged(pin_security=False, console_path=None), only=ONLY)
    [hit] = by_check(report, UNLOCKED)
    assert hit.severity == "critical"
    assert "interactive console: not found at /console" in hit.evidence
    if HOST_CHECK:
        assert "with Host: localhost (EVALEX = true, EVALEX_TRUSTED = true)" in hit.evidence
    else:
        # before 3.0.3 the page runs code for any Host: no second request was needed
        assert "with Host: localhost" not in hit.evidence
        assert "(EVALEX = true, EVALEX_TRUSTED = true)" in hit.evidence


def test_debugger_without_evalex_is_medium() -> None:
    app = api_app()
    app.debug = True
    report = scan_app(DebuggedApplication(app, evalex=False), only=ONLY)
    [hit] = by_check(report, DEBUGGER)
    assert hit.severity == "medium" and "not found at /console" in hit.evidence
    assert not by_check(report, UNLOCKED) and by_check(report, TRACEBACK)


def _debugger_commands(recorder: Recorder) -> list[str | None]:
    cmds = []
    for _, _, query in recorder.seen:
        params = dict(parse_qsl(query, keep_blank_values=True))
        if "__debugger__" in params:
            cmds.append(params.get("cmd"))
            assert "frm" not in params and "s" not in params and "pin" not in params
    return cmds


def test_scanner_never_asks_for_pin_or_code_execution() -> None:
    # Every registered check, active mode, against a debugger with no PIN: the worst case.
    recorder = Recorder(unlocked())
    scan_app(recorder, active=True)
    cmds = _debugger_commands(recorder)
    assert cmds and set(cmds) == {"resource"}  # never pinauth, printpin or code


def test_provoking_requests_are_capped() -> None:
    recorder = Recorder(unlocked())
    scan_app(recorder, only=MINE, active=True)
    provoking = [
        (m, p, q) for m, p, q in recorder.seen if BAD_VALUE in unquote(p + q) or m == "POST"
    ]
    assert 0 < len(provoking) <= MAX_PROVOKE


def test_bad_json_is_sent_only_with_active() -> None:
    passive_rec, active_rec = Recorder(debugged()), Recorder(debugged())
    scan_app(passive_rec, only=ONLY)
    report = scan_app(active_rec, only=ONLY, active=True)
    assert not [m for m, _, _ in passive_rec.seen if m not in ("GET", "HEAD", "OPTIONS")]
    assert ("POST", "/api/notes", "") in active_rec.seen
    assert "/api/notes" in {urlsplit(t.url).path for t in by_check(report, TRACEBACK)}


def test_traceback_page_is_parsed() -> None:
    from werkzeug.test import Client

    resp = Client(debugged()).get(f"/api/items?limit={BAD_VALUE}")
    page = parse_debugger_page(resp.get_data(as_text=True))
    assert page is not None and not page.console
    assert page.evalex and not page.evalex_trusted  # Host "localhost" is trusted; PIN on
    assert "ValueError" in page.plaintext and 'File "' in page.plaintext


def test_no_findings_without_the_debugger(serve: Callable[..., str]) -> None:
    # Over a socket the dev server's banner names the installed Werkzeug: on a release with
    # advisories (e.g. 2.x, before the 3.0.3 fix) the version finding is correct and is the
    # only one allowed. In-process there is no banner, so nothing at all.
    py = (sys.version_info[0], sys.version_info[1], sys.version_info[2])
    advs = applicable(WERKZEUG, py)
    advisories = {a.cve for a in advs}
    for app in (api_app(), catchall_app(), hardened_app()):
        report = scan_app(app, only=MINE)
        assert not [f for f in report.findings if f.check_id in MINE], report.findings
        report = scan_url(serve(app), only=MINE)
        mine = [f for f in report.findings if f.check_id in MINE]
        if not advisories:
            assert not mine, report.findings
            continue
        [hit] = mine
        assert hit.check_id == VULN, report.findings
        assert hit.severity == _worst(advs, debugger=False)  # version-only evidence
        assert f"Werkzeug/{importlib.metadata.version('werkzeug')}" in hit.evidence
        for cve in advisories:
            assert cve in hit.evidence
        if WERKZEUG < (3, 0, 3):
            assert "CVE-2024-34069" in hit.evidence and "only if the debugger is on" in hit.evidence
