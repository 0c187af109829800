"""Helpers for JSON APIs, shared by checks of every category.

Used by the bola, bfla, property-authorization, inventory, authentication and injection checks:
parse JSON bodies, tell data from error envelopes, fill ``{param}`` path templates, pick
the identity fields of a record, and send probes as nobody or as a named identity.
Everything but the probe wrappers at the end is pure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from apigrade import rx
from apigrade.engine.baseline import similar
from apigrade.engine.http import Exchange

if TYPE_CHECKING:
    from apigrade.checks.context import CheckContext
    from apigrade.discovery.model import Endpoint

MAX_JSON = 1_000_000  # bytes: larger bodies are not parsed
TEMPLATE = rx.compile(r"\{([^{}/]+)\}")

# Keys of error envelopes ({"error": ...}, FastAPI's {"detail": ...}): not data.
_ERROR_KEYS = frozenset({
    "error", "errors", "message", "detail", "details", "msg", "status", "code", "title",
    "type", "success", "ok", "statuscode", "reason", "description", "path", "timestamp",
    "instance", "error_description", "redirect", "location",
})  # fmt: skip
# Fields that tell whose record this is.
IDENTITY_KEYS = frozenset({
    "email", "mail", "username", "user", "userid", "owner", "ownerid", "owneremail",
    "login", "account", "accountid", "customer", "customerid", "phone", "phonenumber",
    "fullname", "firstname", "lastname", "author", "authorid", "createdby", "ssn", "iban",
})  # fmt: skip
# Identity fields that are not public profile data.
PRIVATE_IDENTITY_KEYS = IDENTITY_KEYS - {
    "username", "user", "login", "fullname", "firstname", "lastname", "author", "authorid",
    "createdby",
}  # fmt: skip
ID_KEYS = ("id", "user_id", "userId", "uid", "account_id", "accountId", "_id")
_WRAPPERS = ("data", "user", "result", "item", "record", "account", "profile", "object")
# Path segments of privileged functions and private data.
ADMIN_SEGMENTS = frozenset({
    "admin", "admins", "administrator", "_admin", "manage", "management", "internal",
    "staff", "superuser", "sudo", "backoffice", "root",
})  # fmt: skip
PRIVATE_SEGMENTS = frozenset({
    "me", "whoami", "account", "accounts", "profile", "internal", "private", "settings",
    "billing", "admin", "_admin", "administrator",
})  # fmt: skip
_PASSWORD_INPUT = rx.compile(r"""<input[^>]+type\s*=\s*["']?password""", rx.I)


_NON_ALNUM = rx.compile(r"[^a-z0-9]")


def norm_key(key: str) -> str:
    """``User-Id`` and ``user_id`` both become ``userid``."""
    return _NON_ALNUM.sub("", key.lower())


def path_of(url: str) -> str:
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return "/"


def segments(url_or_path: str) -> list[str]:
    path = path_of(url_or_path) if "://" in url_or_path else url_or_path.split("?", 1)[0]
    return [s for s in path.split("/") if s]


