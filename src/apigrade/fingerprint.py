"""Passive technology fingerprinting from responses the scan already has.

:func:`fingerprint` is pure: it reads status, headers, body and cookies of
responses and names the server software and frameworks behind them, with one
short piece of evidence per guess. The markers are the literal texts the
frameworks emit by default (Werkzeug's HTML error pages, Django's default 404,
FastAPI's JSON errors, Express's finalhandler page, ...), so a guess needs a
specific marker, never a generic one such as ``X-Frame-Options: DENY``.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import get_args

from apigrade import knowledge, rx

# Frameworks first, then application servers, then front servers / proxies.
FRAMEWORK_ORDER: tuple[str, ...] = get_args(knowledge.Framework)
# Server products, cookie names and the simple body marks are data: data/fingerprints.toml.
knowledge.fingerprints()  # read and validated at import: a bad table fails the build

MAX_BODY = 50_000  # characters of a body examined
_BANNER_HEADERS = ("server", "x-powered-by")
# "Name/1.2.3" tokens of a banner ("Werkzeug/3.1.3 Python/3.12.1").
_PRODUCT = rx.compile(r"([A-Za-z][\w.+-]{0,40})/(\d[\w.+-]{0,30})")
_BARE_PRODUCT = rx.compile(r"[A-Za-z][\w-]{0,40}")

# -- body markers (texts the frameworks emit by default) ------------------------------

# Werkzeug HTTPException.get_body(): 2.x+ "<!doctype html>\n<html lang=en>\n<title>404
# Not Found</title>\n<h1>Not Found</h1>"; before 2.0 an HTML 3.2 doctype.
_WERKZEUG_ERROR = rx.compile(
    r"^\s*(?:<!doctype html>\s*<html lang=en>|"
    r'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3\.2 Final//EN">)\s*'
    r"<title>(\d{3}) ([^<]{1,80})</title>\s*<h1>([^<]{1,80})</h1>",  # <h1> repeats the reason
    rx.IGNORECASE,
)
_WERKZEUG_404_TEXT = (
    "The requested URL was not found on the server. If you entered the URL manually "
    "please check your spelling and try again."
)
# Django: default 404 (since 3.x/4.x wording), older 404, bare 400/403/500, debug pages.
_DJANGO_404 = rx.compile(
    r"<title>Not Found</title>\s*</head>\s*<body>\s*<h1>Not Found</h1>"
    r"<p>The requested resource was not found on this server\.</p>"
)
_DJANGO_OLD_404 = rx.compile(  # the URL (group 1) is at most 2000 characters
    r"^\s*<h1>Not Found</h1><p>The requested URL ([^<]*) was not found on this server\.</p>\s*$"
)
_DJANGO_ERROR = rx.compile(  # <title> and <h1> carry the same text
    "|".join(
        rf"<title>{t}</title>\s*</head>\s*<body>\s*<h1>{t}</h1><p></p>"
        for t in (r"Bad Request \(400\)", "403 Forbidden", r"Server Error \(500\)")
    )
)
# Express's finalhandler: "Cannot GET /x" in <pre> (older versions: the bare text).
_EXPRESS_404 = rx.compile(  # the path (group 1 or 2) is at most 2000 characters
    r"<title>Error</title>\s*</head>\s*<body>\s*<pre>Cannot [A-Z]{3,10} /([^<]*)</pre>|"
    r"^Cannot [A-Z]{3,10} /(\S*)\n?$"
)
_MAX_PATH = 2000

# itsdangerous TimestampSigner output: value "." base64url(timestamp) "." base64url(sig).
_ITSDANGEROUS = rx.compile(
    r"^(?P<payload>\.?[A-Za-z0-9_\-+/=]{2,})\.(?P<ts>[A-Za-z0-9_-]{4,8})\.(?P<sig>[A-Za-z0-9_-]{20,90})$"
)
_MAX_PAYLOAD = 8000  # base64 characters of an itsdangerous payload
_EXPRESS_WORD = rx.compile(r"\bexpress\b")
_PHP_WORD = rx.compile(r"\bphp\b")


@dataclass(frozen=True)
class FpInput:
    """One response, reduced to what fingerprinting reads.

    ``headers`` are (name, value) pairs (a mapping also works); ``cookies``
    are the names of cookies the response sets.
    """

    status: int
    headers: Sequence[tuple[str, str]] | Mapping[str, str] = ()
    body: str = ""
    cookies: Sequence[str] = ()


@dataclass
class FingerprintResult:
    """What the responses reveal about the software behind the target."""

    server: str | None = None  # the (first) Server header value
    frameworks: list[str] = field(default_factory=list)  # in FRAMEWORK_ORDER
    versions: dict[str, str] = field(default_factory=dict)  # product -> version
    evidence: dict[str, str] = field(default_factory=dict)  # framework -> one short reason


class _Acc:
    """Accumulates guesses; the first reason given for a framework is kept."""

    def __init__(self) -> None:
        self.evidence: dict[str, str] = {}
        self.versions: dict[str, str] = {}
        self.server: str | None = None

    def add(self, name: str, reason: str) -> None:
        self.evidence.setdefault(name, reason[:200])

    def version(self, product: str, version: str) -> None:
        self.versions.setdefault(product.lower(), version)


def _pairs(headers: Sequence[tuple[str, str]] | Mapping[str, str]) -> list[tuple[str, str]]:
    """(lower-cased name, value) pairs from a pair list or a mapping."""
    items: Iterable[object] = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for item in items:
        if isinstance(item, tuple | list) and len(item) == 2:
            k, v = item
            if isinstance(k, str) and isinstance(v, str):
                out.append((k.lower(), v))
    return out


def _banner(acc: _Acc, header: str, value: str) -> None:
    """Products and versions named in a Server / X-Powered-By value."""
    products = _PRODUCT.findall(value)
    for name, version in products:
        acc.version(name, version)
    names = [n.lower() for n, _ in products]
    if header == "server" and not names:
        first = _BARE_PRODUCT.match(value.strip())
        names = [first.group(0).lower()] if first else []
    shown = f"{header.title()}: {value.strip()[:80]}"
    for name in names:
        key = knowledge.fingerprints().servers.get(name)
        if header == "server" and key is not None:
            acc.add(key, shown)
            if key == "werkzeug":
                acc.add("flask", f"{shown} (the Werkzeug server Flask runs on)")
    if header == "x-powered-by":
        low = value.lower()
        if _EXPRESS_WORD.search(low):
            acc.add("express", shown)
        if _PHP_WORD.search(low):
            acc.add("php", shown)
        if "asp.net" in low:
            acc.add("aspnet", shown)


def _b64url_decode(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def itsdangerous_kind(value: str) -> str | None:
    """Which framework signed a cookie value as an itsdangerous session, if any.

    Returns "flask", "starlette" or None.

    Flask's ``URLSafeTimedSerializer`` writes unpadded base64url of compact JSON
    (zlib-compressed when it pays, marked by a leading "."); Starlette's
    ``SessionMiddleware`` signs standard, padded base64 of ``json.dumps`` output.
    """
    m = _ITSDANGEROUS.match(value.strip().strip('"'))
    if m is None or len(m.group("payload").lstrip(".")) > _MAX_PAYLOAD:
        return None
    payload = m.group("payload")
    if any(c in payload for c in "+/="):
        try:
            raw = base64.b64decode(payload, validate=True)
            json.loads(raw)
        except (binascii.Error, ValueError):
            return None
        return "starlette"
    compressed = payload.startswith(".")
    raw_bytes = _b64url_decode(payload[1:] if compressed else payload)
    if raw_bytes is None:
        return None
    if compressed:
        try:
            raw_bytes = zlib.decompressobj().decompress(raw_bytes, 100_000)
        except zlib.error:
            return None
    try:
        text = raw_bytes.decode("utf-8")
        json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return None
    # json.dumps() defaults put ": " between keys and values; Flask's compact JSON does not.
    if not compressed and '": ' in text:
        return "starlette"
    return "flask"


def _cookies(acc: _Acc, names: Sequence[str], pairs: list[tuple[str, str]]) -> None:
    values: dict[str, str] = {}
    for k, v in pairs:
        if k == "set-cookie":
            name, sep, rest = v.partition("=")
            if sep and name.strip():
                values.setdefault(name.strip(), rest.split(";", 1)[0])
    all_names = list(dict.fromkeys([*names, *values]))
    known = knowledge.fingerprints().cookies
    for name in all_names:
        if name in values:
            kind = itsdangerous_kind(values[name])
            if kind is not None:
                acc.add(kind, f"cookie {name!r} is an itsdangerous-signed {kind} session")
        framework_reason = known.get(name.lower())
        if framework_reason is not None:
            framework, reason = framework_reason
            acc.add(framework, reason.replace("{name}", repr(name)))


def _json_detail(body: str) -> object:
    text = body.strip()
    if not (text.startswith("{") and text.endswith("}")) or len(text) > 100_000:
        return None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(doc, dict) and list(doc) == ["detail"]:
        return doc["detail"]
    return None


def _is_fastapi_validation(detail: object) -> bool:
    """FastAPI's 422 body: {"detail": [{"loc": [...], "msg": ..., "type": ...}, ...]}."""
    return (
        isinstance(detail, list)
        and bool(detail)
        and all(isinstance(d, dict) and {"loc", "msg", "type"} <= set(d) for d in detail)
    )


