"""Client-trusted session state (CWE-565): identity kept in an unsigned cookie.

Candidates are the cookies the target set during the scan (``Set-Cookie`` of every
exchange) and the user's own ``-b`` cookies. A cookie is client state when it decodes
without a key to identity or privilege fields (``checks/common/client_state.py``: plain,
URL-encoded or base64 JSON, ``k=v`` pairs, or a cookie named ``role`` / ``is_admin`` /
``user_id`` with a short plain value) and has no signed shape (Flask/itsdangerous, Django
signing, JWT, Rails, cookie-session's ``.sig``).

Default mode sends nothing: a decoded mapping is reported firm (medium), a bare cookie
named like the field tentative (low). A ``-b`` cookie the target was never seen setting is
reported only when a forgery confirms it. With ``--active`` the check forges another identity
in the same encoding (``role`` user -> admin, ``is_admin`` false -> true, ``user_id`` 5 -> 1,
``username`` -> admin) and sends three GETs per page: the original cookie, the forged one
and none. The answer *follows* the forgery when a page refused to the original cookie
(401/403 or a redirect away) is served to the forged one, or when the forged answer
differs from both others and shows the new value more often: then the finding is critical
and certain. Forging nothing the server looks at (no page changed) lowers the finding to
tentative.

Bound: 4 cookies reported; 2 cookies confirmed, 2 forgeries each, 3 pages each, 2 requests
per page plus 1 per forgery: at most 2 x 3 x (2 + 2) = 24 requests, GET only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

from apigrade import rx
from apigrade.checks.common.client_state import ClientState, Forgery, decode_state, forgeries, wire
from apigrade.checks.common.cookies import set_cookies
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.engine.baseline import similar
from apigrade.engine.http import Exchange, Probe, request_cookies
from apigrade.model import Confidence, Severity
from apigrade.redact import mask

MAX_REPORTED = 4
MAX_CONFIRMED = 2
MAX_FORGERIES = 2
MAX_PAGES = 3
_TEXT = 8000  # characters compared per answer
_PRIVATE = rx.compile(
    r"admin|dashboard|profile|account|/me\b|/user|settings|panel|manage|private|secret|flag|"
    r"orders|home",
    rx.I,
)


@dataclass(frozen=True)
class Candidate:
    name: str
    value: str  # as the app sent it
    state: ClientState
    where: str  # the URL that set it, or "-b"


def _candidates(ctx: CheckContext) -> list[Candidate]:
    seen: dict[str, tuple[str, str]] = {}
    for ex in ctx.exchanges:
        for cookie in set_cookies(ex):
            seen.setdefault(cookie.name, (cookie.value, ex.url))
    for name, value in request_cookies(ctx.user_cookie or "").items():
        seen.setdefault(name, (value, "-b"))
    siblings = frozenset(seen)
    out = []
    for name, (value, where) in seen.items():
        state = decode_state(name, value, siblings)
        if state is not None:
            out.append(Candidate(name, value, state, where))
    return out[:MAX_REPORTED]


def _pages(ctx: CheckContext, cand: Candidate) -> list[str]:
    """The pages whose answer may depend on who the cookie says the caller is: pages that
    refused the scan (401/403, a redirect) first, then private-looking ones, the setter, the target."""
    origin = ctx.target.origin
    refused = [
        ex.probe.url for ex in ctx.exchanges
        if ex.probe.method == "GET" and ex.probe.raw_target is None and _denied(ex)
        and ex.probe.url.startswith(origin) and not urlsplit(ex.probe.url).query
        and _PRIVATE.search(urlsplit(ex.probe.url).path)
    ]  # fmt: skip
    private = [
        e.url for e in ctx.endpoints
        if e.method == "GET" and "{" not in e.url and e.url.startswith(origin)
        and _PRIVATE.search(urlsplit(e.url).path)
    ]  # fmt: skip
    where = [cand.where] if cand.where.startswith(origin) else []
    return list(dict.fromkeys([*refused, *private, *where, ctx.target.url]))[:MAX_PAGES]


def _cookie_header(ctx: CheckContext, name: str, value: str | None) -> tuple[tuple[str, str], ...]:
    jar = request_cookies(ctx.user_cookie or "")
    jar.pop(name, None)
    if value is not None:
        jar[name] = value
    return (("Cookie", "; ".join(f"{k}={wire(v)}" for k, v in jar.items())),)


async def _get(ctx: CheckContext, url: str, name: str, value: str | None) -> Exchange | None:
    # the probe's own Cookie header replaces the user's (engine: names merge)
    return await ctx.send(Probe(url=url, headers=_cookie_header(ctx, name, value)))


def _denied(ex: Exchange) -> bool:
    if ex.status in (401, 403) or 300 <= ex.status < 400:  # refused, or sent elsewhere
        return True
    return bool(ex.redirects) and urlsplit(ex.url).path != urlsplit(ex.probe.url).path


def _text(ex: Exchange) -> str:
    return ex.text[:_TEXT]


def follows(orig: Exchange, forged: Exchange, none: Exchange | None, f: Forgery) -> str | None:
    """How the forged answer shows the server believed the cookie, or None."""
    if forged.status != 200 or _denied(forged):
        return None
    if (
        none is not None
        and none.status == forged.status
        and similar(_text(none), _text(forged)) > 0.95
    ):
        return None  # the forged cookie was thrown away like a missing one
    if _denied(orig):
        return f"original cookie: {orig.status}{' (redirected)' if orig.redirects else ''}; forged: 200"
    if orig.status != 200 or similar(_text(orig), _text(forged)) > 0.95:
        return None
    if len(f.value) >= 12 and f.value in forged.text:
        return None  # a page that echoes cookies back shows the forgery, not its effect
    marker = f.new if len(f.new) >= 3 and f.new.lower() not in ("true", "yes") else "admin"
    # the echo of the changed field itself ("role": "admin") is not the server following it
    echo = rx.compile(
        rx.escape(f.field.rsplit(".", 1)[-1]) + r"""["']?\s*[:=]\s*["']?""" + rx.escape(f.new),
        rx.I,
        register=False,
    )
    forged_text = echo.sub("", _text(forged))
    before, after = (
        _text(orig).lower().count(marker.lower()),
        forged_text.lower().count(marker.lower()),
    )
    if after > before:
        return f"{marker!r} appears {after}x with the forged cookie, {before}x with the original"
    return None


