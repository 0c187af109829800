"""Session or token still valid after logout (CWE-613), with ``--active`` only.

Needs a logout endpoint (a link, form or spec operation whose path says logout, signout,
logoff or end-session; discovery records such links but never fetches them) and a credential: the user's ``-H``/``-b`` values, else the first
``--identity``, else a JWT the target handed out in a body or header, else the last session
cookie the target set during the scan. Steps:

1. find an authenticated page: a GET whose answer with the credential is 200 and differs
   from the answer without it (refused, redirected to a login, or other content);
2. call logout with the credential (the form's own fields as the body for a POST);
3. replay the same GET with the *old* credential. Still 200 with the same content (and
   still unlike the anonymous answer): the server never revoked it. Certain when the logout
   answer also cleared the cookie; firm when it redirected, was a POST, or took a header
   token; tentative for a GET answered 200 (it may only have asked to confirm). A logout
   that fails (4xx/5xx) decides nothing. POST logout forms are tried before links.

Logging out ends the scan's session, so this runs in the last phase
(``registry.LAST_PHASE``), after every other check.

Bound: 4 candidate pages (2 requests each), 2 logout attempts, 1 replay per attempt: at
most 12 requests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from apigrade import rx
from apigrade.checks.authentication import collect_artefacts
from apigrade.checks.common.cookies import is_deletion, is_session_cookie, set_cookies
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import LAST_PHASE, active
from apigrade.discovery.model import Endpoint, is_logout
from apigrade.engine.baseline import similar
from apigrade.engine.http import Exchange, Probe, SetCookie, request_cookies
from apigrade.model import Confidence, Severity
from apigrade.redact import mask

MAX_PAGES = 4
MAX_LOGOUTS = 2
_TEXT = 8000
_SAME = 0.9
_PRIVATE = rx.compile(
    r"admin|dashboard|profile|account|/me\b|/user|settings|panel|private|orders|home|api", rx.I
)
_ASSET = rx.compile(r"\.(?:css|js|map|png|jpe?g|gif|svg|ico|webp|woff2?|ttf|pdf|txt|xml)$", rx.I)
_CRED_HEADER = rx.compile(
    r"^(?:authorization|cookie|x-[\w-]*(?:token|key|auth)[\w-]*|token)$", rx.I
)


@dataclass(frozen=True)
class Credential:
    """What the probes carry, and how to describe it without showing it."""

    headers: tuple[tuple[str, str], ...]  # sent explicitly (anonymous probes)
    label: str
    cookie: str | None  # the session cookie's name, to see logout clear it
    own: bool  # the user's -H/-b (sent by the engine on every non-anonymous probe)


def _credential(ctx: CheckContext) -> Credential | None:
    user = [(k, v) for k, v in ctx.user_headers if _CRED_HEADER.match(k)]
    if user or ctx.user_cookie:
        jar = request_cookies(ctx.user_cookie or "")
        name = next((n for n in jar if _session_name(n, jar[n])), None)
        what = ", ".join([*(f"{k} header" for k, _ in user), *(f"cookie {n!r}" for n in jar)])
        return Credential((), f"the scan's own credentials ({what})", name, True)
    for name, headers in ctx.identities.items():
        if headers:
            return Credential(tuple(headers), f"identity {name!r}", None, False)
    for art in collect_artefacts(ctx):  # a JWT the target handed out (a login's answer)
        if art.is_jwt and art.source in ("body", "response-header"):
            scheme = art.scheme or "Bearer"
            return Credential((("Authorization", f"{scheme} {art.value}"),),
                              f"the {art.where} ({mask(art.value)})", None, False)  # fmt: skip
    latest = None
    for ex in ctx.exchanges:
        for cookie in set_cookies(ex):
            if is_session_cookie(cookie):
                latest = cookie
    if latest is None:
        return None
    value = f"{latest.name}={latest.value}"
    return Credential((("Cookie", value),), f"cookie {latest.name}={mask(latest.value)} "
                      "the target set during the scan", latest.name, False)  # fmt: skip


def _session_name(name: str, value: str) -> bool:
    return is_session_cookie(SetCookie(name, value, {}, ""))


def _probe(cred: Credential, url: str, method: str = "GET", body: bytes | None = None,
           ctype: str | None = None, *, anonymous: bool = False, follow: bool = True,
           extra: tuple[tuple[str, str], ...] = ()) -> Probe:  # fmt: skip
    headers = (() if anonymous else cred.headers) + extra
    if ctype:
        headers = (*headers, ("Content-Type", ctype))
    return Probe(url=url, method=method, headers=headers, body=body, follow_redirects=follow,
                 anonymous=anonymous or not cred.own)  # fmt: skip


def _denied(ex: Exchange) -> bool:
    if ex.status in (401, 403) or 300 <= ex.status < 400:  # refused, or sent elsewhere
        return True
    return bool(ex.redirects) and urlsplit(ex.url).path != urlsplit(ex.probe.url).path


def _answer(ex: Exchange) -> str:
    """'401', or 'redirected to /login' for an answer that went elsewhere."""
    where = urlsplit(ex.url).path or "/"
    if ex.redirects and where != (urlsplit(ex.probe.url).path or "/"):
        return f"redirected to {where}"
    return str(ex.status)


def _same(a: Exchange, b: Exchange) -> float:
    return similar(a.text[:_TEXT], b.text[:_TEXT])


def _logouts(ctx: CheckContext) -> list[Endpoint]:
    found = [e for e in ctx.endpoints if "{" not in e.url and is_logout(e.url)]
    # a spec operation or form (the real logout action) before a bare link
    found.sort(key=lambda e: (e.method == "GET", e.url))
    return list({(e.url, e.method): e for e in found}.values())[:MAX_LOGOUTS]


def _pages(ctx: CheckContext, logouts: list[Endpoint]) -> list[str]:
    """Pages that may need the credential: ones that refused or redirected a request of
    the scan (a login gate), then discovered GET endpoints, private-looking names first."""
    skip = {e.url for e in logouts}

    def fits(url: str) -> bool:
        return (url.startswith(ctx.target.origin) and "{" not in url and url not in skip
                and not _ASSET.search(url) and not is_logout(url))  # fmt: skip

    refused = [
        ex.probe.url for ex in ctx.exchanges
        if ex.probe.method == "GET" and ex.probe.raw_target is None and _denied(ex)
        and not urlsplit(ex.probe.url).query and _PRIVATE.search(urlsplit(ex.probe.url).path)
    ]  # fmt: skip
    urls = [
        e.url for e in ctx.endpoints
        if e.method == "GET" and not e.params_in("query")
    ]  # fmt: skip
    urls.sort(key=lambda u: (not _PRIVATE.search(urlsplit(u).path), u))
    return [u for u in dict.fromkeys([*refused, *urls, ctx.target.url]) if fits(u)][:MAX_PAGES]


async def _authenticated(ctx: CheckContext, cred: Credential, pages: list[str]
                         ) -> tuple[Exchange, Exchange] | None:  # fmt: skip
    """The first page whose answer depends on the credential: (with, without)."""
    for url in pages:
        with_cred = await ctx.send(_probe(cred, url))
        if with_cred is None or with_cred.status != 200 or _denied(with_cred):
            continue
        without = await ctx.send(_probe(cred, url, anonymous=True))
        if without is None:
            continue
        if _denied(without) or without.status != 200 or _same(with_cred, without) < _SAME:
            return with_cred, without
    return None


def _body(ep: Endpoint) -> tuple[bytes | None, str | None]:
    if ep.method == "GET":
        return None, None
    fields = {p.name: p.example or "" for p in ep.params if p.location in ("form", "body")}
    if ep.content_type and "json" in ep.content_type:
        return json.dumps(fields).encode(), "application/json"
    return urlencode(fields).encode(), "application/x-www-form-urlencoded"


def _cleared(ex: Exchange, name: str | None) -> bool:
    date = ex.response.header("date")
    return any(
        is_deletion(c, date) and (name is None or c.name == name) for c in ex.response.cookies
    )


def _confidence(out: Exchange, cleared: bool, cred: Credential) -> Confidence:
    """How sure it is that logout happened: it cleared the cookie (certain); it redirected,
    or an API took the token (firm); a 200 page may only have asked to confirm (tentative)."""
    if cleared:
        return Confidence.CERTAIN
    header_token = cred.cookie is None and not any(k.lower() == "cookie" for k, _ in cred.headers)
    if 300 <= out.status < 400 or header_token or out.probe.method != "GET":
        return Confidence.FIRM
    return Confidence.TENTATIVE


@active(
    id="session.not-revoked-on-logout",
    title="Session or token still valid after logout",
    category="authentication",
    owasp="API2:2023",
    severity=Severity.MEDIUM,
    confidence=Confidence.FIRM,
    cwe=613,
    phase=LAST_PHASE,
    reads=("tokens",),  # collect_artefacts: tokens other checks saw
)
async def not_revoked(ctx: CheckContext) -> None:
    """Log out, then replay the old credential on a page it opened."""
    if not ctx.active:
        return
    logouts = _logouts(ctx)
    cred = _credential(ctx) if logouts else None
    if cred is None:
        return
    found = await _authenticated(ctx, cred, _pages(ctx, logouts))
    if found is None:
        return
    before, anonymous = found
    for ep in logouts:
        body, ctype = _body(ep)
        # not followed: the answer that clears the cookie is often the redirect itself
        out = await ctx.send(_probe(cred, ep.url, ep.method, body, ctype, follow=False))
        if out is None or out.status >= 400:
            continue
        # a header of its own: the engine's cache must not answer with the first GET
        again = await ctx.send(_probe(cred, before.url, extra=(("Cache-Control", "no-cache"),)))
        if again is None or again.status != 200 or _denied(again):
            return  # revoked: the old credential no longer opens the page
        same = _same(before, again)
        if same < _SAME or (anonymous.status == 200 and _same(again, anonymous) >= same):
            return
        cleared = _cleared(out, cred.cookie)
        path = urlsplit(before.url).path or "/"
        ctx.report(Hit(
            url=ep.url, method=ep.method, confidence=_confidence(out, cleared, cred),
            evidence=f"{ep.method} {urlsplit(ep.url).path} answered {out.status}"
            f"{' and cleared the cookie' if cleared else ''}; then GET {path} with {cred.label} "
            f"still answered 200 with the same content (similarity {same:.2f}; "
            f"without credentials: {_answer(anonymous)})",
        ))  # fmt: skip
        return
