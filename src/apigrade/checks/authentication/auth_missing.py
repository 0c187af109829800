"""Endpoints that should need credentials but answer with data without them (CWE-306).

Candidates are GET endpoints the spec marks as secured (``Endpoint.secured``) and GET
endpoints whose path looks private (/admin, /me, /account, /users/<id>, /internal...).
Each gets one probe without the user's -H/-b credentials; when the user gave
credentials, private-looking paths are also fetched with them (usually a cache hit) to
compare. At most ``MAX_CANDIDATES`` (12) endpoints: 24 requests, plus one soft-404
baseline per directory.

* Spec says secured, anonymous 200 with JSON data: certain (with credentials to compare)
  or firm.
* Private-looking path: the anonymous answer must be a JSON record with personal or
  privileged fields; with credentials, the answer must also be the same with and
  without them (an endpoint that shows less to strangers is fine).
"""

from __future__ import annotations

from typing import Any

from apigrade.checks.common.apiutil import (
    PRIVATE_SEGMENTS,
    fill,
    get_anonymous,
    get_endpoints,
    has_data,
    has_user_credentials,
    json_body,
    norm_key,
    path_of,
    same_body,
    segments,
    with_required_query,
)
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.discovery.model import Endpoint
from apigrade.model import Confidence, Severity

MAX_CANDIDATES = 12
# Fields that make a record private: personal data, credentials, privileges, money.
SENSITIVE_KEYS = frozenset({
    "email", "mail", "phone", "phonenumber", "address", "ssn", "dob", "dateofbirth",
    "birthdate", "password", "passwordhash", "hashedpassword", "token", "apikey",
    "secret", "isadmin", "balance", "iban", "cardnumber", "salary", "creditcard", "owner",
    "owneremail",
})  # fmt: skip


def looks_private(path: str) -> bool:
    """/admin, /me, /account..., or /users/<something>."""
    segs = [s.lower() for s in segments(path)]
    if PRIVATE_SEGMENTS & set(segs):
        return True
    return any(s in ("users", "user", "customers", "accounts") for s in segs[:-1])


def sensitive_keys(value: Any, depth: int = 0) -> list[str]:
    """Sensitive field names anywhere in a JSON value (bounded walk)."""
    found: list[str] = []
    if depth > 4:
        return found
    if isinstance(value, dict):
        for k, v in list(value.items())[:200]:
            if norm_key(str(k)) in SENSITIVE_KEYS and v not in (None, "", [], {}):
                found.append(str(k))
            found += sensitive_keys(v, depth + 1)
    elif isinstance(value, list):
        for v in value[:20]:
            found += sensitive_keys(v, depth + 1)
    return list(dict.fromkeys(found))


def _candidates(ctx: CheckContext) -> list[tuple[Endpoint, str]]:
    out: dict[str, Endpoint] = {}
    for ep in get_endpoints(ctx):
        if ep.secured is False:
            continue  # the spec says it is public
        if ep.secured or looks_private(path_of(ep.url)):
            out.setdefault(with_required_query(fill(ep.url, ep), ep), ep)
    ranked = sorted(out.items(), key=lambda kv: not kv[1].secured)
    return [(ep, url) for url, ep in ranked][:MAX_CANDIDATES]


@active(
    id="auth.missing-authentication",
    title="Endpoint that should need authentication answers without credentials",
    category="authentication",
    severity=Severity.HIGH,
    confidence=Confidence.FIRM,
    cwe=306,
    owasp="API2:2023",
)
async def missing_authentication(ctx: CheckContext) -> None:
    creds = has_user_credentials(ctx)
    for ep, url in _candidates(ctx):
        anon = await get_anonymous(ctx, url)
        if anon is None or anon.status != 200:
            continue
        body = json_body(anon)
        if not has_data(body) or await ctx.is_soft404(anon):
            continue
        keys = sensitive_keys(body)
        base = f"GET {path_of(anon.url)} without credentials -> 200, {len(anon.response.body)} bytes JSON"
        fields = f"; fields: {', '.join(keys[:6])}" if keys else ""
        if ep.secured:
            same = ""
            if creds:
                authed = await ctx.get(url)
                if authed is not None and same_body(authed, anon):
                    same = "; same answer as with the given credentials"
            ctx.report(
                Hit(
                    url=ep.url,
                    evidence=f"the spec requires authentication for GET {path_of(ep.url)}; {base}{fields}{same}",
                    confidence=Confidence.CERTAIN if same else None,
                )
            )
            continue
        if not keys:
            continue  # a private-looking path with public-looking data
        confidence = Confidence.TENTATIVE
        if creds:
            authed = await ctx.get(url)
            if authed is None or not same_body(authed, anon):
                continue  # the endpoint tells strangers and the user apart
            confidence = Confidence.FIRM
            fields += "; same answer as with the given credentials"
        ctx.report(
            Hit(
                url=ep.url,
                evidence=f"{base}{fields}",
                confidence=confidence,
                severity=Severity.MEDIUM if confidence is Confidence.TENTATIVE else None,
            )
        )