async def _confirm(ctx: CheckContext, cand: Candidate) -> tuple[Forgery, str, str] | None:
    forged = forgeries(cand.state, MAX_FORGERIES)
    if not forged:
        return None
    controls: dict[str, tuple[Exchange | None, Exchange | None]] = {}
    for f in forged:  # privilege forgeries first, on every page, then identity ones
        for url in _pages(ctx, cand):
            if url not in controls:
                controls[url] = await asyncio.gather(
                    _get(ctx, url, cand.name, cand.value), _get(ctx, url, cand.name, None)
                )
            orig, none = controls[url]
            if orig is None:
                continue
            ex = await _get(ctx, url, cand.name, f.value)
            why = follows(orig, ex, none, f) if ex is not None else None
            if why:
                return f, url, why
    return None


def _shown(state: ClientState, field: str, value: object) -> str:
    """Privilege values as they are (role=user is the point); identities masked."""
    return str(value) if field in state.privilege else mask(str(value))


def _fields(state: ClientState) -> str:
    shown = []
    for name in state.fields[:6]:
        head, _, rest = name.partition(".")
        value = state.data[head][rest] if rest else state.data[head]
        shown.append(f"{name}={_shown(state, name, value)}")
    return ", ".join(shown)


def _where(where: str) -> str:
    return "the -b cookie" if where == "-b" else urlsplit(where).path or "/"


@active(
    id="session.client-trusted-state",
    title="Session identity kept in an unsigned cookie",
    category="authentication",
    owasp="API2:2023",
    severity=Severity.HIGH,
    confidence=Confidence.FIRM,
    cwe=565,
    phase=2,
)
async def client_trusted_state(ctx: CheckContext) -> None:
    """Decode unsigned identity cookies; with --active, forge one and watch the answer."""
    for i, cand in enumerate(_candidates(ctx)):
        plain = cand.state.encoding == "plain"
        evidence = (
            f"cookie {cand.name!r} ({cand.state.encoding}, no signature) carries "
            f"{_fields(cand.state)}; set by {_where(cand.where)}"
        )
        severity, confidence = (Severity.LOW, Confidence.TENTATIVE) if plain else (
            Severity.MEDIUM, Confidence.FIRM)  # fmt: skip
        if ctx.active and i < MAX_CONFIRMED:
            result = await _confirm(ctx, cand)
            if result is not None:
                f, url, why = result
                ctx.report(Hit(
                    url=ctx.target.url, parameter=cand.name, severity=Severity.CRITICAL,
                    confidence=Confidence.CERTAIN,
                    evidence=f"{evidence}. Forged {f.field}: {_shown(cand.state, f.field, f.old)} "
                    f"-> {f.new} and "
                    f"{urlsplit(url).path or '/'} followed: {why}",
                ))  # fmt: skip
                continue
            if forgeries(cand.state, 1):
                confidence = Confidence.TENTATIVE
                evidence += "; a forged value changed no page tried"
        if cand.where == "-b":
            continue  # the user's own cookie, never seen set by the target: only if confirmed
        ctx.report(Hit(
            url=ctx.target.url, parameter=cand.name, severity=severity,
            confidence=confidence, evidence=evidence,
        ))  # fmt: skip
