"""No throttling: a short, spaced burst to one login endpoint and one costly GET endpoint.

Which endpoints:

* **login** (needs --active, it is a POST): a form with a password field, or a spec
  POST path containing login/signin/token/auth (never registration or reset forms).
  The burst sends wrong passwords for a made-up user; no answer is 429, none carries rate-limit headers, and the answers do
  not change (no lockout) -> ``ratelimit.auth-attempts`` (CWE-307, medium).
* **costly GET**: a GET endpoint whose path or parameters say it costs something per
  call (search, export, report, otp/verify/reset codes, a page-size knob such as
  ``limit``); the cheapest of them (smallest 2xx answer at example values, at most 5
  compared, one plain GET each, usually from the cache) is chosen. No sign of a limit
  -> ``ratelimit.resource-use`` (CWE-770, low, tentative: 20 calls do not prove there
  is no limit at higher rates). A GET endpoint that takes a code or password (otp,
  verify, reset) is an authentication endpoint and reported as CWE-307.

Plain pages and health checks are never burst: their lack of a limit says nothing, and
every site would be reported.

Signs of a limit: status 429, a 503 with ``Retry-After``, or any ``RateLimit-*``,
``X-RateLimit-*``, ``X-Rate-Limit-*`` or ``Retry-After`` header on any answer of that
endpoint in the scan.

Runs in phase 2, after every other check, so that a limit it trips cannot change
their answers; skipped when fewer than 60 requests of the budget are left.

Bound: 20 sequential requests per burst, spaced 20-50 ms (under 1 s), at most 2 bursts,
plus at most 5 plain GETs to choose the endpoint: 45 requests. Never concurrent, never
a load test. Login attempts name a made-up account (``apigrade-nobody-...@example.invalid``)
so that no real user is locked out.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from apigrade import rx
from apigrade.checks.common.slots import build_url, default_value, get_endpoints, token
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.discovery.model import Endpoint
from apigrade.engine.baseline import similar
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity

BURST = 20
GAP = (0.02, 0.05)  # seconds between two requests of a burst
MIN_BUDGET = 60
MAX_CANDIDATES = 5  # costly GET endpoints whose plain answer is compared

_AUTH_SEGMENT = rx.compile(r"^(?:.*log-?in.*|.*sign-?in.*|.*token.*|auth|authenticate|oauth2?|"
                           r"sessions?|jwt)$", rx.I)  # fmt: skip
_NOT_LOGIN = rx.compile(r"regist|sign-?up|join|enrol|create|new|reset|forgot|change|invite|"
                        r"users?/?$|accounts?/?$|password", rx.I)  # fmt: skip
_CODE_PATH = rx.compile(r"otp|2fa|mfa|verify|reset|forgot|password|passcode|pin\b", rx.I)
_COSTLY_PATH = rx.compile(r"search|export|report|download|query|graphql|generate|convert|"
                          r"render|resize|pdf|upload|send|mail|sms|notify|invite", rx.I)  # fmt: skip
_SIZE_PARAMS = frozenset({"limit", "per_page", "perpage", "page_size", "pagesize", "size",
                          "count", "max", "max_results", "top", "first", "take"})  # fmt: skip
_SEARCH_PARAMS = frozenset({"q", "query", "search", "s", "term", "keyword", "keywords"})
_PASSWORD = rx.compile(r"pass(?:word|wd)?$|^pwd$|passcode", rx.I)
_CODE_PARAM = rx.compile(r"pass(?:word|wd)?$|^pwd$|passcode|^pin$|^otp$|^code$|^token$", rx.I)
_USER_FIELD = rx.compile(r"user|e-?mail|login|account|^name$|^id$", rx.I)
_SECRET_FIELD = rx.compile(r"pass|secret|pin|code|otp|token", rx.I)
_LIMIT_HEADERS = rx.compile(r"^(?:x-)?rate-?limit|^retry-after$|^x-ratelimit", rx.I)

finding_kind(
    id="ratelimit.resource-use",
    parent="ratelimit.auth-attempts",
    title="No rate limit on a costly endpoint",
    category="rate-limiting",
    severity=Severity.LOW,
    confidence=Confidence.TENTATIVE,
    cwe=770,
    owasp="API4:2023",
)


@dataclass(frozen=True)
class Pick:
    """One endpoint to burst: how to build each request, and whether it is about auth."""

    endpoint: Endpoint
    auth: bool
    password_field: str | None = None
    user: str = field(default_factory=token)  # the made-up account name of a login burst


def _norm(name: str) -> str:
    return name.lower().replace("-", "_")


def login_endpoint(ctx: CheckContext) -> Pick | None:
    """A POST login: a password field, or a spec path naming login/signin/token/auth.

    Registration, password change and reset forms have password fields too; they are
    never burst (each attempt could create an account or send an e-mail).
    """
    if not ctx.active:
        return None
    for ep in get_endpoints(ctx, ("POST",)):
        if _NOT_LOGIN.search(urlsplit(ep.url).path):
            continue
        fields = ep.params_in("form") or ep.params_in("body")
        pw = next((p.name for p in fields if _PASSWORD.search(p.name)), None)
        segments = urlsplit(ep.url).path.split("/")
        if pw is not None or (ep.source == "openapi" and any(map(_AUTH_SEGMENT.match, segments))):
            return Pick(ep, auth=True, password_field=pw)
    return None


async def costly_get(ctx: CheckContext) -> Pick | None:
    """The cheapest GET endpoint worth limiting (smallest 2xx answer at example values).

    Each candidate's plain request is sent once (usually answered from the cache), so
    the pick does not depend on what other checks happened to request.
    """
    found = []
    for ep in get_endpoints(ctx):
        path = urlsplit(ep.url).path
        names = {_norm(p.name) for p in ep.params if p.location == "query"}
        code = bool(_CODE_PATH.search(path)) and any(_CODE_PARAM.search(n) for n in names)
        url = build_url(ep, {})
        if url is not None and (
            code or _COSTLY_PATH.search(path) or names & (_SIZE_PARAMS | _SEARCH_PARAMS)
        ):
            found.append((0 if code else 1, url, Pick(ep, auth=code)))
    found.sort(key=lambda t: t[:2])
    answers = await asyncio.gather(
        *(ctx.send(Probe(url=url)) for _, url, _ in found[:MAX_CANDIDATES])
    )
    picks = [
        (rank, len(ex.response.body), url, pick)
        for (rank, url, pick), ex in zip(found, answers, strict=False)
        if ex is not None and 200 <= ex.status < 300
    ]
    return min(picks, key=lambda t: t[:3])[3] if picks else None


def _probe(t: Pick, i: int) -> Probe | None:
    """The i-th request of a burst; every one differs, so none comes from the cache."""
    ep = t.endpoint
    url = build_url(ep, {})
    if url is None:
        return None
    if ep.method.upper() == "GET":
        return Probe(url=url, headers=(("X-Apigrade-Burst", str(i)),), follow_redirects=False)
    location = "body" if ep.params_in("body") else "form"
    params = ep.params_in(location)
    secret = t.password_field or next((p.name for p in params if _SECRET_FIELD.search(p.name)),
                                      params[0].name if params else "password")  # fmt: skip
    fields: dict[str, object] = {p.name: default_value(p) for p in params}
    for p in params:  # a made-up account: a burst must never lock out a real user
        if _USER_FIELD.search(p.name):
            fields[p.name] = f"apigrade-nobody-{t.user}@example.invalid"
    fields[secret] = f"apigrade-wrong-{token(10)}"
    if location == "body":
        body, ctype = json.dumps(fields).encode(), "application/json"
    else:
        body, ctype = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    return Probe(url=url, method="POST", headers=(("Content-Type", ctype),), body=body,
                 follow_redirects=False)  # fmt: skip


def limited(ex: Exchange) -> str | None:
    """The sign of a rate limit this answer shows, or None."""
    if ex.status == 429:
        return "429 Too Many Requests"
    for name, value in ex.response.headers:
        if _LIMIT_HEADERS.match(name):
            return f"{name}: {value}"
    return None


def _changed(first: Exchange, ex: Exchange) -> bool:
    """A later answer differs from the first (lockout, CAPTCHA, slowdown page)."""
    if first.status != ex.status:
        return True
    return similar(first.text[:5000], ex.text[:5000]) < 0.8


async def burst(ctx: CheckContext, t: Pick) -> Hit | None:
    path = urlsplit(t.endpoint.url).path
    for seen in list(ctx.exchanges):  # a limit the scan has already seen counts
        if urlsplit(seen.url).path == path and limited(seen):
            return None
    answers: list[Exchange] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(BURST):
        probe = _probe(t, i)
        ex = None if probe is None else await ctx.send(probe)
        if ex is None:
            return None  # budget, scope or a failing target: no verdict
        if limited(ex) or (t.auth and answers and _changed(answers[0], ex)):
            return None
        if not t.auth and not 200 <= ex.status < 300:
            return None  # refused or missing: a limit is beside the point
        answers.append(ex)
        await asyncio.sleep(random.uniform(*GAP))
    took = loop.time() - start
    statuses = sorted({ex.status for ex in answers})
    evidence = (f"{len(answers)} {t.endpoint.method.upper()} requests to {path} in {took:.1f} s: "
                f"all answered ({', '.join(map(str, statuses))}), none 429, no RateLimit or "
                "Retry-After headers")  # fmt: skip
    if t.auth:
        evidence += ", no lockout (answers unchanged)"
        return Hit(url=t.endpoint.url, method=t.endpoint.method.upper(), evidence=evidence)
    return Hit(url=t.endpoint.url, evidence=evidence, check="ratelimit.resource-use")


@active(
    phase=2,
    id="ratelimit.auth-attempts",
    title="No limit on authentication attempts",
    category="rate-limiting",
    severity=Severity.MEDIUM,
    confidence=Confidence.FIRM,
    cwe=307,
    owasp="API4:2023",
)
async def rate_limits(ctx: CheckContext) -> None:
    """At most two bursts, one after the other."""
    if ctx.budget_left < MIN_BUDGET:
        return
    for pick in (login_endpoint(ctx), await costly_get(ctx)):
        if pick is None or ctx.budget_left < MIN_BUDGET:
            continue
        hit = await burst(ctx, pick)
        if hit is not None:
            ctx.report(hit)
