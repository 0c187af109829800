"""FastAPI / Starlette ``debug=True``: ServerErrorMiddleware's traceback pages.

With ``FastAPI(debug=True)`` (or ``Starlette(debug=True)``) an unhandled exception answers
500 with the traceback: an HTML page titled "Starlette Debugger" (frames with source lines)
when the request accepts ``text/html``, else ``traceback.format_exception`` as text/plain
(starlette/middleware/errors.py, ``ServerErrorMiddleware.debug_response``). Without debug
the answer is the bare "Internal Server Error".

Phase 2, default mode, GET only: on a target fingerprinted as FastAPI/Starlette, at most
``MAX_PROVOKE`` (2) GETs put a non-numeric word with a quote into a GET route's string path
parameter (a bug's classic trigger: ``int(item_id)``); then it reads every 500 the scan
caused. An HTML debugger page counts as is; a plain-text Python traceback is re-requested
with ``Accept: text/html`` to see the Starlette page: at most ``MAX_CONFIRM`` (2) GETs.
"""

from __future__ import annotations

import html
from dataclasses import replace
from urllib.parse import urlsplit

from apigrade import rx
from apigrade.checks.common.apiutil import word_filled
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.discovery.model import Endpoint
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_CONFIRM = 2
MAX_PROVOKE = 2
PROBE_WORD = "apigrade'"
_STARLETTE = {"fastapi", "starlette"}
MAX_TEXT = 400_000
_TITLE = rx.compile(r"<title>\s*Starlette Debugger\s*</title>")
_FRAME = rx.compile(
    r"<p class=\"frame-title\">File <span class=\"frame-filename\">([^<]{1,300})</span>,\s*line <i>(\d+)</i>"
)
_ERROR = rx.compile(r"<h2>([^<]{0,300})</h2>")
_PLAIN_FRAME = rx.compile(r'^  File "[^"\n]{1,300}", line \d+, in ', rx.M)


def starlette_page(text: str) -> tuple[str, list[str]] | None:
    """(error, ["file:line", ...]) of a Starlette debugger page; None for anything else."""
    text = text[:MAX_TEXT]
    if not _TITLE.search(text):
        return None
    frames = [f"{html.unescape(f)}:{n}" for f, n in _FRAME.findall(text)]
    if not frames:
        return None
    error = _ERROR.search(text)
    return html.unescape(error.group(1)).strip() if error else "", frames


def plain_traceback(ex: Exchange) -> bool:
    """A text/plain 500 whose body is exactly a Python traceback (Starlette's non-HTML form)."""
    if ex.status != 500 or "text/plain" not in ex.response.content_type:
        return False
    body = ex.text[:MAX_TEXT]
    return body.startswith("Traceback (most recent call last):") and bool(_PLAIN_FRAME.search(body))


def provoke_urls(endpoints: list[Endpoint]) -> list[str]:
    """GET routes with a string path parameter, filled with a word code may not expect."""
    urls: list[str] = []
    for ep in endpoints:
        params = ep.params_in("path")
        if ep.method != "GET" or not params or all(p.type == "integer" for p in params):
            continue
        url = word_filled(ep, PROBE_WORD)
        if "{" not in url:  # a parameter the route table did not list
            urls.append(url)
    return list(dict.fromkeys(urls))[:MAX_PROVOKE]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _report(ctx: CheckContext, ex: Exchange, found: tuple[str, list[str]], how: str) -> None:
    error, frames = found
    own = [f for f in frames if "site-packages" not in f and "/lib/python" not in f]
    ctx.report(Hit(
        url=ctx.target.url,
        evidence=(
            f"GET {_path(ex.url)} -> 500{how}: Starlette Debugger page, {error or 'an error'}; "
            f"{len(frames)} frame(s), e.g. {', '.join((own or frames)[-2:])}"
        )[:600],
    ))


@active(
    phase=2,
    id="fastapi.debug-mode",
    title="FastAPI/Starlette runs with debug=True: errors show tracebacks",
    category="misconfiguration",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=489,
    owasp="API8:2023",
)
async def starlette_debug(ctx: CheckContext) -> None:
    """Report the first Starlette Debugger page; confirm plain-text tracebacks (≤2 GETs)."""
    if _STARLETTE & set(ctx.frameworks):
        for url in provoke_urls(ctx.endpoints):
            await ctx.get(url, headers=(("Accept", "text/html"),))
    gets = [ex for ex in list(ctx.exchanges) if ex.probe.method == "GET" and ex.status == 500]
    for ex in gets:
        found = starlette_page(ex.text) if "html" in ex.response.content_type else None
        if found is not None:
            _report(ctx, ex, found, "")
            return
    tried: set[str] = set()
    for ex in gets:
        if not plain_traceback(ex) or ex.url in tried or len(tried) >= MAX_CONFIRM:
            continue
        tried.add(ex.url)
        headers = tuple(h for h in ex.probe.headers if h[0].lower() != "accept")
        again = await ctx.send(replace(ex.probe, headers=(*headers, ("Accept", "text/html"))))
        if again is None or again.status != 500:
            continue
        found = starlette_page(again.text)
        if found is not None:
            _report(ctx, again, found, " (text/plain traceback; with Accept: text/html)")
            return