def _body(acc: _Acc, status: int, body: str, pairs: list[tuple[str, str]]) -> None:
    if not body:
        return
    body = body[:MAX_BODY]
    ctype = next((v.lower() for k, v in pairs if k == "content-type"), "")
    m = _WERKZEUG_ERROR.match(body)
    if m is not None and m.group(3).lower() == m.group(2).lower():
        reason = f"Werkzeug default HTML error page ({m.group(1)} {m.group(2)})"
        acc.add("werkzeug", reason)
        acc.add("flask", reason)
    elif _WERKZEUG_404_TEXT in body:
        acc.add("werkzeug", "Werkzeug's NotFound description text")
        acc.add("flask", "Werkzeug's NotFound description text")
    old_404 = _DJANGO_OLD_404.match(body)
    if _DJANGO_404.search(body) or (old_404 is not None and len(old_404.group(1)) <= _MAX_PATH):
        acc.add("django", "Django default 404 page")
    elif _DJANGO_ERROR.search(body):
        acc.add("django", "Django default error page")
    if status in (404, 405, 422) and "json" in ctype:
        detail = _json_detail(body)
        if (status, detail) in ((404, "Not Found"), (405, "Method Not Allowed")):
            reason = f'{status} JSON {{"detail":"{detail}"}} (FastAPI default)'
            acc.add("fastapi", reason)
            acc.add("starlette", reason)
        elif status == 422 and _is_fastapi_validation(detail):
            acc.add("fastapi", "422 JSON validation error in FastAPI's shape")
            acc.add("starlette", "422 JSON validation error in FastAPI's shape")
    express = _EXPRESS_404.search(body) if status == 404 else None
    if express is not None and len(express.group(1) or express.group(2) or "") <= _MAX_PATH:
        acc.add("express", "Express 'Cannot GET /...' 404 page")
    for mark in knowledge.fingerprints().body:  # data/fingerprints.toml, in file order
        found = mark.pattern.search(body)
        if found is None:
            continue
        for framework in mark.frameworks:
            acc.add(framework, mark.reason)
        if mark.version_group is not None and found.group(mark.version_group):
            acc.version(mark.frameworks[0], found.group(mark.version_group))


