"""Older API versions still answering beside the current one (``/v1/...`` next to ``/v2/...``).

Versions come from discovered endpoint paths: a segment ``v2`` makes ``v1`` an older
version of the same prefix. For at most ``MAX_GROUPS`` (2) prefixes, ``MAX_OLDER`` (2)
older versions and ``MAX_SAMPLES`` (2) sample paths each, the check GETs the current
path (usually cached from discovery) and its older twin: at most 16 requests plus one
soft-404 baseline per directory. An older twin counts when it answers 200 with JSON
data and differs from the target's answer for a path that cannot exist.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from apigrade import rx
from apigrade.checks.common.apiutil import (
    TEMPLATE,
    fill,
    get_endpoints,
    has_data,
    json_body,
    path_of,
)
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.discovery.model import Endpoint
from apigrade.model import Confidence, Severity

MAX_GROUPS = 2
MAX_OLDER = 2
MAX_SAMPLES = 2
_VERSION = rx.compile(r"^v(\d{1,2})$", rx.I)

finding_kind(
    id="inventory.old-api-version-unprotected",
    parent="inventory.old-api-version",
    title="Older API version answers without the authorisation the current one requires",
    category="inventory",
    severity=Severity.HIGH,
    confidence=Confidence.FIRM,
    cwe=306,
    owasp="API9:2023",
)


@dataclass(frozen=True)
class Versioned:
    """A path split at its version segment: ``/api`` + ``v2`` + ``/users/1``."""

    prefix: str
    version: int
    rest: str

    def at(self, version: int) -> str:
        return f"{self.prefix}/v{version}{self.rest}"


def split_version(path: str) -> Versioned | None:
    parts = path.split("/")
    for i, seg in enumerate(parts):
        m = _VERSION.match(seg)
        if m:
            rest = "/".join(parts[i + 1 :])
            return Versioned("/".join(parts[:i]), int(m.group(1)), "/" + rest if rest else "")
    return None


def _groups(ctx: CheckContext) -> dict[tuple[str, int], list[tuple[Versioned, Endpoint]]]:
    """Sample paths of the newest version of each prefix."""
    by_prefix: dict[str, list[tuple[Versioned, Endpoint]]] = defaultdict(list)
    for ep in get_endpoints(ctx):
        sv = split_version(path_of(fill(ep.url, ep)))
        if sv is not None:
            by_prefix[sv.prefix].append((sv, ep))
    seen = {path_of(ex.url): ex.status for ex in list(ctx.exchanges) if ex.probe.method == "GET"}
    out: dict[tuple[str, int], list[tuple[Versioned, Endpoint]]] = {}
    for prefix, items in sorted(by_prefix.items()):
        newest = max(sv.version for sv, _ in items)
        if newest < 2:
            continue
        # Prefer paths the scan saw refused (401/403), then answering (200), then the rest.
        rank = {401: 0, 403: 0, 200: 1}
        items = sorted(
            (i for i in items if i[0].version == newest),
            key=lambda i: (
                rank.get(seen.get(i[0].at(newest), 0), 2),
                bool(TEMPLATE.search(i[1].url)),
                i[0].rest,
            ),
        )
        samples = list({sv.rest: (sv, ep) for sv, ep in items}.values())[:MAX_SAMPLES]
        out[(prefix, newest)] = samples
        if len(out) >= MAX_GROUPS:
            break
    return out


@active(
    id="inventory.old-api-version",
    title="Older API version is still deployed",
    category="inventory",
    severity=Severity.LOW,
    confidence=Confidence.FIRM,
    cwe=1059,
    owasp="API9:2023",
)
async def old_api_version(ctx: CheckContext) -> None:
    for (_prefix, newest), samples in _groups(ctx).items():
        for older in range(newest - 1, max(0, newest - 1 - MAX_OLDER), -1):
            plain = False  # one plain finding per older version is enough
            for sv, _ep in samples:
                plain = await _compare(ctx, sv, older, report_plain=not plain) or plain


async def _compare(ctx: CheckContext, sv: Versioned, older: int, report_plain: bool) -> bool:
    """Report ``sv`` at an older version; True when a plain old-version finding was made."""
    current = await ctx.get(sv.at(sv.version))
    old = await ctx.get(sv.at(older))
    if current is None or old is None or old.status != 200:
        return False
    if not has_data(json_body(old)) or await ctx.is_soft404(old):
        return False
    base = f"GET {sv.at(older)} -> 200 ({len(old.response.body)} bytes JSON)"
    if current.status in (401, 403):
        ctx.report(
            Hit(
                url=old.url,
                check="inventory.old-api-version-unprotected",
                evidence=f"{base}; current GET {sv.at(sv.version)} -> {current.status}",
            )
        )
        return False
    if current.status >= 400 or not report_plain:
        return False
    ctx.report(
        Hit(
            url=old.url,
            evidence=f"{base} beside current GET {sv.at(sv.version)} -> {current.status}",
        )
    )
    return True
