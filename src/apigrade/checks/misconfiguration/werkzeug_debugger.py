"""The Werkzeug interactive debugger: shared resources, console, traceback pages.

Facts this module relies on (Werkzeug 1.0 to 3.1, ``werkzeug/debug``):

* ``DebuggedApplication`` answers ``?__debugger__=yes&cmd=resource&f=<name>`` on *any*
  path with a file of its ``shared/`` folder (``debugger.js``, ``style.css``), whatever
  the wrapped app would have said; ``evalex`` does not matter for that.
* With ``evalex=True`` it serves an interactive console at ``/console``. From 3.0.3 on
  (CVE-2024-34069 fix) the console and code execution answer ``400 Bad Request`` unless
  the ``Host`` header is in ``trusted_hosts`` (``.localhost``, ``127.0.0.1`` and the
  host given to ``run_simple``); any client that reaches the server directly can send
  ``Host: localhost``.
* Every debugger page (traceback or console) sets ``CONSOLE_MODE``, ``EVALEX`` and
  ``EVALEX_TRUSTED`` in an inline script. ``EVALEX_TRUSTED = true`` without a PIN
  cookie means the PIN is off (``pin_security=False`` or ``WERKZEUG_DEBUG_PIN=off``).

The scanner only ever sends ``cmd=resource``: it never asks for ``pinauth`` or
``printpin``, never tries a PIN and never runs code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from apigrade import rx
from apigrade.checks.common.werkzeug_page import (
    DebugPage,
    parse_debugger_page,
)
from apigrade.checks.context import CheckContext, DebuggerFacts, Hit
from apigrade.checks.registry import active, finding_kind, passive
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity

if TYPE_CHECKING:
    from apigrade.discovery.model import Endpoint, Param

#: The one non-integer value used to provoke conversion errors.
BAD_VALUE = "apigrade'x"
MAX_PROVOKE = 8
MAX_BASES = 3
RESOURCE_QUERY = "?__debugger__=yes&cmd=resource&f="

# Markers present in every shipped debugger.js / style.css from 0.15 to 3.1.
_JS_MARKERS = (
    "EVALEX_TRUSTED",
    "initPinBox",
    "pinauth",
    "CONSOLE_MODE",
    "openShell",
    "__debugger__",
)
_CSS_RULES = tuple(
    rx.compile(pat, rx.I)
    for pat in (
        r"div\.debugger\s*\{",
        r"div\.explanation\s*\{",
        r"div\.footer\s*\{",
        r"div\.traceback\s+h3\s*\{",
        r"div\.console\s*\{",
        r"\.pin-prompt\s*\{",
        r"#11557C",
    )
)
_FRAME = rx.compile(r'^\s*File "([^"\n]+)", line (\d+), in ([^\n]+)$', rx.M)
_PY_VERSION = rx.compile(r"python(\d\.\d{1,2})\b")
_LIB_DIRS = ("site-packages", "dist-packages", "/lib/python", "\\lib\\", "<frozen")



# -- pure helpers ------------------------------------------------------------------


def _count(text: str, markers: tuple[str, ...]) -> int:
    low = text.lower()
    return sum(1 for m in markers if m.lower() in low)


def is_debugger_js(text: str) -> bool:
    """True for Werkzeug's ``debugger.js`` (not an HTML page that mentions it)."""
    head = text[:200].lstrip().lower()
    if head.startswith(("<!doctype", "<html", "<head", "<body")):
        return False
    return _count(text[:50000], _JS_MARKERS) >= 4


def is_debugger_css(text: str) -> bool:
    """True for Werkzeug's debugger ``style.css`` (its rules, not selector strings in JS)."""
    head = text[:50000]
    if "<html" in head[:500].lower() or "function" in head:
        return False
    return sum(1 for pat in _CSS_RULES if pat.search(head)) >= 5


def js_version_hint(text: str) -> str | None:
    """The Werkzeug version range a debugger.js belongs to (diffed across releases)."""
    if "function makeDebugURL" in text:
        return ">= 3.0.4"
    if "${document.location}?__debugger__" in text:
        return "3.0.3"
    if "location.pathname" in text:
        return "< 2.0" if "$(" in text else "2.0 to 3.0.2"
    return None


def hint_is_before_303(hint: str | None) -> bool:
    """True when the version hint places Werkzeug before the CVE-2024-34069 fix."""
    return hint in ("< 2.0", "2.0 to 3.0.2")


def _is_library(path: str) -> bool:
    return any(d in path for d in _LIB_DIRS)