def _starlette_plain_404(status: int, body: str, pairs: list[tuple[str, str]]) -> bool:
    """Starlette's router answers a miss with text/plain "Not Found" (also Express's
    ``sendStatus``), so it only counts on an ASGI server."""
    ctype = next((v.lower() for k, v in pairs if k == "content-type"), "")
    return status == 404 and body.strip() == "Not Found" and ctype.startswith("text/plain")


def _one(acc: _Acc, resp: FpInput) -> bool:
    """Learn from one response; True when it is a plain-text "Not Found" 404."""
    pairs = _pairs(resp.headers)
    for name, value in pairs:
        if name in _BANNER_HEADERS:
            if name == "server" and acc.server is None and value.strip():
                acc.server = value.strip()
            _banner(acc, name, value)
        elif name == "x-aspnet-version":
            acc.add("aspnet", f"X-AspNet-Version: {value[:40]}")
            acc.version("aspnet", value.strip()[:40])
    body = resp.body if isinstance(resp.body, str) else ""
    status = resp.status if isinstance(resp.status, int) else 0
    _cookies(acc, [c for c in resp.cookies if isinstance(c, str)], pairs)
    _body(acc, status, body, pairs)
    return _starlette_plain_404(status, body[:100], pairs)


def fingerprint(responses: Iterable[FpInput]) -> FingerprintResult:
    """Name the server and frameworks behind ``responses``.

    Returns the first Server header value, the frameworks found (ordered as in
    ``FRAMEWORK_ORDER``), product versions parsed from banners such as
    ``Werkzeug/3.1.3 Python/3.12.1`` or ``X-Powered-By: PHP/8.1``, and one short
    reason per framework. Never raises on odd input.
    """
    acc = _Acc()
    plain_404 = False
    for resp in responses:
        try:
            plain_404 = _one(acc, resp) or plain_404
        except (TypeError, AttributeError):
            continue  # a malformed input object: skip it, keep what was learnt
    if plain_404 and ({"uvicorn", "hypercorn"} & set(acc.evidence)):
        acc.add("starlette", 'text/plain "Not Found" 404 from an ASGI server')
    frameworks = sorted(acc.evidence, key=FRAMEWORK_ORDER.index)
    return FingerprintResult(
        server=acc.server,
        frameworks=frameworks,
        versions=dict(acc.versions),
        evidence={k: acc.evidence[k] for k in frameworks},
    )
