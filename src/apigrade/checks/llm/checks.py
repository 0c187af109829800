"""The AI-endpoint checks: leaked system prompt and model (passive), prompt injection (active).

Registered together so that re-checking a leak (``apigrade verify``) also re-sends the
harmless question that provoked it. Detection lives in leakage.py, the canary flow in
injection.py, endpoint recognition in endpoints.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.llm.endpoints import chats, is_ai_exchange
from apigrade.checks.llm.injection import (
    BENIGN,
    MAX_BENIGN,
    MAX_CANARIES,
    MAX_ENDPOINTS,
    Pacer,
    canaries,
)
from apigrade.checks.llm.leakage import bare, clip, leaks
from apigrade.checks.registry import active, finding_kind, passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

finding_kind(
    id="llm.model-disclosure",
    parent=("llm.prompt-injection", "llm.system-prompt-leak"),
    title="AI endpoint discloses the model it runs",
    category="llm",
    severity=Severity.INFO,
    confidence=Confidence.FIRM,
    cwe=200,
    owasp="LLM02:2025",
    description=(
        "Answers of an AI endpoint name the underlying model (gpt-4o, claude-..., "
        "llama-3 ...). It tells attackers which jailbreaks and prompt-injection tricks to "
        "try and which provider holds the data; harmless on its own."
    ),
    remediation=(
        "Return only the answer text to clients; keep provider responses (`model`, "
        "`usage`, `system_fingerprint`) in server logs."
    ),
    references=("https://genai.owasp.org/llmrisk/llm022025-sensitive-information-disclosure/",),
)


@passive(
    id="llm.system-prompt-leak",
    title="AI endpoint discloses its system prompt",
    category="llm",
    severity=Severity.MEDIUM,
    confidence=Confidence.FIRM,
    cwe=200,
    owasp="LLM07:2025",
    description=(
        "An answer of an AI endpoint carries its system prompt: the hidden instructions "
        '(a `system` message, a `system_prompt` field, or text such as "You are a '
        'helpful assistant for ..."). System prompts often hold business rules, internal '
        "names, discount codes or even keys, and knowing them makes prompt injection "
        "and guard-rail bypasses much easier. Passive: reads answers the scan already got."
    ),
    remediation=(
        "Never return the prompt or the full message list to clients: send back only the "
        "assistant's reply. Keep secrets and authorisation decisions out of prompts "
        "entirely (enforce them in code), and treat the system prompt as public when "
        "designing it, since models can be talked into repeating it."
    ),
    references=(
        "https://genai.owasp.org/llmrisk/llm072025-system-prompt-leakage/",
        "https://cwe.mitre.org/data/definitions/200.html",
    ),
)
def system_prompt_leak(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    ctype = exchange.response.content_type
    if exchange.status >= 400 or "html" in ctype or not is_ai_exchange(exchange):
        return
    if not any(t in ctype for t in ("json", "text/", "event-stream")) and ctype:
        return
    prompts, models = leaks(exchange)
    where = f"{exchange.probe.method} {urlsplit(exchange.url).path} -> {exchange.status}"
    if prompts:
        yield Hit(url=bare(exchange.url), method=exchange.probe.method,
                  evidence=f"{where}; " + " | ".join(clip(p) for p in prompts[:3]))  # fmt: skip
    if models:
        yield Hit(url=bare(exchange.url), method=exchange.probe.method,
                  check="llm.model-disclosure",
                  evidence=f"{where}; model: {', '.join(models[:3])}")  # fmt: skip


@active(
    id="llm.prompt-injection",
    title="AI endpoint follows instructions injected in user data",
    category="llm",
    severity=Severity.MEDIUM,
    confidence=Confidence.FIRM,
    cwe=1427,
    owasp="LLM01:2025",
    description=(
        "The endpoint was given a task on user-supplied text (summarise a review, "
        "translate a ticket) and obeyed an instruction hidden inside that text instead: "
        "it answered with a random code word transformed as the hidden instruction asked. "
        "Anyone who can put text in front of the model (a review, an e-mail, a web page "
        "it reads) can then steer its answers, leak its context or trigger the tools it "
        "may call. Bound: without --active one harmless question per GET AI endpoint (at "
        "most 3); with --active at most 5 canary requests, 200 ms apart."
    ),
    remediation=(
        "Treat model output as untrusted and limit what it can do: keep user data in a "
        "separate, clearly delimited message (never concatenated into the system prompt), "
        "tell the model that data is never instructions, validate output against the "
        "expected format, and give tools least privilege with human approval for "
        "actions. Add an injection classifier (e.g. Llama Guard, Azure Prompt Shields) in "
        "front of the model."
    ),
    references=(
        "https://genai.owasp.org/llmrisk/llm01-prompt-injection/",
        "https://cwe.mitre.org/data/definitions/1427.html",
    ),
)
async def prompt_injection(ctx: CheckContext) -> None:
    gets = chats(ctx, ("GET",))
    for chat in gets[:MAX_BENIGN]:
        probe = chat.probe(BENIGN)
        if probe is not None:
            await ctx.send(probe)
    if not ctx.active:
        return
    pacer = Pacer(MAX_CANARIES)
    for i, chat in enumerate(chats(ctx, ("GET", "POST"))[:MAX_ENDPOINTS]):
        hit = await canaries(ctx, chat, pacer, extract=i == 0)
        if hit is not None:
            ctx.report(hit)
