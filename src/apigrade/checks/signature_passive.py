"""Passive signatures: matchers over every response the scan sees, no request of their own.

They run where the Python passive checks run, in the analysis pool's workers. A worker
finds one again by its file and id (``PassiveSignature.apigrade_ref``, resolved by
``engine/analysis.py``), for the built-in files and for ``--signatures DIR`` ones alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.signature_match import Value, all_match, render
from apigrade.engine.http import Exchange

if TYPE_CHECKING:
    from apigrade.checks.signature import Signature


def _path(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/")


def _is_target_page(exchange: Exchange, target_url: str) -> bool:
    """A plain GET of the target's own URL (query and a trailing slash aside)."""
    probe = exchange.probe
    if probe.raw_target is not None or probe.method.upper() != "GET":
        return False
    return _path(exchange.url) == _path(target_url)


def passive_hits(sig: Signature, exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """The findings of one passive signature on one response."""
    if sig.responses == "target" and not _is_target_page(exchange, ctx.target.url):
        return
    url = ctx.target.url if sig.once == "origin" else exchange.url.split("?", 1)[0]
    shown: dict[str, Value] = {}
    for e in sig.extractors:
        if e.name != sig.each and e.name not in shown:
            value = e.first(exchange)
            if value is not None:
                shown[e.name] = value
    if not sig.matchers or all_match(sig.matchers, sig.condition, exchange):
        each = [e for e in sig.extractors if e.name == sig.each]
        rows = [{**shown, e.name: v} for e in each for v in e.values(exchange)]
        for values in rows if sig.each else [shown]:
            yield _report(url, sig.evidence_template or "", sig.parameter, values, None)
    for rule in sig.rules:
        if all_match(rule.matchers, rule.condition, exchange):
            yield _report(url, rule.evidence, rule.parameter, shown, rule.meta.id)


def _report(
    url: str, evidence: str, parameter: str | None, values: dict[str, Value], check: str | None
) -> Hit:
    return Hit(
        url=url,
        evidence=render(evidence, values, missing="") or "",
        parameter=render(parameter, values, missing="") if parameter is not None else None,
        check=check,
    )


@dataclass(frozen=True)
class PassiveSignature:
    """The check function of a passive signature: ``fn(exchange, ctx) -> hits``."""

    sig: Signature

    def __call__(self, exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
        return passive_hits(self.sig, exchange, ctx)

    def __repr__(self) -> str:
        return f"PassiveSignature({self.sig.meta.id!r})"

    @property
    def apigrade_ref(self) -> tuple[str, ...]:
        """How a pool worker re-creates this check: ``passive_check(file, id)``."""
        return (__name__, "passive_check", self.sig.source, self.sig.meta.id)


def passive_check(source: str, check_id: str) -> PassiveSignature:
    """The passive signature ``check_id`` of the file ``source`` (parsed once per process)."""
    from apigrade.checks.signature import load_dir

    path = Path(source)
    for sig in load_dir(path.parent):
        if sig.meta.id == check_id and sig.source == str(path):
            return PassiveSignature(sig)
    raise LookupError(f"no passive signature {check_id!r} in {path.name}")