def summarize_traceback(plaintext: str, title: str = "") -> str:
    """Exception, application frames, libraries and Python version of a traceback."""
    lines = [ln for ln in plaintext.strip().splitlines() if ln.strip()]
    exc = lines[-1].strip() if lines else title
    frames = _FRAME.findall(plaintext)
    app = [f"{p}:{n} in {fn.strip()}" for p, n, fn in frames if not _is_library(p)]
    libs = sorted({m for p, _, _ in frames for m in ("flask", "werkzeug", "sqlalchemy", "jinja2")
                   if f"/{m}/" in p.lower() or f"\\{m}\\" in p.lower()})  # fmt: skip
    parts = [f"exception: {exc[:200]}"]
    if app:
        parts.append("application frames: " + "; ".join(app[-3:]))
    elif frames:
        last = frames[-1]
        parts.append(f"last frame: {last[0]}:{last[1]}")
    if frames:
        parts.append(f"{len(frames)} frames with file paths")
    if libs:
        parts.append("libraries in stack: " + ", ".join(libs))
    pyver = _PY_VERSION.search(plaintext)
    if pyver:
        parts.append(f"Python {pyver.group(1)} (from file paths)")
    return "; ".join(parts)


def _path_url(url: str) -> str:
    """The URL without its query string: one finding per path."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


# -- finding kinds -----------------------------------------------------------------

finding_kind(
    id="flask.werkzeug-console-unlocked",
    parent=("flask.werkzeug-debugger", "flask.werkzeug-traceback"),
    title="Werkzeug debugger console runs code without a PIN",
    category="misconfiguration",
    severity=Severity.CRITICAL,
    confidence=Confidence.CERTAIN,
    cwe=489,
    owasp="API8:2023",
)


@passive(
    id="flask.werkzeug-traceback",
    title="Werkzeug debugger shows a full traceback",
    category="data-exposure",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=209,
    owasp="API8:2023",
)
def werkzeug_traceback(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """Report each path whose answer is a Werkzeug debugger traceback page."""
    resp = exchange.response
    if resp.status < 400 or "html" not in resp.content_type:
        return
    page = parse_debugger_page(exchange.text)
    if page is None or page.console:
        return
    summary = summarize_traceback(page.plaintext, page.title)
    server = resp.header("server") or ""
    if "werkzeug" in server.lower():
        summary += f"; Server: {server[:80]}"
    yield Hit(
        url=_path_url(exchange.url),
        method=exchange.probe.method,
        evidence=f"{exchange.probe.method} {exchange.url} -> {resp.status}; {summary}",
    )


# -- the active check --------------------------------------------------------------


@dataclass
class ConsoleState:
    """What /console said."""

    url: str | None = None
    trusted: bool = False  # EVALEX_TRUSTED: no PIN needed
    restricted: bool = False  # 400 for the target's Host, console for Host: localhost
    host_seen: str = ""


@dataclass
class Findings:
    """Everything the active check learnt about the debugger."""

    resource_url: str | None = None
    resource_kind: str = ""
    version_hint: str | None = None
    console: ConsoleState = field(default_factory=ConsoleState)
    pages: list[tuple[str, DebugPage]] = field(default_factory=list)
    page_exchanges: list[Exchange] = field(default_factory=list)
    evalex_needs_localhost: bool = False  # traceback pages run code only for Host: localhost

    @property
    def detected(self) -> bool:
        return bool(self.resource_url or self.console.url or self.pages)


def _base_paths(ctx: CheckContext) -> list[str]:
    """The target's own path, then a few discovered GET paths (no templates)."""
    bases = [urlsplit(ctx.target.url).path or "/"]
    for ep in ctx.endpoints:
        path = urlsplit(ep.url).path or "/"
        if ep.method.upper() == "GET" and "{" not in path and path not in bases:
            bases.append(path)
        if len(bases) >= MAX_BASES:
            break
    return bases


async def _find_resource(ctx: CheckContext, found: Findings) -> None:
    """Ask for debugger.js and style.css; validate by content, not by status."""
    for base in _base_paths(ctx):
        plain = await ctx.get(base)
        plain_text = plain.text if plain is not None else ""
        for name, check in (("debugger.js", is_debugger_js), ("style.css", is_debugger_css)):
            ex = await ctx.get(base + RESOURCE_QUERY + name)
            if ex is None or ex.status != 200 or not check(ex.text) or check(plain_text):
                continue
            found.resource_url = ex.url
            found.resource_kind = name
            if name == "debugger.js":
                found.version_hint = js_version_hint(ex.text)
            return


