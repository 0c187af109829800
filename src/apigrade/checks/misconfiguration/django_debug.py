"""Django ``DEBUG = True``: the technical 404 and 500 pages, and the settings the 500 page shows.

With ``DEBUG = True`` every URL that matches no route answers with the technical 404 page
(django/views/debug.py, ``technical_404_response``: the URLconf's patterns), and every
unhandled exception with the technical 500 page (source, local variables, request and
settings). Django's ``SafeExceptionReporterFilter`` masks settings and environment values
whose *name* matches ``API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE`` as
``********************``; anything else is shown as is (``DATABASE_URL``, ``SENTRY_DSN``,
``*_CREDENTIALS``...).

Requests (``django.debug-mode``, default mode, GET only):
  - 0 when discovery already got a 404 (robots.txt, sitemaps and spec paths usually do),
    else 1 GET of a random path;
  - with the DEBUG 404 page, at most ``MAX_ERROR_PROBES`` (3) GETs that put a
    non-numeric word into a route's untyped parameter (``<pk>``, ``<str:pk>``), the
    classic cause of a 500 (``int('x')``, ``Field 'id' expected a number``).
The settings leak (``django.debug-settings``) is passive: it reads every technical 500 page
the scan sees, whichever check caused it, in HTML or in the text form Django sends to
clients that do not accept text/html (technical_500.txt).
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from apigrade import rx
from apigrade.checks.common.apiutil import word_filled
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, passive
from apigrade.discovery.django import is_debug_page, parse_urlconf
from apigrade.discovery.model import Endpoint
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity
from apigrade.redact import mask

MAX_ERROR_PROBES = 3
MAX_TEXT = 600_000
PROBE_WORD = "apigrade"
#: what Django's SafeExceptionReporterFilter puts in place of a hidden value
CLEANSED = "********************"
#: names Django hides (django/views/debug.py, SafeExceptionReporterFilter.hidden_settings)
_HIDDEN = rx.compile(r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE", rx.I)
#: names Django does not hide but that usually hold a secret
_SECRETISH = rx.compile(r"CREDENTIAL|PRIVATE|SALT|DSN|PWD|CONN(?:ECTION)?_?(?:STR|URL|URI)", rx.I)
_URL_CREDS = rx.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]{1,20}://)([^:/@\s'\"]{0,100}):([^@/\s'\"]{1,200})@")
_URL_USER = rx.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://([A-Za-z0-9]{16,100})@")
_ROW = rx.compile(
    r"<tr>\s*<td>([A-Za-z_][A-Za-z0-9_]{0,100})</td>\s*<td class=\"code\"><pre>(.{0,1000}?)</pre></td>",
    rx.S,
)
_FIELD = rx.compile(
    r"<th[^>]*>\s*(Django Version|Exception Type|Exception Location):\s*</th>\s*<td[^>]*>(.{0,300}?)</td>",
    rx.S,
)
_TEXT_ROW = rx.compile(r"(?m)^([A-Za-z_][A-Za-z0-9_]{0,100}) = (.{0,1000})$")
_TEXT_FOOTER = rx.compile(
    r"You(?:'|’)re seeing this error because you have DEBUG = True in your\s+Django settings file"
)
_SETTINGS_MODULE = rx.compile(r"Using settings module <code>([^<]{1,200})</code>")
_TAG = rx.compile(r"<[^>]{0,500}>")
_SPACE = rx.compile(r"\s+")

# -- pure helpers (tested directly) ------------------------------------------------------


@dataclass(frozen=True)
class Leak:
    """One value a DEBUG page shows that should have been masked."""

    name: str
    shown: str  # masked for the report
    why: str
    secret: str  # the raw value (never reported; a SECRET_KEY goes to the knowledge base)


def _text(fragment: str) -> str:
    return _SPACE.sub(" ", html.unescape(_TAG.sub("", fragment))).strip()


def page_facts(text: str) -> dict[str, str]:
    """Django version, exception and settings module a technical 500 page names."""
    facts = {k: _text(v)[:120] for k, v in _FIELD.findall(text[:MAX_TEXT])}
    module = _SETTINGS_MODULE.search(text[:MAX_TEXT])
    if module:
        facts["Settings module"] = module.group(1).strip()
    return facts


def _unrepr(value: str) -> str:
    value = html.unescape(value).strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _mask_url(value: str) -> str:
    return _URL_CREDS.sub(lambda m: f"{m.group(1)}{m.group(2)}:{mask(m.group(3))}@", value)


def _judge(name: str, value: str) -> Leak | None:
    if not value or value == CLEANSED:
        return None
    if name.upper() == "SECRET_KEY" and CLEANSED not in value:
        return Leak(name, mask(value), "the SECRET_KEY itself, unmasked", value)
    creds = _URL_CREDS.search(value)
    if creds and set(creds.group(3)) != {"*"}:
        return Leak(name, _mask_url(value)[:160], "a password inside a URL", creds.group(3))
    user = _URL_USER.search(value)
    if user and "DSN" in name.upper():
        key = user.group(1)
        return Leak(name, value.replace(key, mask(key))[:160], "a key inside a DSN", key)
    if _HIDDEN.search(name) is None and _SECRETISH.search(name) and _looks_secret(value):
        return Leak(name, mask(value), "a secret-looking value", value)
    return None


def _looks_secret(value: str) -> bool:
    """A token-like string: long, no spaces or slashes (not a path or URL), letters and digits."""
    return (
        8 <= len(value) <= 500
        and " " not in value
        and "/" not in value
        and not value.startswith(("{", "[", "("))
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
    )


def _rows(text: str) -> list[tuple[str, str]]:
    """(name, shown value) of the META and settings of a technical 500 page, HTML or text."""
    if is_debug_page(text):
        # the request's META (the environment under runserver / wsgiref), then the
        # settings; "requestinfo" before Django 3.1
        marks = [text.find(m) for m in ('id="request-info"', 'id="requestinfo"', 'id="settings-info"')]
        found = [i for i in marks if i >= 0]
        return _ROW.findall(text[min(found):]) if found else []
    if _TEXT_FOOTER.search(text[-2000:]) is None:
        return []
    # technical_500.txt, for clients that do not accept text/html
    found = [i for i in (text.find("\nMETA:"), text.find("\nSettings:\n")) if i >= 0]
    return _TEXT_ROW.findall(text[min(found):]) if found else []


def settings_leaks(text: str) -> list[Leak]:
    """Settings and request/environment rows of a technical 500 page that show a secret."""
    found: dict[str, Leak] = {}
    for name, raw in _rows(text[:MAX_TEXT]):
        leak = _judge(name, _unrepr(raw))
        if leak is not None:
            found.setdefault(name, leak)
    return list(found.values())


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# -- django.debug-settings (passive) ------------------------------------------------------


@passive(
    id="django.debug-settings",
    writes=("secret_keys",),
    title="Django DEBUG page shows secrets from the settings or environment",
    category="data-exposure",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=209,
    owasp="API8:2023",
)
def debug_settings(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """One finding per leaking setting name; a SECRET_KEY shown in clear goes to the kb."""
    resp = exchange.response
    if resp.status < 500 or not any(t in resp.content_type for t in ("html", "text/plain")):
        return
    text = resp.text
    if "settings-info" not in text and "\nSettings:\nUsing settings module" not in text:
        return
    for leak in settings_leaks(text):
        if leak.name.upper() == "SECRET_KEY":
            where = f"the Django DEBUG page at {_path_of(exchange.url)}"
            if leak.secret not in {k for k, _ in ctx.kb.secret_keys}:
                ctx.kb.secret_keys.append((leak.secret, where))
        yield Hit(
            url=ctx.target.url,
            parameter=leak.name,
            evidence=(
                f"GET {_path_of(exchange.url)} -> {resp.status}: Django technical 500 page "
                f"shows {leak.name} = {leak.shown!r} ({leak.why}, not masked by Django's "
                "SafeExceptionReporterFilter)"
            ),
            severity=Severity.CRITICAL if leak.name.upper() == "SECRET_KEY" else None,
        )


# -- django.debug-mode (active, default mode) ---------------------------------------------


def _error_probe_urls(endpoints: list[Endpoint]) -> list[str]:
    """Routes the URLconf lists with a string parameter, filled with a non-numeric word."""
    urls: list[str] = []
    for ep in endpoints:
        if ep.source != "django-urlconf" or "admin" in ep.url.split("/")[3:4]:
            continue
        params = ep.params_in("path")
        if not params or all(p.type == "integer" for p in params):
            continue
        url = word_filled(ep, PROBE_WORD)
        if "{" not in url:  # a parameter the route table did not list
            urls.append(url)
    return list(dict.fromkeys(urls))[:MAX_ERROR_PROBES]


def _debug_404(exchanges: list[Exchange]) -> Exchange | None:
    """The first DEBUG 404 page, preferring one that lists the URLconf."""
    pages = [ex for ex in exchanges if ex.status == 404 and is_debug_page(ex.text)]
    listing = [ex for ex in pages if "Django tried these URL patterns" in ex.text[:MAX_TEXT]]
    found = listing or pages
    return found[0] if found else None


@active(
    id="django.debug-mode",
    title="Django runs with DEBUG = True",
    category="misconfiguration",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=489,
    owasp="API8:2023",
)
async def debug_mode(ctx: CheckContext) -> None:
    """The DEBUG 404 page from discovery (or one GET), then ≤3 GETs for a 500 page."""
    seen = [ex for ex in list(ctx.exchanges) if ex.status == 404]
    page = _debug_404(seen)
    if page is None and not seen:
        ex = await ctx.get(f"/{PROBE_WORD}-{secrets.token_hex(4)}/")
        page = _debug_404([ex]) if ex is not None else None
    if page is None:
        return
    conf = parse_urlconf(page.text)
    listed = [p or "(empty path)" for p in conf.patterns] if conf else []
    evidence = f"GET {_path_of(page.url)} -> 404: Django DEBUG 404 page"
    if conf is not None:
        evidence += (
            (f", URLconf {conf.module}" if conf.module else "")
            + f" lists {len(listed)} URL pattern(s): {', '.join(listed[:8])}"
            + (" …" if len(listed) > 8 else "")
        )
    for url in _error_probe_urls(ctx.endpoints):
        ex = await ctx.get(url)
        if ex is None or ex.status < 500 or not is_debug_page(ex.text):
            continue
        facts = page_facts(ex.text)
        shown = "; ".join(f"{k}: {v}" for k, v in facts.items())
        evidence += (
            f"; GET {_path_of(ex.url)} -> {ex.status}: technical 500 page with source, "
            f"local variables and settings ({shown})"
        )
        break
    ctx.report(Hit(url=ctx.target.url, evidence=evidence))

