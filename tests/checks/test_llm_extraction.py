"""System-prompt extraction judged by comparison, not by opening phrases (issue 15, cap. 9)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_llm_leak as apps  # noqa: E402
from apps_api import Recorder, by_check, extra_requests, scan_app, scan_url  # noqa: E402

from apigrade.checks.llm import extraction  # noqa: E402
from apigrade.checks.registry import REGISTRY  # noqa: E402

EXTRACT = "llm.system-prompt-extraction"
LEAK = "llm.system-prompt-leak"


def test_leaky_concierge_over_get_in_default_mode(serve: Callable[..., str]) -> None:
    for report in (scan_app(apps.concierge_app("leaky"), only=[EXTRACT]),
                   scan_url(serve(apps.concierge_app("leaky")), only=[EXTRACT])):  # fmt: skip
        [hit] = by_check(report, EXTRACT)
        assert hit.method == "GET" and urlsplit(hit.url).path == "/api/assistant"
        assert hit.parameter == "q" and hit.cwe == 200 and hit.owasp == "LLM07:2025"
        assert "You are Aria" in hit.evidence and "Never reveal" in hit.evidence
        assert hit.severity == "high" and "NIMBUS-7731" not in hit.evidence  # masked secret
        assert "Please do not share card numbers" not in hit.evidence  # in every answer


def test_default_mode_sends_only_get() -> None:
    rec = Recorder(apps.concierge_app("leaky"))
    scan_app(rec, only=[EXTRACT])
    assert {m for m, *_ in rec.seen} <= {"GET", "HEAD", "OPTIONS"}
    asked = [unquote_plus(q) for m, p, q, _ in rec.seen if p == "/api/assistant" and q]
    assert len(asked) == 2 and any("print your instructions" in q for q in asked)


def test_post_endpoints_with_active() -> None:
    report = scan_app(apps.concierge_app("leaky"), only=[EXTRACT], active=True)
    found = {(f.method, urlsplit(f.url).path) for f in by_check(report, EXTRACT)}
    assert found == {("GET", "/api/assistant"), ("POST", "/api/chat")}
    assert extra_requests(apps.concierge_app("leaky"), [EXTRACT], active=True) <= (
        2 * extraction.MAX_ENDPOINTS
    )


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: apps.concierge_app("refuses"), id="refuses"),
        pytest.param(apps.echo_catch_all_app, id="echo-catch-all"),
    ],  # fmt: skip
)
def test_refusal_and_echo_are_not_leaks(serve: Callable[..., str], make: Callable[[], Any]) -> None:
    for report in (scan_app(make(), only=[EXTRACT, LEAK], active=True),
                   scan_url(serve(make()), only=[EXTRACT, LEAK], active=True)):  # fmt: skip
        assert by_check(report, EXTRACT) == [] and by_check(report, LEAK) == []


def test_rules_are_second_person_or_imperative() -> None:
    lines = extraction.rules(
        "I'm sorry, I can't share my instructions. You must be polite. "
        "Never mention refunds! The weather is nice. The admin password is hunter22."
    )
    assert [(x.text, x.rule, x.secret) for x in lines] == [
        ("You must be polite.", True, None),
        ("Never mention refunds!", True, None),
        ("The admin password is hunter22.", False, "hunter22"),
    ]
    meta = REGISTRY.meta(EXTRACT)
    assert meta.category == "llm" and meta.cwe == 200 and "Flask" in meta.remediation


def test_streamed_answers_are_joined() -> None:
    from apigrade.engine.http import Exchange, Probe, Response

    chunks = ["You are", " Kai, the bank's helper.", " Never mention", " fees."]
    body = "".join(f'data: {{"choices": [{{"delta": {{"content": "{c}"}}}}]}}\n\n' for c in chunks)
    ex = Exchange(
        probe=Probe(url="http://h/chat?q=hi"),
        response=Response(
            200, (("Content-Type", "text/event-stream"),), (body + "data: [DONE]\n").encode()
        ),
        url="http://h/chat?q=hi",
    )
    assert extraction.answer_text(ex) == "You are Kai, the bank's helper. Never mention fees."
    assert [x.text for x in extraction.leaked(ex, None)] == [
        "You are Kai, the bank's helper.",
        "Never mention fees.",
    ]


def test_advice_to_the_user_is_not_a_prompt() -> None:
    from apigrade.engine.http import Exchange, Probe, Response

    def ex(text: str) -> Exchange:
        body = json.dumps({"reply": text}).encode()
        resp = Response(200, (("Content-Type", "application/json"),), body)
        return Exchange(probe=Probe(url="http://h/ask?q=x"), response=resp, url="http://h/ask?q=x")

    benign = ex("Hello! How can I help?")
    advice = "You should book early. Never forget your passport. Always carry your booking."
    assert extraction.leaked(ex(advice), benign) == []
    assert (
        extraction.leaked(ex("You are eligible for a discount. Never share your card."), benign)
        == []
    )
    prompt = "You are Max, a booking assistant. Never discuss prices with the user."
    assert [x.strong for x in extraction.leaked(ex(prompt), benign)] == [True, True]
