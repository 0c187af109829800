"""Open redirects: redirect parameters (next, url, return_to ...) that send users off-site.

Each candidate query parameter gets, in turn until one works, ``https://apigrade-redirect.invalid/``,
``//apigrade-redirect.invalid/`` (protocol-relative) and ``/\\apigrade-redirect.invalid/``
(browsers read the backslash as a slash). A ``Location`` (or ``Refresh``) header that
resolves to that host is proof. Redirects are never followed (the probe asks for none,
and the engine never leaves the target), and the name is reserved: nothing is reached.

Candidates are the query parameters of the shared injection points
(``checks/common/injection.py``) named like redirects, then those whose reflection marker came
back in the ``Location`` header, whatever their name (the reflection probe is shared with the
other injection checks).

Bound: at most 10 parameters, at most 3 requests each (30).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from apigrade import rx
from apigrade.checks.common.fanout import fan_out
from apigrade.checks.common.injection import points, reflect
from apigrade.checks.common.slots import Slot
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.model import Confidence, Severity

MAX_SLOTS = 10
HOST = "apigrade-redirect.invalid"
PAYLOADS = (f"https://{HOST}/", f"//{HOST}/", f"/\\{HOST}/")
NAMES = frozenset({
    "next", "url", "redirect", "redirecturl", "redirecturi", "redirectto", "redir", "return",
    "returnto", "returnurl", "returnpath", "continue", "continueurl", "dest", "destination",
    "goto", "forward", "forwardurl", "successurl", "backurl", "target", "rurl", "loginurl",
    "callbackurl",
})  # fmt: skip
_REFRESH_URL = rx.compile(r"url\s*=\s*['\"]?([^'\";]+)", rx.I)


_NON_ALNUM = rx.compile(r"[^a-z0-9]")


def _norm(name: str) -> str:
    return _NON_ALNUM.sub("", name.lower())


def candidates(ctx: CheckContext) -> list[Slot]:
    names = {_norm(n) for n in NAMES}
    found: list[Slot] = [s for s in points(ctx, ("query",)) if _norm(s.name) in names]
    return found[:MAX_SLOTS]


async def by_evidence(ctx: CheckContext, named: list[Slot]) -> list[Slot]:
    """``named`` plus the other query parameters whose marker came back in ``Location``."""
    others = [p for p in points(ctx, ("query",)) if p not in named]
    if len(named) >= MAX_SLOTS or not others:
        return named
    seen = await reflect(ctx, others)
    located: list[Slot] = []
    for p in others:
        r = seen[p.key]
        if r.exchange is not None and r.marker in (r.exchange.response.header("location") or ""):
            located.append(p)
    return (named + located)[:MAX_SLOTS]


def off_site(request_url: str, location: str) -> bool:
    """True when a browser following ``location`` lands on the probe host."""
    dest = urljoin(request_url, location.strip().replace("\\", "/"))
    return (urlsplit(dest).hostname or "").lower() == HOST


async def test_slot(ctx: CheckContext, slot: Slot) -> Hit | None:
    for payload in PAYLOADS:
        probe = slot.probe(payload)
        if probe is None:
            return None
        ex = await ctx.send(probe)
        if ex is None:
            return None
        location = ex.response.header("location") or ""
        refresh = _REFRESH_URL.search(ex.response.header("refresh") or "")
        target = location or (refresh.group(1) if refresh else "")
        if target and off_site(ex.url, target):
            header = "Location" if location else "Refresh"
            return Hit(url=slot.baseline_url() or ex.url, parameter=slot.name,
                       evidence=f"GET {ex.url} -> {ex.status}, {header}: {target}")  # fmt: skip
    return None


@active(
    id="redirect.open-redirect",
    title="Open redirect",
    category="unsafe-consumption",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=601,
    owasp="API10:2023",
)
async def open_redirect(ctx: CheckContext) -> None:
    await fan_out(ctx, await by_evidence(ctx, candidates(ctx)), test_slot)
