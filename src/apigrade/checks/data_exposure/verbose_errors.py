"""Stack traces, SQL errors and framework debug pages in responses (not the Werkzeug debugger).

Signatures need structure, not words: a Python traceback needs ``File "...", line N``
frames, a Node or Java trace two or more frames. On an ordinary page (real HTML markup,
status below 400), where documentation quotes tracebacks, only signatures that a runtime
emits and prose does not (Django's DEBUG page, SQLAlchemy's error footer, PHP's bold error
line, ASP.NET's error page) count. The Werkzeug debugger's pages are left to
``flask.werkzeug-traceback``.

Django markers come from django/views/templates/technical_500.html and technical_404.html
("You're seeing this error because you have <code>DEBUG = True</code> in your Django
settings file", with a straight or typographic apostrophe).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from apigrade import knowledge, rx
from apigrade.checks.common.errors import plain_text, strip_tags
from apigrade.checks.common.werkzeug_page import is_werkzeug_debugger_page
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_SCAN = 300_000
_SKIP_TYPES = ("javascript", "css", "image/", "font/", "audio/", "video/", "octet-stream",
               "application/pdf", "application/zip", "wasm")  # fmt: skip
_MARKUP = rx.compile(r"<(?:html|body|div|p|pre|code|article|section|main|table)\b", rx.I)
_CREDS = rx.compile(r"(\w+://[^\s:/@]+:)[^\s@/]+@")


@dataclass(frozen=True)
class Sign:
    """One verbose-error signature found in a body."""

    kind: str
    excerpt: str
    strong: bool = False  # counts even on an ordinary HTML page
    severity: Severity = Severity.LOW


_SPACES = rx.compile(r"[ \t\xa0]+")
_TAG = rx.compile(r"<[^>]*>")
_MAX_TAG = 2002  # characters of a tag _strip_tags removes, brackets included


def _clip(text: str, n: int = 300) -> str:
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= n else text[: n - 1] + "…"


# -- Python --------------------------------------------------------------------------

_PY_HEAD = "Traceback (most recent call last):"
_PY_FRAME = rx.compile(r'^[ \t]*File "([^"\n]{1,400})", line (\d+)(?:, in ([^\n]{1,120}))?', rx.M)
_PY_EXC = rx.compile(
    r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Fault|Failure|Denied|NotFound|Invalid\w*|DoesNotExist)\b(?::[^\n]{0,200})?)\s*$",
    rx.M,
)


def _python(text: str) -> Sign | None:
    start = text.find(_PY_HEAD)
    if start < 0:
        return None
    chunk = text[start : start + 20000]
    frames = _PY_FRAME.findall(chunk)
    if not frames:
        return None
    last = list(_PY_FRAME.finditer(chunk))[-1]
    exc = _PY_EXC.search(chunk, last.end())
    shown = "; ".join(f"{p}:{n}" + (f" in {f.strip()}" if f else "") for p, n, f in frames[-3:])
    tail = f"; {exc.group(1).strip()}" if exc else ""
    return Sign("Python traceback", f"{_PY_HEAD} {len(frames)} frame(s): {shown}{tail}")


# -- SQL -----------------------------------------------------------------------------

def _sql_errors() -> tuple[knowledge.DbError, ...]:
    """Database error messages: ``data/errors.toml``, the database entries for this check."""
    return knowledge.db_errors("errors.verbose-error")


_sql_errors()  # read and validated at import: a bad table fails the build
_SQL_STMT = rx.compile(r"\[SQL: ([^\]\n]{1,200})")


def _sql(text: str) -> Sign | None:
    hits = [(e.dbms, m, e.strong) for e in _sql_errors() if (m := e.pattern.search(text))]
    if not hits:
        return None
    # The driver's message says more than SQLAlchemy's "Background on this error" footer.
    engine, m, _ = next((h for h in hits if "Background" not in h[1].group(0)), hits[0])
    stmt = _SQL_STMT.search(text)
    extra = f"; query: {stmt.group(1)}" if stmt else ""
    strong = any(h[2] for h in hits) or bool(stmt and "sqlalchemy" in text.lower())
    line_end = text.find("\n", m.end())
    stop = min(m.end() + 200, line_end if line_end >= 0 else len(text))
    return Sign(f"{engine} SQL error", text[m.start() : stop] + extra, strong, Severity.MEDIUM)


# -- framework debug pages -------------------------------------------------------------

_DJANGO = rx.compile(
    r"You(?:'|’|&#x27;|&#39;|&rsquo;)re seeing this error because you have\s+<code>DEBUG\s*=\s*True</code>\s+in\s+your\s+Django\s+settings\s+file",
    rx.I,
)
_DJANGO_FIELD = rx.compile(
    r"<th[^>]*>\s*(Django Version|Exception Type|Exception Value|Exception Location|Python Version|Python Executable):\s*</th>\s*<td[^>]*>(.{0,300}?)</td>",
    rx.S,
)


def _django(raw: str) -> Sign | None:
    if not _DJANGO.search(raw):
        return None
    fields = {k: _clip(html.unescape(_TAG.sub("", v)), 120)
              for k, v in _DJANGO_FIELD.findall(raw)}  # fmt: skip
    if "Django tried these URL patterns" in raw or "Page not found" in raw[:3000]:
        n = raw.count("<li>", raw.find("Django tried these URL patterns"))
        return Sign("Django DEBUG 404 page", f"DEBUG = True page lists the URLconf ({n} patterns)",
                    True, Severity.MEDIUM)  # fmt: skip
    shown = "; ".join(f"{k}: {v}" for k, v in fields.items()) or "DEBUG = True page"
    return Sign("Django DEBUG error page", shown, True, Severity.MEDIUM)


_ASPNET = rx.compile(r"Server Error in '[^'\n]{0,80}' Application\.")
_RAILS = rx.compile(r"<title>\s*Action Controller: Exception caught\s*</title>", rx.I)
_PHP_HTML = rx.compile(
    r"<b>(Fatal error|Parse error|Warning|Notice|Deprecated)</b>:\s*(.{0,200}?) in <b>([^<]{1,200})</b> on line <b>(\d+)</b>",
    rx.S,
)


def _frameworks(raw: str) -> Sign | None:
    m = _ASPNET.search(raw)
    if m and ("Stack Trace:" in raw or "Exception Details:" in raw):
        return Sign("ASP.NET error page", m.group(0), True, Severity.MEDIUM)
    if _RAILS.search(raw):
        return Sign(
            "Rails exception page", "Action Controller: Exception caught", True, Severity.MEDIUM
        )
    m2 = _PHP_HTML.search(raw)
    if m2:
        kind, msg, path, line = m2.groups()
        return Sign(
            "PHP error", f"{kind}: {_clip(html.unescape(msg), 150)} in {path} on line {line}", True
        )
    return None


# -- Node / Java -----------------------------------------------------------------------

_NODE_FRAME = rx.compile(
    r"^\s*at (?:[^\n()]{1,160} \()?((?:/|[A-Za-z]:\\|node:|file:)[^\n():]{1,300}):(\d+):\d+\)?\s*$",
    rx.M,
)
_NODE_ERR = rx.compile(r"^\s*(?:\w*Error|Error)(?: \[\w+\])?: [^\n]{0,200}", rx.M)
_JAVA_FRAME = rx.compile(
    r"^\s*at (?:[\w.$-]+(?:@[\w.-]+)?/)*[\w$]+(?:\.[\w$<>]+)+\((?:[\w$ -]+\.(?:java|kt|scala|groovy):\d+|Native Method|Unknown Source)\)\s*$",
    rx.M,
)
_JAVA_EXC = rx.compile(
    r"\b(?:java|javax|jakarta|org|com|net|io|kotlin)\.[\w.$]+(?:Exception|Error)\b[^\n]{0,200}"
)


def _node(text: str) -> Sign | None:
    frames = _NODE_FRAME.findall(text)
    if len(frames) < 2:
        return None
    err = _NODE_ERR.search(text)
    shown = "; ".join(f"{p}:{n}" for p, n in frames[:3])
    head = f"{err.group(0).strip()}; " if err else ""
    return Sign("Node.js stack trace", f"{head}{len(frames)} frames: {shown}")


def _java(text: str) -> Sign | None:
    frames = _JAVA_FRAME.findall(text)
    exc = _JAVA_EXC.search(text)
    if len(frames) < 2 or exc is None:
        return None
    return Sign(
        "Java stack trace",
        f"{exc.group(0).strip()}; {len(frames)} frames, e.g. {frames[0].strip()}",
    )


_TEXT_DETECTORS: tuple[Callable[[str], Sign | None], ...] = (_python, _sql, _node, _java)


# -- body normalisation: apigrade.checks.common.errors.plain_text ----------------------


def _strip_tags(text: str) -> str:
    """``text`` without its tags of at most ``_MAX_TAG`` characters (``strip_tags``)."""
    return strip_tags(text, _MAX_TAG)


def find_signs(raw: str, ctype: str = "") -> list[Sign]:
    """Every verbose-error signature in a body (raw text and its plain form)."""
    signs = [s for s in (_django(raw), _frameworks(raw)) if s is not None]
    plain = plain_text(raw, ctype)
    for detect in _TEXT_DETECTORS:
        sign = detect(plain)
        if sign is not None:
            signs.append(sign)
    return signs


def _path_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def _redact(text: str) -> str:
    return _CREDS.sub(lambda m: m.group(1) + "****@", text)


@passive(
    id="errors.verbose-error",
    title="Response discloses a stack trace or internal error",
    category="data-exposure",
    severity=Severity.LOW,
    confidence=Confidence.FIRM,
    cwe=209,
    owasp="API8:2023",
)
def verbose_errors(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """One finding per URL path; the first response that shows the leak is the evidence."""
    resp = exchange.response
    ctype = resp.content_type
    if any(t in ctype for t in _SKIP_TYPES) or not resp.body:
        return
    raw = resp.text[:MAX_SCAN]
    if is_werkzeug_debugger_page(raw):
        return  # flask.werkzeug-traceback
    if resp.status == 404 and "<code>DEBUG = True</code>" in raw:
        return  # Django's DEBUG 404 page (no trace): django.debug-mode, once per site
    signs = find_signs(raw, ctype)
    ordinary_page = resp.status < 400 and "html" in ctype and bool(_MARKUP.search(raw[:20000]))
    if ordinary_page:
        signs = [s for s in signs if s.strong]
    if not signs:
        return
    worst = max((s.severity for s in signs), key=lambda s: s.rank)
    kinds = ", ".join(dict.fromkeys(s.kind for s in signs))
    detail = " | ".join(_clip(s.excerpt, 400) for s in signs[:3])
    yield Hit(
        url=_path_url(exchange.url),
        method=exchange.probe.method,
        evidence=_redact(
            f"{exchange.probe.method} {exchange.url} -> {resp.status}; {kinds}: {detail}"
        ),
        severity=worst,
        confidence=Confidence.TENTATIVE if ordinary_page else None,
        title=f"Response discloses a {signs[0].kind}",
    )
