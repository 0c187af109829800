"""Finding a system prompt and model names in the answers of AI endpoints (pure).

Used by the passive ``llm.system-prompt-leak`` check (checks.py). Only answers of AI endpoints are read (``endpoints.is_ai_exchange``: an AI path, or a
request that carried a prompt), and never HTML pages, so documentation about prompts
is not reported. Text the request itself carried is not evidence (an echo, or the
scanner's own question).

* ``llm.system-prompt-leak`` (medium): a message with ``"role": "system"``, a field named
  like ``system_prompt``/``instructions`` holding text, chat-template markers
  (``<|im_start|>system``, ``<<SYS>>``), or the usual opening "You are a helpful
  assistant ...".
* ``llm.model-disclosure`` (info): model ids (gpt-4o, claude-..., llama-3 ...).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from apigrade import rx
from apigrade.engine.http import Exchange

MAX_TEXT = 200_000
_PROMPT_TEXT = rx.compile(
    r"\byou are (?:a |an )?(?:helpful|friendly|professional|ai|virtual|customer[- ]support|"
    r"support|expert)\b[^\n\"]{0,60}?\b(?:assistant|agent|bot|chatbot|model|advisor)\b[^\n\"]{0,120}"
    r"|<\|im_start\|>\s*system[^\n]{0,120}|<<SYS>>[^\n]{0,120}|<\|start_header_id\|>system[^\n]{0,120}"
    r"|\b(?:my|the) system prompt (?:is|says|reads)\b[^\n\"]{0,120}",
    rx.I,
)
_PROMPT_KEYS = frozenset({"systemprompt", "system", "systemmessage", "instructions",
                          "preprompt", "prompttemplate", "systeminstructions"})  # fmt: skip
_MODEL = rx.compile(
    r"\b(gpt-4o(?:-mini)?(?:-\d{4}-\d\d-\d\d)?|gpt-4(?:\.1|\.5)?(?:-turbo|-mini|-nano)?|"
    r"gpt-3\.5-turbo(?:-\d+)?|gpt-5(?:-mini|-nano)?|claude-(?:[\w.]+-)*[\w.]+|"
    r"llama-?[234](?:\.\d)?(?:-[\w.]+)?|mistral-(?:large|medium|small|tiny)[\w.-]*|"
    r"mixtral-[\w.-]+|gemini-[\d.]+(?:-[\w.]+)?|command-r(?:-plus)?|deepseek-(?:chat|coder|r1|v3)[\w.-]*|"
    r"qwen[\d.]*-[\w.-]+|phi-[34][\w.-]*)\b",
    rx.I,
)


_NON_ALPHA = rx.compile(r"[^a-z]")


def _norm(key: str) -> str:
    return _NON_ALPHA.sub("", key.lower())


def _prompt_fields(value: Any, depth: int = 0) -> Iterator[str]:
    """Texts of system messages and system-prompt fields in a JSON answer."""
    if depth > 12:
        return
    if isinstance(value, dict):
        if str(value.get("role", "")).lower() == "system" and isinstance(value.get("content"), str):
            yield value["content"]
        for k, v in value.items():
            if _norm(str(k)) in _PROMPT_KEYS and isinstance(v, str) and len(v.split()) >= 4:
                yield v
            elif isinstance(v, dict | list):
                yield from _prompt_fields(v, depth + 1)
    elif isinstance(value, list):
        for v in value[:200]:
            yield from _prompt_fields(v, depth + 1)


def _sent(ex: Exchange) -> str:
    body = (ex.probe.body or b"").decode("utf-8", "replace")
    return (unquote_plus(urlsplit(ex.probe.url).query) + "\n" + body).lower()


def leaks(ex: Exchange) -> tuple[list[str], list[str]]:
    """(system prompt excerpts, model ids) in one answer, minus what the request sent."""
    text = ex.text[:MAX_TEXT]
    sent = _sent(ex)
    prompts: list[str] = []
    try:
        parsed = json.loads(text) if "json" in ex.response.content_type else None
    except (ValueError, RecursionError):
        parsed = None
    prompts += [p for p in _prompt_fields(parsed) if p.lower()[:60] not in sent]
    prompts += [m.group(0) for m in _PROMPT_TEXT.finditer(text) if m.group(0).lower() not in sent]
    models = [m.group(1) for m in _MODEL.finditer(text) if m.group(1).lower() not in sent]
    return list(dict.fromkeys(prompts)), list(dict.fromkeys(models))


def bare(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def clip(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
