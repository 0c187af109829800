"""Discovery of GraphQL endpoints and of the operations their schema declares.

The introspected schema is a spec: each query and mutation becomes an
:class:`~apigrade.discovery.model.Endpoint` (source ``graphql``) whose params are the
operation's variables, so the injection checks send GraphQL operations with payloads in
their arguments the way they fill OpenAPI parameters.

Requests (default mode, GETs only): ``common.graphql.survey``, i.e. ``{__typename}`` on
at most ``MAX_PATHS`` (8) paths, discovered GraphQL-looking ones first (an endpoint counts
only by a GraphQL-shaped answer), once more with CSRF-prevention headers where a GraphQL
answer asked for them (at most 8), and with ``--active`` once as a JSON POST where GET did
not answer (at most 8).
Then one introspection query on each of at most ``MAX_ENDPOINTS`` (3) endpoints. The
GraphQL checks send the very same probes, which the engine's cache answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from apigrade.checks.common.graphql import INTROSPECTION, answer, get_probe, post_probe, survey
from apigrade.checks.common.graphql_schema import schema_endpoints
from apigrade.checks.context import ScanState
from apigrade.discovery.model import Endpoint

#: ``parse(fn, *args, label=...)``: the discoverer's offloaded parser
Parse = Callable[..., Awaitable[Any]]


async def discover(state: ScanState, urls: Iterable[str], parse: Parse) -> list[Endpoint]:
    """The GraphQL endpoints and their operations (see the module docstring)."""
    out: list[Endpoint] = []
    found = await survey(state.engine.send, state.target, urls, state.active)
    for loc in found.endpoints:
        path, get_ok = loc.path, loc.get
        url = state.target.url_for(path)
        probe = (get_probe(state.target, path, INTROSPECTION, loc.preflight) if get_ok
                 else post_probe(state.target, path, {"query": INTROSPECTION}))  # fmt: skip
        ex = await state.engine.send(probe)
        eps: list[Endpoint] | None = None
        if ex is not None and answer(ex) is not None and "__schema" in ex.text[:2000]:
            label = f"GraphQL schema of {path}"
            eps = await parse(schema_endpoints, ex.text, url, get_ok, label=label)
        out += eps or [Endpoint(url=url, method="GET" if get_ok else "POST", source="graphql",
                                content_type="application/json")]  # fmt: skip
    return out
