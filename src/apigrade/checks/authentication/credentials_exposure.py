"""Credentials where they leak: in URLs, over cleartext Basic auth, echoed in responses.

None of these checks sends a request of its own:

* ``auth.token-in-url`` reads discovered endpoints (links, forms, spec parameters) and
  every ``Location`` header the scan saw.
* ``auth.basic-over-http`` and ``auth.credentials-echoed`` are passive: they look at
  every response.

CWE choices: a token in a URL is CWE-598 (sensitive query strings), which the contract's
table does not list; its ancestor CWE-200 (exposure of sensitive information) is listed
and is used. Credentials echoed in a body are likewise reported as CWE-200. Basic auth
over plain HTTP is cleartext transmission of credentials, CWE-319.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from apigrade import rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity
from apigrade.redact import Redactor, credential_headers, mask

TOKEN_PARAMS = frozenset({
    "token", "access_token", "accesstoken", "auth_token", "authtoken", "id_token",
    "refresh_token", "api_key", "apikey", "api_token", "session", "sessionid",
    "session_id", "jwt", "password", "passwd", "secret", "client_secret",
})  # fmt: skip
_TOKENISH = rx.compile(r"^[A-Za-z0-9._~+/=:-]{8,}$")
_BASIC = rx.compile(r"(?:^|,)\s*basic\b", rx.I)
_CSRF = rx.compile(r"csrf|xsrf", rx.I)
MIN_ECHO = 8  # shorter credential values could match by chance
MAX_SCAN = 1_000_000  # bytes of a body searched for echoed credentials


def token_param(name: str) -> bool:
    return name.strip().lower().replace("-", "_") in TOKEN_PARAMS


def _bare(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def url_tokens(url: str) -> list[tuple[str, str]]:
    """(name, value) of token-like query parameters with credential-looking values."""
    try:
        pairs = parse_qsl(urlsplit(url).query, keep_blank_values=False)
    except ValueError:
        return []
    return [(k, v) for k, v in pairs if token_param(k) and _TOKENISH.match(v)]


@active(
    phase=2,
    id="auth.token-in-url",
    title="Credential or token carried in a URL query string",
    category="authentication",
    severity=Severity.MEDIUM,
    confidence=Confidence.FIRM,
    cwe=200,
    owasp="API2:2023",
)
async def token_in_url(ctx: CheckContext) -> None:
    """Tokens in discovered URLs, spec query parameters and Location headers (0 requests)."""
    mine = {v for _, v in url_tokens(ctx.target.url)}  # the user's own choice
    for ep in ctx.endpoints:
        for p in ep.params:
            if p.location != "query" or not token_param(p.name):
                continue
            if ep.source == "openapi":
                ctx.report(
                    Hit(
                        url=ep.url,
                        method=ep.method,
                        parameter=p.name,
                        evidence=f"the spec declares {p.name!r} as a query parameter of "
                        f"{ep.method} {urlsplit(ep.url).path}",
                    )  # fmt: skip
                )
            elif p.example and _TOKENISH.match(p.example) and p.example not in mine:
                ctx.report(
                    Hit(
                        url=ep.url,
                        method=ep.method,
                        parameter=p.name,
                        evidence=f"{ep.source} found {urlsplit(ep.url).path}?{p.name}="
                        f"{mask(p.example)}",
                    )  # fmt: skip
                )
    for ex in list(ctx.exchanges):
        location = ex.response.header("location")
        if not location:
            continue
        target = urljoin(ex.url, location.strip())
        for name, value in url_tokens(target):
            if value in mine:
                continue
            ctx.report(
                Hit(
                    url=_bare(target),
                    parameter=name,
                    evidence=(
                        f"{ex.probe.method} {urlsplit(ex.url).path} -> {ex.status} Location: "
                        f"{_bare(target)}?{name}={mask(value)}"
                    ),
                )
            )


@passive(
    id="auth.basic-over-http",
    title="HTTP Basic authentication over plain HTTP",
    category="authentication",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=319,
    owasp="API2:2023",
)
def basic_over_http(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """One finding per origin; info on a local or private target (contract)."""
    if not exchange.url.startswith("http://"):
        return
    challenges = exchange.response.header_all("www-authenticate")
    challenge = next((c for c in challenges if _BASIC.search(c)), None)
    if challenge is None:
        return
    local = ctx.target.is_local
    yield Hit(
        url=ctx.target.origin + "/",
        method=exchange.probe.method,
        evidence=(
            f"{exchange.probe.method} {urlsplit(exchange.url).path} -> {exchange.status} "
            f"WWW-Authenticate: {challenge[:120]} over http://"
            + (" (local or private address: informational)" if local else "")
        ),
        severity=Severity.INFO if local else None,
    )


def _user_secrets(ctx: CheckContext) -> list[str]:
    """The credentials the scan sends: -H/-b values and --identity headers.

    CSRF cookies are left out: double-submit CSRF puts their value in pages on purpose.
    """
    headers = [*ctx.user_headers, *(h for hs in ctx.identities.values() for h in hs)]
    cookies = [ctx.user_cookie or "", *(v for k, v in headers if k.strip().lower() == "cookie")]
    kept = "; ".join(
        piece
        for raw in cookies
        for piece in raw.split(";")
        if not _CSRF.search(piece.partition("=")[0])
    )
    plain = [(k, v) for k, v in headers if k.strip().lower() != "cookie"]
    secrets = Redactor.for_options(credential_headers(plain), kept or None).secrets
    return [s for s in secrets if len(s) >= MIN_ECHO]


@passive(
    id="auth.credentials-echoed",
    title="The caller's credentials are echoed in a response body",
    category="authentication",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=200,
    owasp="API2:2023",
)
def credentials_echoed(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    secrets = _user_secrets(ctx)
    body = exchange.response.body[:MAX_SCAN]  # bytes: no decoded copy of every body
    if not secrets or not body:
        return
    for secret in secrets:
        raw = secret.encode("utf-8", "replace")
        at = body.find(raw)
        if at < 0:
            continue
        before = body[max(0, at - 40) : at].decode("utf-8", "replace")
        after = body[at + len(raw) : at + len(raw) + 20].decode("utf-8", "replace")
        excerpt = before + mask(secret) + after
        yield Hit(
            url=_bare(exchange.url),
            method=exchange.probe.method,
            evidence=(
                f"{exchange.probe.method} {urlsplit(exchange.url).path} -> {exchange.status}; "
                f"a credential the scanner sent appears in the body: …{excerpt!r}…"
            ),
        )
        return
