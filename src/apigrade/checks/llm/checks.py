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
)


@passive(
    id="llm.system-prompt-leak",
    title="AI endpoint discloses its system prompt",
    category="llm",
    severity=Severity.MEDIUM,
    confidence=Confidence.FIRM,
    cwe=200,
    owasp="LLM07:2025",
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