def _console_paths(ctx: CheckContext) -> list[str]:
    paths = ["/console"]
    base = urlsplit(ctx.target.url).path.rstrip("/")
    if base:
        paths.append(base + "/console")
    return paths


async def _find_console(ctx: CheckContext, found: Findings) -> None:
    """GET /console, then (after a 400) once more with ``Host: localhost``."""
    for path in _console_paths(ctx):
        ex = await ctx.get(path)
        if ex is None:
            continue
        page = parse_debugger_page(ex.text) if ex.status == 200 else None
        if page is not None and page.console:
            found.console = ConsoleState(url=ex.url, trusted=page.evalex_trusted)
            return
        if ex.status != 400 or ctx.target.host == "localhost":
            continue
        again = await ctx.get(path, headers=[("Host", "localhost")])
        page = parse_debugger_page(again.text) if again and again.status == 200 else None
        if again is not None and page is not None and page.console:
            found.console = ConsoleState(
                url=again.url, trusted=page.evalex_trusted, restricted=True,
                host_seen=urlsplit(ctx.target.url).netloc,
            )  # fmt: skip
            return


def _numeric(example: str | None) -> bool:
    return bool(example) and str(example).lstrip("-").isdigit()


def _query_probe(url: str, params: list[tuple[str, str]]) -> str:
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)
    return f"{url}?{query}" if query else url


_TEMPLATE_VAR = rx.compile(r"\{([^}]+)\}")


def _fill_template(url: str, params: dict[str, Param], target: str, bad: str) -> str:
    """Fill ``{name}`` templates: ``bad`` for ``target``, examples (or 1) elsewhere."""

    def value(m: rx.Match) -> str:
        name = m.group(1)
        if name == target:
            return bad
        p = params.get(name)
        return quote((p.example if p else None) or "1", safe="")

    return _TEMPLATE_VAR.sub(value, url)


def _get_probes(ep: Endpoint) -> list[str]:
    """URLs that put a non-integer where the endpoint expects an integer."""
    url, params = ep.url, list(ep.params)
    query = [p for p in params if p.location == "query"]
    filled = [(p.name, p.example or "1") for p in query if p.required or p.example]
    out: list[str] = []
    for p in query:
        if p.type in ("integer", "number") or _numeric(p.example):
            rest = [(n, v) for n, v in filled if n != p.name]
            out.append(_query_probe(url, [*rest, (p.name, BAD_VALUE)]))
    bad = quote(BAD_VALUE, safe="")
    path_params = {p.name: p for p in params if p.location == "path"}
    for p in path_params.values():
        if p.type in ("integer", "number") or _numeric(p.example):
            out.append(_fill_template(url, path_params, p.name, bad))
    parts = urlsplit(url)
    segs = parts.path.split("/")
    for i, seg in enumerate(segs):
        if seg.isdigit():
            new = "/".join(segs[:i] + [bad] + segs[i + 1 :])
            out.append(urlunsplit((parts.scheme, parts.netloc, new, "", "")))
    return [u for u in out if "{" not in u]


def _provocations(ctx: CheckContext) -> list[Probe]:
    """At most MAX_PROVOKE probes likely to raise an unhandled exception."""
    gets: list[Probe] = []
    bodies: list[Probe] = []
    for ep in ctx.endpoints:
        method = ep.method.upper()
        if method == "GET":
            gets += [Probe(url=u) for u in _get_probes(ep)]
        elif ctx.active and method in ("POST", "PUT", "PATCH") and "{" not in ep.url:
            json_like = "json" in (ep.content_type or "") or any(
                p.location == "body" for p in ep.params
            )
            if json_like:
                bodies.append(
                    Probe(
                        url=ep.url, method=method, body=b'{"apigrade": ',
                        headers=(("Content-Type", "application/json"),),
                    )
                )  # fmt: skip
    seen: set[tuple[object, ...]] = set()
    out: list[Probe] = []
    for probe in gets + bodies:
        if probe.key() not in seen and ctx.target.in_scope(probe.url):
            seen.add(probe.key())
            out.append(probe)
    return out[:MAX_PROVOKE]


def _collect_pages(ctx: CheckContext, found: Findings) -> None:
    for ex in ctx.exchanges:
        if ex.status >= 400 and "Werkzeug Debugger" in ex.text[:3000]:
            page = parse_debugger_page(ex.text)
            if page is not None and not page.console:
                found.pages.append((ex.url, page))
                found.page_exchanges.append(ex)


