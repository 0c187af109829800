"""AI endpoints (OWASP LLM Top 10 2025): leaked system prompt and model, prompt injection."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api2 as apps  # noqa: E402
from apps_api2 import Recorder, by_check, mine, scan_app, scan_url  # noqa: E402

from apigrade.checks.llm import injection  # noqa: E402
from apigrade.checks.llm.endpoints import ai_path  # noqa: E402

LEAK, MODEL, INJECT = "llm.system-prompt-leak", "llm.model-disclosure", "llm.prompt-injection"
RUN = [LEAK, INJECT]
ALL = [LEAK, MODEL, INJECT]


def test_leaks_are_seen_in_default_mode_without_canaries() -> None:
    rec = Recorder(apps.llm_app("naive"))
    report = scan_app(rec, only=RUN)
    [leak] = by_check(report, LEAK)
    assert urlsplit(leak.url).path == "/api/ask" and leak.owasp == "LLM07:2025"
    assert leak.cwe == 200 and "You are a helpful assistant for ACME" in leak.evidence
    [model] = by_check(report, MODEL)
    assert "gpt-4o-mini" in model.evidence and model.severity == "info"
    assert by_check(report, INJECT) == []
    assert not [s for s in rec.seen if s[0] != "GET"]
    asks = rec.to("GET", "/api/ask")
    assert len(asks) == 1 and "NOTE+TO+THE+AI" not in asks[0][2]  # one harmless question


def test_prompt_injection_with_active(serve: Callable[..., str]) -> None:
    app = apps.llm_app("naive")
    for report in (scan_app(app, only=RUN, active=True),
                   scan_url(serve(app), only=RUN, active=True)):  # fmt: skip
        found = {urlsplit(f.url).path: f for f in by_check(report, INJECT)}
        assert set(found) == {"/api/ask", "/api/chat"}
        chat = found["/api/chat"]
        assert chat.method == "POST" and chat.parameter == "message"
        assert chat.owasp == "LLM01:2025" and chat.cwe == 1427
        assert chat.confidence == "certain" and "answered [APG" in chat.evidence


def test_canaries_are_few_and_spaced() -> None:
    rec = Recorder(apps.llm_app("naive"))
    scan_app(rec, only=[INJECT], active=True)
    canaries = [s for s in rec.seen if s[1] in ("/api/ask", "/api/chat")][1:]  # after the benign
    assert len(canaries) <= injection.MAX_CANARIES
    gaps = [b[4] - a[4] for a, b in zip(canaries, canaries[1:], strict=False)]
    assert gaps and min(gaps) >= 0.2
    bodies = [json.loads(b) for m, _, _, b, _ in canaries if m == "POST"]
    assert all(set(b) == {"message"} for b in bodies)


@pytest.mark.parametrize("mode", ["echo", "guarded"])
def test_echo_and_guarded_endpoints_are_not_reported(mode: str) -> None:
    report = scan_app(apps.llm_app(mode), only=RUN, active=True)
    assert mine(report, ALL) == []


def test_ai_paths() -> None:
    for url in ("http://h/chat", "http://h/v1/chat/completions", "http://h/api/ask"):
        assert ai_path(url), url
    for url in ("http://h/chatter", "http://h/api/tasks", "http://h/askew", "http://h/"):
        assert not ai_path(url), url
