"""Which endpoints are AI chat or completion endpoints, and how to put a prompt into them.

An endpoint counts when a path segment names it (``/chat``, ``/v1/chat/completions``,
``/ask``, ``/assistant`` ...) or when it takes a ``prompt``, ``messages`` or ``question``
parameter. The prompt goes into the first of ``messages`` (as an OpenAI-style message
list), ``prompt``, ``question``, ``message``, ``input``, ``query``, ``q``, ``text``,
``content`` that the endpoint has; an OpenAI-style path without known parameters gets
``{"messages": [...]}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from apigrade import rx
from apigrade.checks.common.slots import build_body, build_url, get_endpoints
from apigrade.checks.context import CheckContext
from apigrade.discovery.model import Endpoint, Param
from apigrade.engine.http import Exchange, Probe

_AI_SEGMENT = rx.compile(
    r"^(?:chat|chats|chatbot|completions?|ask|prompts?|llm|assistants?|conversations?|gpt|"
    r"copilot|ai|bot|genai|rag)$",
    rx.I,
)
PROMPT_NAMES = ("messages", "prompt", "question", "message", "input", "query", "q", "text",
                "content", "user_input", "instruction")  # fmt: skip
_STRONG_NAMES = frozenset({"messages", "prompt", "question"})
_BODY_HINT = rx.compile(r'"(?:messages|prompt|question)"\s*:|(?:^|[?&])(?:prompt|question)=')


def ai_path(url: str) -> bool:
    return any(_AI_SEGMENT.match(seg) for seg in urlsplit(url).path.split("/"))


def is_ai_endpoint(ep: Endpoint) -> bool:
    return ai_path(ep.url) or any(p.name.lower() in _STRONG_NAMES for p in ep.params)


def is_ai_exchange(ex: Exchange) -> bool:
    """An answer of an AI endpoint: by its path, or by the prompt the request carried."""
    if ai_path(ex.url):
        return True
    body = (ex.probe.body or b"")[:5000].decode("utf-8", "replace")
    return bool(_BODY_HINT.search(body) or _BODY_HINT.search(urlsplit(ex.probe.url).query))


@dataclass(frozen=True)
class Chat:
    """An AI endpoint and the parameter its prompt goes into (None: OpenAI messages)."""

    endpoint: Endpoint
    param: Param | None

    @property
    def method(self) -> str:
        return self.endpoint.method.upper()

    def probe(self, prompt: str) -> Probe | None:
        ep, p = self.endpoint, self.param
        if p is not None and p.location in ("query", "path"):
            url = build_url(ep, {(p.location, p.name): quote(prompt, safe="")})
            return None if url is None else Probe(url=url, method=self.method,
                                                  follow_redirects=False)  # fmt: skip
        url = build_url(ep, {})
        if url is None:
            return None
        if p is not None and p.location == "form":
            body, ctype = build_body(ep, "form", p.name, prompt)
        elif p is None or p.name.lower() == "messages":
            fields: dict[str, object] = json.loads(build_body(ep, "body", "messages", "")[0])
            fields["messages"] = [{"role": "user", "content": prompt}]
            body, ctype = json.dumps(fields).encode(), "application/json"
        else:
            body, ctype = build_body(ep, "body", p.name, prompt)
        return Probe(url=url, method=self.method, headers=(("Content-Type", ctype),),
                     body=body, follow_redirects=False)  # fmt: skip


def _prompt_param(ep: Endpoint) -> Param | None:
    by_name = {p.name.lower(): p for p in ep.params if p.location in ("query", "body", "form")}
    return next((by_name[n] for n in PROMPT_NAMES if n in by_name), None)


def chats(ctx: CheckContext, methods: tuple[str, ...]) -> list[Chat]:
    """AI endpoints with a place for a prompt, GET before POST."""
    out = []
    for ep in get_endpoints(ctx, methods):
        if not is_ai_endpoint(ep):
            continue
        param = _prompt_param(ep)
        if param is None and not (ep.method.upper() == "POST" and "completions" in ep.url):
            continue
        out.append(Chat(ep, param))
    return sorted(out, key=lambda c: (c.method != "GET", c.endpoint.url))
