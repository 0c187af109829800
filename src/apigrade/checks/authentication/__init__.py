"""Authentication checks: weak signing keys, JWT flaws.

This module also gathers the signed artefacts a scan saw (cookies, tokens in bodies,
the user's own credentials) for the checks of this package.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from apigrade import rx
from apigrade.checks.context import CheckContext
from apigrade.engine.http import Exchange, request_cookies

#: A whole JWS compact token: header and payload are JSON objects ("eyJ" = '{"').
JWT_RE = rx.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
#: A run of token characters (base64url plus the "." and ":" separators). One greedy
#: pass over the text: linear even on megabytes of "AAAA" or "eyJeyJ" (a pattern with
#: the separators inside it backtracks quadratically there).
_RUN = rx.compile(r"[A-Za-z0-9_.:-]{20,}")
MAX_TOKEN_LEN = 16 * 1024
_TEXTUAL = ("json", "html", "text", "javascript", "xml")
MAX_PER_BODY = 30
MAX_ARTEFACTS = 200


@dataclass(frozen=True)
class Artefact:
    """A token or cookie value seen during the scan, and where."""

    value: str
    source: str  # "set-cookie" | "body" | "user-cookie" | "user-header" | "identity" | "kb"
    name: str  # cookie or header name, "token" for one in a body
    url: str  # where it was seen (the target URL for the user's own)

    @property
    def where(self) -> str:
        """A short description for evidence: "cookie 'session' set by http://…/"."""
        return {
            "set-cookie": f"cookie {self.name!r} set by {self.url}",
            "body": f"token in the response body of {self.url}",
            "user-cookie": f"cookie {self.name!r} given with --cookie",
            "user-header": f"{self.name} header given with -H",
            "identity": f"{self.name} header of identity {self.url!r}",
            "kb": f"token seen at {self.url}",
        }[self.source]

    @property
    def is_jwt(self) -> bool:
        return bool(JWT_RE.fullmatch(self.value))


def user_headers(ctx: CheckContext) -> tuple[tuple[str, str], ...]:
    """The user's -H headers."""
    return tuple(ctx.user_headers)


def user_cookie_header(ctx: CheckContext) -> str:
    """The user's cookies (--cookie, or a Cookie header given with -H), as one header value."""
    parts = [ctx.user_cookie or ""]
    parts += [v for k, v in user_headers(ctx) if k.strip().lower() == "cookie"]
    return "; ".join(p for p in parts if p.strip())


def bearer_token(value: str) -> str | None:
    """The credential of an ``Authorization: Bearer X`` value."""
    scheme, _, cred = value.strip().partition(" ")
    if scheme.lower() in ("bearer", "jwt", "token") and cred.strip():
        return cred.strip()
    return None


def _header_tokens(headers: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """(header name, token) for bearer and token-carrying headers."""
    for name, value in headers:
        low = name.strip().lower()
        if low == "authorization":
            token = bearer_token(value)
            if token:
                yield name.strip(), token
        elif "token" in low or low in ("x-api-key", "api-key"):
            yield name.strip(), value.strip()


def _user_artefacts(ctx: CheckContext) -> Iterator[Artefact]:
    url = ctx.target.url
    for name, value in request_cookies(user_cookie_header(ctx)).items():
        if value:
            yield Artefact(value, "user-cookie", name, url)
    for name, token in _header_tokens(user_headers(ctx)):
        yield Artefact(token, "user-header", name, url)
    for identity, headers in ctx.identities.items():
        for name, token in _header_tokens(headers):
            yield Artefact(token, "identity", name, identity)  # url: the identity's name


def body_tokens(text: str) -> list[str]:
    """JWTs and other signed-looking tokens (itsdangerous, Django) in a body, JWTs first."""
    jwts: dict[str, None] = {}
    others: dict[str, None] = {}
    for m in _RUN.finditer(text, limit=None):  # runs of token characters: linear
        token = m.group(0).lstrip(":").rstrip(".:")
        if len(token) > MAX_TOKEN_LEN or not any(sep in token for sep in ".:"):
            continue
        (jwts if JWT_RE.fullmatch(token) else others).setdefault(token)
        if len(jwts) + len(others) >= 4 * MAX_PER_BODY:
            break
    return [*jwts, *others][:MAX_PER_BODY]


def _exchange_artefacts(exchange: Exchange) -> Iterator[Artefact]:
    from apigrade.checks.common.cookies import set_cookies

    for cookie in set_cookies(exchange):
        yield Artefact(cookie.value, "set-cookie", cookie.name, exchange.url)
    resp = exchange.response
    if resp.status < 400 and any(t in resp.content_type for t in _TEXTUAL):
        for token in body_tokens(resp.text[:200_000]):
            yield Artefact(token, "body", "token", exchange.url.split("#", 1)[0])


def collect_artefacts(ctx: CheckContext) -> list[Artefact]:
    """Every distinct value the scan saw that may be a signed token, first sighting wins."""
    seen: dict[str, Artefact] = {}
    sources: list[Iterator[Artefact]] = [_user_artefacts(ctx)]
    sources += [_exchange_artefacts(ex) for ex in list(ctx.exchanges)]
    sources.append(Artefact(t, "kb", "token", w) for t, w in list(ctx.kb.tokens))
    for source in sources:
        for art in source:
            if art.value not in seen and len(seen) < MAX_ARTEFACTS:
                seen[art.value] = art
    return list(seen.values())
