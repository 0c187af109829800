"""Probe URLs and bodies shared by the injection, SSRF, LLM and rate-limiting checks.

Helpers here turn a discovered :class:`Endpoint` into concrete GET URLs with one
parameter replaced by a payload; everything else keeps its example value. The injection
checks use ``checks/common/injection.py``, whose ``InjectionPoint`` is a ``Slot`` that also
covers path segments, missing paths, headers and cookies.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlencode, urlsplit

from apigrade import rx
from apigrade.engine.http import Probe

if TYPE_CHECKING:
    from apigrade.checks.context import CheckContext
    from apigrade.discovery.model import Endpoint, Param

_NUMERIC_TYPES = frozenset({"integer", "number", "boolean"})


@dataclass(frozen=True)
class Slot:
    """One place a payload goes: a query, path, form or JSON body parameter."""

    endpoint: Endpoint
    name: str
    location: str  # "query" | "path" | "form" | "body" | "graphql" (a GraphQL variable)
    example: str | None = None

    @property
    def method(self) -> str:
        return self.endpoint.method.upper()

    def probe(self, payload: str, *, encoded: bool = False) -> Probe | None:
        """The request carrying ``payload`` in this slot (no redirects followed)."""
        if self.location == "graphql":
            return _graphql_probe(
                self.endpoint, self.name, unquote(payload) if encoded else payload
            )
        if self.location in ("query", "path"):
            url = self.url(payload, encoded=encoded)
            return (
                None if url is None else Probe(url=url, method=self.method, follow_redirects=False)
            )
        url = build_url(self.endpoint, {})
        if url is None:
            return None
        body, ctype = build_body(self.endpoint, self.location, self.name, payload)
        return Probe(url=url, method=self.method, headers=(("Content-Type", ctype),),
                     body=body, follow_redirects=False)  # fmt: skip

    def url(self, payload: str, *, encoded: bool = False) -> str | None:
        """The endpoint's URL with this slot set to ``payload``.

        ``encoded=True`` puts the payload in as-is (already percent-encoded);
        otherwise it is percent-encoded here. None when a path template stays open.
        """
        if self.location == "graphql":
            probe = self.probe(payload, encoded=encoded)
            return None if probe is None else probe.url
        value = payload if encoded else quote(payload, safe="")
        return build_url(self.endpoint, {(self.location, self.name): value})

    def baseline_url(self) -> str | None:
        """The endpoint's URL with every parameter at its example value."""
        return build_url(self.endpoint, {})


def default_value(param: Param) -> str:
    """A harmless value of the parameter's type."""
    if param.example:
        return param.example
    return {"integer": "1", "number": "1", "boolean": "true"}.get(param.type or "", "test")


_TEMPLATE_LEFT = rx.compile(r"\{[^/{}]*\}")


def build_url(ep: Endpoint, overrides: dict[tuple[str, str], str]) -> str | None:
    """Fill path templates and the query; ``overrides`` values are already encoded."""
    url = ep.url
    for p in ep.params_in("path"):
        value = overrides.get(("path", p.name)) or quote(default_value(p), safe="")
        url = url.replace("{" + p.name + "}", value)
    if _TEMPLATE_LEFT.search(urlsplit(url).path):
        return None
    pairs = []
    for p in ep.params_in("query"):
        given = overrides.get(("query", p.name))
        value = quote(default_value(p), safe="") if given is None else given
        pairs.append(f"{quote(p.name, safe='')}={value}")
    return url + ("?" + "&".join(pairs) if pairs else "")


def build_body(ep: Endpoint, location: str, name: str, payload: str) -> tuple[bytes, str]:
    """A form or JSON body with ``name`` set to ``payload``, the rest at example values."""
    fields = {p.name: default_value(p) for p in ep.params_in(location)}
    fields[name] = payload
    if location == "form":
        return urlencode(fields).encode(), "application/x-www-form-urlencoded"
    typed: dict[str, object] = {}
    for p in ep.params_in(location):
        value = fields[p.name]
        typed[p.name] = (
            int(value) if p.name != name and p.type == "integer" and value.isdigit() else value
        )
    return json.dumps(typed).encode(), "application/json"


def get_endpoints(ctx: CheckContext, methods: tuple[str, ...] = ("GET",)) -> list[Endpoint]:
    """Discovered endpoints with one of ``methods`` within scope, one per method and URL
    (and GraphQL operation)."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for ep in ctx.endpoints:
        key = (ep.method.upper(), ep.url, ep.graphql or "")
        if key[0] not in methods or key in seen or not ctx.target.in_scope(ep.url):
            continue
        seen.add(key)
        out.append(ep)
    return out


def slots(endpoints: Iterable[Endpoint], locations: tuple[str, ...] = ("query",)) -> Iterator[Slot]:
    """Every (endpoint, parameter) pair in ``locations``, once per path and name.

    A GraphQL operation's variables (location ``graphql``) count as query parameters:
    they go wherever ``"query"`` is asked for (over GET they are in the query string).
    """
    seen: set[tuple[str, str, str, str, str]] = set()
    wanted = (*locations, "graphql") if "query" in locations else locations
    for ep in endpoints:
        for p in ep.params:
            key = (ep.method.upper(), urlsplit(ep.url).path, p.location, p.name, ep.graphql or "")
            if p.location not in wanted or key in seen:
                continue
            seen.add(key)
            yield Slot(endpoint=ep, name=p.name, location=p.location, example=p.example)


def _graphql_probe(ep: Endpoint, name: str, payload: str) -> Probe | None:
    """A GraphQL operation with variable ``name`` set to ``payload``, the rest at examples."""
    from apigrade.checks.common.graphql import operation_probe

    values = {p.name: default_value(p) for p in ep.params_in("graphql")}
    values[name] = payload
    return operation_probe(ep, values)


_NUMERIC = rx.compile(r"-?\d+(?:\.\d+)?")


def is_numeric(param_type: str | None, example: str | None) -> bool:
    """True for parameters that only carry numbers or booleans."""
    if param_type in _NUMERIC_TYPES:
        return True
    return bool(example) and _NUMERIC.fullmatch(example or "") is not None


def token(n: int = 8) -> str:
    """A random lowercase marker that no page contains by chance."""
    alphabet = "abcdefghijkmnpqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(n))
