"""Discovery of an app scanned in-process: its own routes become endpoints.

The route table comes from the app object (``apigrade.inprocess.routes``); the app's own
OpenAPI document (FastAPI) adds query and body parameters. Every readable route (one that
answers GET) is fetched once, so the passive checks see it: first the routes without path
parameters (listings), then the others, filled with values those answers showed; and
the request budget counts it: at most ``routes.MAX_ROUTES`` requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from apigrade.discovery.model import Endpoint, Param, is_logout
from apigrade.discovery.openapi import parse_spec
from apigrade.engine.http import Probe
from apigrade.inprocess.routes import expand, route_table, seen_values

if TYPE_CHECKING:
    from apigrade.engine.discover import Discoverer

#: JSON bodies read for values of path parameters
MAX_BODIES = 100


async def add_app_routes(
    disc: Discoverer, add: Callable[[Endpoint], None], parse: Callable[..., Awaitable[Any]]
) -> None:
    """Add the app's routes as endpoints (source "app") and fetch each readable one."""
    state = disc.state
    table = route_table(state.app)
    disc.app_table = table
    if not table.routes:
        return
    origin = state.target.origin
    readable = [r for r in table.routes if r.readable and not is_logout(r.template)]
    # Stage 1: the routes without path parameters (listings show ids for stage 2).
    await _fetch(state, [origin + r.template for r in readable if not r.params])
    bodies = [ex.text for ex in state.exchanges if "json" in ex.response.content_type]
    seen = await parse(seen_values, bodies[-MAX_BODIES:], label="values seen in JSON responses")
    filled: dict[str, dict[str, str]] = {}
    eps: list[Endpoint] = []
    for route in table.routes:
        values = table.fill(route, seen or {})
        filled[route.template] = values
        params = tuple(
            Param(p.name, "path", p.type, True, values.get(p.name)) for p in route.params
        )
        params += tuple(Param(q, "query") for q in route.query)
        eps += [Endpoint(origin + route.template, m, params, source="app") for m in route.methods]
    for text, _prefix in table.openapi:  # richer parameters first: query, body, security
        spec = await parse(parse_spec, text, origin + "/", label="the app's OpenAPI document")
        for ep in spec.endpoints if spec else ():
            path = ep.url.removeprefix(origin)
            examples = filled.get(path, {})
            params = tuple(
                replace(p, example=examples.get(p.name)) if p.location == "path" and
                not p.example and examples.get(p.name) else p for p in ep.params
            )  # fmt: skip
            add(replace(ep, params=params))  # "openapi": the app's own document, with examples
    for ep in eps:
        add(ep)
    # Stage 2: the routes with path parameters, filled with what stage 1 showed.
    await _fetch(
        state, [origin + expand(r.template, filled[r.template]) for r in readable if r.params]
    )


async def _fetch(state: Any, urls: list[str]) -> None:
    """One GET per URL through the engine (in scope, in the budget, concurrently bounded)."""
    await asyncio.gather(*(state.engine.send(Probe(url=u)) for u in dict.fromkeys(urls)))