async def _recheck_page(ctx: CheckContext, found: Findings) -> None:
    """Werkzeug >= 3.0.3 renders EVALEX = false for untrusted hosts: ask once as localhost.

    Only needed when no console was found (its check already tried ``Host: localhost``).
    """
    if found.console.url or any(p.evalex for _, p in found.pages) or ctx.target.host == "localhost":
        return
    ex = next((e for e in found.page_exchanges if e.probe.method.upper() == "GET"), None)
    if ex is None:
        return
    again = await ctx.send(
        Probe(url=ex.probe.url, headers=(("Host", "localhost"),), raw_target=ex.probe.raw_target)
    )
    page = parse_debugger_page(again.text) if again is not None and again.status >= 400 else None
    if page is not None and not page.console and page.evalex:
        found.pages.insert(0, (ex.url, page))
        found.evalex_needs_localhost = True


def _console_text(found: Findings) -> str:
    c = found.console
    if c.url is None:
        return "interactive console: not found at /console"
    lock = (
        "NO PIN (EVALEX_TRUSTED = true)" if c.trusted else "locked by PIN (EVALEX_TRUSTED = false)"
    )
    text = f"interactive console: reachable at {c.url}, {lock}"
    if c.restricted:
        text += (
            f"; restricted to trusted hosts (Werkzeug >= 3.0.3): 400 for Host {c.host_seen}, "
            "console for Host: localhost - a direct client can send that header"
        )
    else:
        text += (
            "; answered for the target's own Host header (a trusted host for Werkzeug >= 3.0.3,"
            " or an older Werkzeug that trusts any host)"
        )
    return text


def _evidence(found: Findings) -> str:
    parts: list[str] = []
    if found.resource_url:
        ver = f" (code matches Werkzeug {found.version_hint})" if found.version_hint else ""
        parts.append(f"debugger {found.resource_kind} served at {found.resource_url}{ver}")
    parts.append(_console_text(found))
    if found.pages:
        url, page = next(((u, p) for u, p in found.pages if p.unlocked), found.pages[0])
        flags = f"EVALEX = {str(page.evalex).lower()}, EVALEX_TRUSTED = {str(page.evalex_trusted).lower()}"
        host = " with Host: localhost" if found.evalex_needs_localhost else ""
        parts.append(f"traceback page at {url}{host} ({flags}): {page.title[:150]}")
    return "; ".join(parts)


def _report(ctx: CheckContext, found: Findings) -> None:
    evidence = _evidence(found)
    unlocked_page = next((u for u, p in found.pages if p.unlocked), None)
    if found.console.trusted or unlocked_page:
        ctx.report(
            Hit(
                url=found.console.url or unlocked_page or ctx.target.url,
                evidence=evidence,
                check="flask.werkzeug-console-unlocked",
            )
        )
        return
    url = found.resource_url or found.console.url or found.pages[0][0]
    evalex_seen = found.console.url is not None or any(p.evalex for _, p in found.pages)
    ctx.report(
        Hit(
            url=url,
            evidence=evidence,
            severity=None if evalex_seen else Severity.MEDIUM,
            description=None if evalex_seen else (
                "The Werkzeug debugger middleware is active, but no interactive console was "
                "found (evalex appears off): it still shows full tracebacks with source code "
                "to anyone who triggers an error, and enabling evalex would make it "
                "remote code execution behind a PIN."
            ),
        )
    )  # fmt: skip


@active(
    id="flask.werkzeug-debugger",
    writes=("werkzeug_debugger",),
    title="Werkzeug interactive debugger is exposed",
    category="misconfiguration",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=489,
    owasp="API8:2023",
)
async def werkzeug_debugger(ctx: CheckContext) -> None:
    """Find the debugger by its resources, console and traceback pages; never run code."""
    found = Findings()
    await _find_resource(ctx, found)
    await _find_console(ctx, found)
    await asyncio.gather(*(ctx.send(p) for p in _provocations(ctx)))
    _collect_pages(ctx, found)
    if not found.detected:
        return
    await _recheck_page(ctx, found)
    ctx.kb.werkzeug_debugger = DebuggerFacts(
        resource_url=found.resource_url,
        version_hint=found.version_hint,
        console_url=found.console.url,
        console_unlocked=found.console.trusted,
        console_restricted=found.console.restricted,
        traceback_pages=tuple(u for u, _ in found.pages),
    )
    _report(ctx, found)