def json_body(ex: Exchange | None) -> Any | None:
    """The parsed JSON body, or None (HTML, truncated, too big, not JSON).

    Reads the raw bytes (JSON is UTF-8) so that no decoded copy of every body is kept.
    """
    if ex is None or ex.response.truncated or len(ex.response.body) > MAX_JSON:
        return None
    ctype = ex.response.content_type
    if "html" in ctype:
        return None
    raw = ex.response.body.lstrip()
    if "json" not in ctype and not raw.startswith((b"{", b"[")):
        return None
    try:
        return json.loads(raw.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return None


def _filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def has_data(value: Any) -> bool:
    """True for a non-empty JSON record or list, False for error envelopes and nulls."""
    if isinstance(value, list):
        return any(_filled(v) for v in value)
    if isinstance(value, dict):
        return any(_filled(v) for k, v in value.items() if norm_key(str(k)) not in _ERROR_KEYS)
    return False


def record(value: Any, depth: int = 0) -> dict[str, Any] | None:
    """The object a JSON body describes, unwrapping ``{"data": {...}}`` style wrappers."""
    if not isinstance(value, dict) or depth > 2:
        return None
    for key in _WRAPPERS:
        inner = value.get(key)
        if isinstance(inner, dict) and len(value) <= 3:
            return record(inner, depth + 1) or inner
    return value if has_data(value) else None


def identity_values(rec: dict[str, Any]) -> dict[str, str]:
    """Identity fields of a record (one nested level): ``{"email": "a@x.io", ...}``."""
    out: dict[str, str] = {}
    for key, value in rec.items():
        nk = norm_key(str(key))
        if isinstance(value, dict):
            for sub, sv in value.items():
                if norm_key(str(sub)) in IDENTITY_KEYS and isinstance(sv, str | int) and sv != "":
                    out.setdefault(f"{nk}.{norm_key(str(sub))}", str(sv))
        elif nk in IDENTITY_KEYS and isinstance(value, str | int) and value != "":
            out.setdefault(nk, str(value))
    return out


def record_id(rec: dict[str, Any]) -> str | None:
    """The record's own id (``id``, ``user_id``...) when it is a scalar."""
    for key in ID_KEYS:
        value = rec.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def other_identity(a: dict[str, str], b: dict[str, str]) -> str | None:
    """The first identity field both records have with different values."""
    for key in sorted(set(a) & set(b)):
        if a[key].strip().lower() != b[key].strip().lower():
            return key
    return None


def same_body(a: Exchange, b: Exchange, threshold: float = 0.9) -> bool:
    return a.status == b.status and similar(a.text[:20000], b.text[:20000]) >= threshold


def is_login_page(text: str) -> bool:
    return bool(_PASSWORD_INPUT.search(text[:50000]))


def fill(url: str, ep: Endpoint | None = None, values: dict[str, str] | None = None) -> str:
    """Fill ``{name}`` templates: ``values``, then the spec's examples, then ``1``."""
    examples = {p.name: p.example for p in ep.params if p.example} if ep else {}
    given = values or {}

    def one(m: rx.Match) -> str:
        name = m.group(1)
        value = given.get(name) or examples.get(name) or "1"
        return quote(str(value), safe="")

    return TEMPLATE.sub(one, url)


def word_filled(ep: Endpoint, word: str) -> str:
    """The endpoint's URL with integer path parameters as ``1`` and every other one as
    ``word``: a value the code behind a string parameter may not expect (error pages)."""
    url = ep.url
    for p in ep.params_in("path"):  # as written: the word's quote reaches the app raw
        url = url.replace("{" + p.name + "}", "1" if p.type == "integer" else word)
    return url


def with_required_query(url: str, ep: Endpoint) -> str:
    """``url`` plus the endpoint's required query parameters that have examples."""
    query = [
        f"{quote(p.name, safe='')}={quote(p.example or '', safe='')}"
        for p in ep.params
        if p.location == "query" and p.required and p.example
    ]
    return f"{url}?{'&'.join(query)}" if query else url


def get_endpoints(ctx: CheckContext) -> Iterator[Endpoint]:
    """Discovered GET endpoints, spec ones first."""
    eps = [e for e in ctx.endpoints if e.method.upper() == "GET"]
    yield from sorted(eps, key=lambda e: (e.source != "openapi", e.url))


def uniq(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# -- probes ------------------------------------------------------------------------


def has_user_credentials(ctx: CheckContext) -> bool:
    """True when the user gave -H headers or -b cookies (sent on every normal probe)."""
    return bool(ctx.user_headers or ctx.user_cookie)


async def get_anonymous(
    ctx: CheckContext, url: str, *, method: str = "GET", follow_redirects: bool = True
) -> Exchange | None:
    """A probe without the user's credentials (a normal one when there are none: cached)."""
    return await ctx.get(
        url, method=method, follow_redirects=follow_redirects,
        anonymous=has_user_credentials(ctx),
    )  # fmt: skip


async def get_as(
    ctx: CheckContext, url: str, identity: str, *, follow_redirects: bool = True
) -> Exchange | None:
    """A probe carrying only the named identity's headers (``--identity``)."""
    headers = ctx.identities.get(identity, ())
    return await ctx.get(url, headers=headers, anonymous=True, follow_redirects=follow_redirects)


class Counter:
    """A per-check request bound: ``if not budget.take(): stop``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, n: int = 1) -> bool:
        if self.used + n > self.limit:
            return False
        self.used += n
        return True
