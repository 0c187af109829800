"""The Werkzeug development server in front of traffic, and Werkzeug versions with CVEs.

``Server: Werkzeug/<version> Python/<version>`` is the banner of ``werkzeug.serving``
(``WSGIRequestHandler.server_version`` / ``sys_version``): the development server that
``flask run`` and ``app.run()`` start. Production WSGI servers send their own banner
(gunicorn, uWSGI, waitress) or none.

Advisories below were checked against the GitHub advisory database / CVE records and
Werkzeug's CHANGES.rst (fixed-in versions).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from apigrade import rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.misconfiguration.werkzeug_debugger import hint_is_before_303
from apigrade.checks.registry import active, passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

_BANNER = rx.compile(r"\bWerkzeug/(\d+(?:\.\d+){0,3})(\S*)(?:\s+Python/(\d+(?:\.\d+)*))?")

Version = tuple[int, int, int]


_NUMBER = rx.compile(r"\d+")


def parse_version(text: str) -> Version | None:
    """'2.2.2' -> (2, 2, 2); pre-release suffixes are ignored."""
    nums = _NUMBER.findall(text, limit=3)
    if not nums:
        return None
    padded = [int(n) for n in nums] + [0] * (3 - len(nums))
    return (padded[0], padded[1], padded[2])


@dataclass(frozen=True)
class Banner:
    """A parsed Werkzeug Server banner."""

    raw: str
    werkzeug: str
    python: str | None

    @property
    def version(self) -> Version | None:
        return parse_version(self.werkzeug)

    @property
    def python_version(self) -> Version | None:
        return parse_version(self.python) if self.python else None


def parse_banner(value: str) -> Banner | None:
    """The Werkzeug part of a Server header, or None."""
    m = _BANNER.search(value)
    if m is None:
        return None
    return Banner(raw=value.strip()[:200], werkzeug=m.group(1) + m.group(2), python=m.group(3))


def find_banner(exchanges: list[Exchange]) -> Banner | None:
    for ex in exchanges:
        for value in ex.response.header_all("server"):
            banner = parse_banner(value)
            if banner is not None:
                return banner
    return None


@dataclass(frozen=True)
class Advisory:
    """One Werkzeug CVE: the versions it affects and what it means here."""

    cve: str
    fixed: str  # first fixed release(s), for the evidence
    summary: str
    severity: Severity  # impact when it applies
    debugger: bool = False  # only exploitable with the debugger on
    windows_only: bool = False
    python_below: Version | None = None  # only on Python older than this

    def affects(self, v: Version) -> bool:
        return _AFFECTED[self.cve](v)


_AFFECTED = {
    "CVE-2016-10516": lambda v: v < (0, 11, 11),
    "CVE-2019-14806": lambda v: v < (0, 15, 3),
    "CVE-2022-29361": lambda v: v <= (2, 1, 0),
    "CVE-2023-23934": lambda v: v < (2, 2, 3),
    "CVE-2023-25577": lambda v: v < (2, 2, 3),
    "CVE-2023-46136": lambda v: v < (2, 3, 8) or v == (3, 0, 0),
    "CVE-2024-34069": lambda v: v < (3, 0, 3),
    "CVE-2024-49766": lambda v: v < (3, 0, 6),
    "CVE-2024-49767": lambda v: (2, 0, 0) <= v < (3, 0, 6),
    "CVE-2025-66221": lambda v: v < (3, 1, 4),
    "CVE-2026-21860": lambda v: v < (3, 1, 5),
    "CVE-2026-27199": lambda v: v < (3, 1, 6),
}

ADVISORIES: tuple[Advisory, ...] = (
    Advisory("CVE-2024-34069", "3.0.3", "debugger RCE via an attacker-controlled (sub)domain "
             "once the developer enters the PIN", Severity.HIGH, debugger=True),
    Advisory("CVE-2019-14806", "0.15.3", "predictable debugger PIN in Docker containers",
             Severity.HIGH, debugger=True),
    Advisory("CVE-2016-10516", "0.11.11", "XSS in debugger traceback pages", Severity.MEDIUM,
             debugger=True),
    Advisory("CVE-2023-25577", "2.2.3", "unlimited multipart parts: CPU/memory DoS",
             Severity.MEDIUM),
    Advisory("CVE-2023-46136", "2.3.8 / 3.0.1", "slow multipart parsing of large parts: DoS",
             Severity.MEDIUM),
    Advisory("CVE-2024-49767", "3.0.6", "multipart bypass of max_form_memory_size: memory "
             "exhaustion", Severity.MEDIUM),
    Advisory("CVE-2023-23934", "2.2.3", "nameless cookie '=__Host-x' parsed as a "
             "__Host- cookie", Severity.LOW),
    Advisory("CVE-2022-29361", "2.1.1", "request smuggling in the dev server (disputed by "
             "the vendor)", Severity.LOW),
    Advisory("CVE-2024-49766", "3.0.6", "safe_join allows UNC paths", Severity.LOW,
             windows_only=True, python_below=(3, 11, 0)),
    Advisory("CVE-2025-66221", "3.1.4", "safe_join allows Windows device names (hang)",
             Severity.LOW, windows_only=True),
    Advisory("CVE-2026-21860", "3.1.5", "safe_join allows device names with extensions",
             Severity.LOW, windows_only=True),
    Advisory("CVE-2026-27199", "3.1.6", "safe_join allows device names in nested paths",
             Severity.LOW, windows_only=True),
)  # fmt: skip


def applicable(version: Version, python: Version | None = None) -> list[Advisory]:
    """Advisories affecting this Werkzeug (and Python, when known) version."""
    out = []
    for adv in ADVISORIES:
        if not adv.affects(version):
            continue
        if adv.python_below and python and python >= adv.python_below:
            continue
        out.append(adv)
    return out



@passive(
    id="flask.werkzeug-dev-server",
    title="Werkzeug development server serves traffic",
    category="misconfiguration",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=497,
    owasp="API8:2023",
)
def werkzeug_dev_server(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """Once per target; low on a loopback/private target (local development)."""
    for value in exchange.response.header_all("server"):
        banner = parse_banner(value)
        if banner is None:
            continue
        local = ctx.target.is_local
        yield Hit(
            url=ctx.target.url,
            evidence=f"Server: {banner.raw}"
            + (" (local or private target: likely a development machine)" if local else ""),
            severity=Severity.LOW if local else None,
        )
        return


def _worst(advs: list[Advisory], debugger: bool) -> Severity:
    """Severity of the finding: debugger CVEs count only when the debugger is on."""
    ranks = []
    for adv in advs:
        if adv.debugger and not debugger:
            ranks.append(Severity.LOW)
        else:
            ranks.append(adv.severity)
    worst = max(ranks, key=lambda s: s.rank)
    if worst is Severity.HIGH and not debugger:
        return Severity.MEDIUM
    return worst


def _describe(adv: Advisory, debugger: bool) -> str:
    notes = []
    if adv.debugger:
        notes.append("debugger detected" if debugger else "only if the debugger is on")
    if adv.windows_only:
        notes.append("Windows hosts only")
    note = f"; {', '.join(notes)}" if notes else ""
    return f"{adv.cve} (fixed in {adv.fixed}: {adv.summary}{note})"


@active(
    id="flask.werkzeug-vulnerable-version",
    reads=("werkzeug_debugger",),
    phase=2,
    title="Werkzeug version with known vulnerabilities",
    category="misconfiguration",
    severity=Severity.MEDIUM,
    confidence=Confidence.FIRM,
    cwe=497,
    owasp="API8:2023",
)
async def werkzeug_vulnerable_version(ctx: CheckContext) -> None:
    """Match the disclosed version against the advisory table; no requests of its own."""
    facts = ctx.kb.werkzeug_debugger
    debugger = facts is not None
    hint = facts.version_hint if facts is not None else None
    resource_url = facts.resource_url if facts is not None else None
    banner = find_banner(ctx.exchanges)
    version = banner.version if banner else None
    note = ""
    if version is not None and banner is not None:
        advs = applicable(version, banner.python_version)
        source = f"Server: {banner.raw}"
        if hint and not hint_is_before_303(hint) and version < (3, 0, 3):
            # The debugger's own script is harder to fake than a banner: trust it.
            debugger = False
            note = f" (the served debugger.js matches Werkzeug {hint}: the banner may be wrong)"
    elif hint_is_before_303(hint):
        advs = [a for a in ADVISORIES if a.cve == "CVE-2024-34069"]
        source = f"debugger.js at {resource_url} matches Werkzeug {hint}"
    else:
        return
    if not advs:
        return
    listed = "; ".join(_describe(a, debugger) for a in advs)
    ctx.report(
        Hit(
            url=ctx.target.url,
            evidence=f"{source}{note} -> {listed}",
            severity=_worst(advs, debugger),
        )
    )
