"""Declarative signature checks, kept as TOML data files (docs/extending.md).

Three shapes share one strict schema: an active probe (``paths`` plus matchers), a
multi-step probe (``[[check.request]]`` steps whose named extractors feed later steps)
and a passive signature (``kind = "passive"``: no request, it judges every response the
scan sees, in the analysis pool like the Python passive checks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr, model_validator

from apigrade import rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import REGISTRY, Check, CheckMeta, RegistryError
from apigrade.checks.signature_match import (
    Extractor,
    Matcher,
    Value,
    all_match,
    render,
    template_names,
)
from apigrade.engine.http import Exchange, Probe
from apigrade.knowledge import KnowledgeError, Strict, read_table
from apigrade.redact import mask

__all__ = [
    "SIGNATURES", "Extractor", "Matcher", "Rule", "Signature", "Step", "load_dir",
    "load_file", "register_signatures", "run_signature",
]  # fmt: skip

#: the signature files shipped with apigrade
SIGNATURES = Path(__file__).parent / "signatures"

META_KEYS = (
    "id", "title", "category", "severity", "confidence", "cwe", "owasp",
    "description", "remediation", "references",
)  # fmt: skip
_KV = rx.compile(r"(?m)^(\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.]*\s*[=:]\s*)(['\"]?)([^\r\n'\"]+)")


@dataclass(frozen=True)
class Rule:
    """A finding kind a passive signature reports, with its own matchers and templates."""

    meta: CheckMeta
    matchers: tuple[Matcher, ...]
    condition: str = "and"
    evidence: str = ""
    parameter: str | None = None


@dataclass(frozen=True)
class Step:
    """One request of a multi-step signature."""

    path: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    matchers: tuple[Matcher, ...] = ()
    condition: str = "and"
    extractors: tuple[Extractor, ...] = ()


@dataclass(frozen=True)
class Signature:
    meta: CheckMeta
    paths: tuple[str, ...]
    matchers: tuple[Matcher, ...]
    condition: str = "and"
    method: str = "GET"
    raw: bool = False
    soft404: bool = True
    stop_at_first: bool = False
    extract: tuple[rx.Pattern, ...] = ()
    evidence_mask: str | None = None  # "kv": mask values of key=value lines
    requires: tuple[str, ...] = field(default=())  # frameworks; empty = always
    kind: str = "active"  # active | passive
    source: str = ""  # the file it came from (how a pool worker finds it again)
    steps: tuple[Step, ...] = ()
    extractors: tuple[Extractor, ...] = ()
    evidence_template: str | None = None
    parameter: str | None = None
    # passive only
    once: str = "url"  # url | origin: the URL a finding is reported on
    responses: str = "all"  # all | target: only the target's own page
    each: str | None = None  # one finding per value of this extractor
    rules: tuple[Rule, ...] = ()  # further finding kinds ([[check.finding]])

    def matches(self, ex: Exchange) -> bool:
        return all_match(self.matchers, self.condition, ex)

    def evidence(self, ex: Exchange) -> str:
        text = ex.text
        for pattern in self.extract:
            m = pattern.search(text)
            if m:
                text = m.group(1) if m.groups() else m.group(0)
                break
        else:
            text = text[:400]
        if self.evidence_mask == "kv":
            text = _KV.sub(lambda m: m.group(1) + m.group(2) + mask(m.group(3).strip()), text)
        return f"HTTP {ex.status}, {len(ex.response.body)} bytes: {text[:400]}"


def _shown(extractors: tuple[Extractor, ...], ex: Exchange, into: dict[str, Value]) -> None:
    """The first value of each extractor (the report's ``{{name}}``s)."""
    for e in extractors:
        if e.name not in into:
            value = e.first(ex)
            if value is not None:
                into[e.name] = value


def _hit(sig: Signature, ex: Exchange, method: str, values: dict[str, Value]) -> Hit:
    evidence = sig.evidence(ex)
    if sig.evidence_template is not None:
        evidence = render(sig.evidence_template, values, missing="") or evidence
    parameter = render(sig.parameter, values, missing="") if sig.parameter is not None else None
    return Hit(url=ex.url, method=method, evidence=evidence, parameter=parameter)


async def _run_steps(sig: Signature, ctx: CheckContext) -> None:
    """Send each step in order; a step's extractors feed the ``{{name}}``s of later ones."""
    values: dict[str, Value] = {}
    ex: Exchange | None = None
    for step in sig.steps:
        path = render(step.path, values, escape="url")
        headers = [(k, render(v, values, escape="header")) for k, v in step.headers]
        body = render(step.body, values) if step.body is not None else None
        if path is None or (step.body is not None and body is None):
            return
        ready = [(k, v) for k, v in headers if v is not None]
        if len(ready) < len(headers):
            return  # a value that cannot go into a header: stop here
        ex = await ctx.send(
            Probe(
                url=ctx.target.url_for(path if path.startswith("/") else "/" + path),
                method=step.method,
                headers=tuple(ready),
                body=body.encode() if body is not None else None,
                follow_redirects=False,
            )
        )
        if ex is None or (step.matchers and not all_match(step.matchers, step.condition, ex)):
            return
        for e in step.extractors:
            value = e.first(ex)
            if value is None:
                return  # the next step needs it
            values[e.name] = value
    if ex is None or (sig.soft404 and await ctx.is_soft404(ex)):
        return
    _shown(sig.extractors, ex, values)
    ctx.report(_hit(sig, ex, sig.steps[-1].method, values))


async def run_signature(sig: Signature, ctx: CheckContext) -> None:
    """Probe each path, keep those that match and differ from the soft-404 answer."""
    if sig.requires and not set(sig.requires) & set(ctx.frameworks):
        return
    if sig.steps:
        await _run_steps(sig, ctx)
        return

    async def one(path: str) -> tuple[str, Exchange | None]:
        ex = await ctx.get(path, raw=sig.raw, method=sig.method, follow_redirects=False)
        if ex is None or not sig.matches(ex):
            return path, None
        if sig.soft404 and await ctx.is_soft404(ex):
            return path, None
        return path, ex

    results = await asyncio.gather(*(one(p) for p in sig.paths))
    for _path, ex in results:
        if ex is None:
            continue
        values: dict[str, Value] = {}
        _shown(sig.extractors, ex, values)
        ctx.report(_hit(sig, ex, sig.method, values))
        if sig.stop_at_first:
            break


# -- the file schema: unknown keys and wrong types are rejected at load -----------------

Values = list[StrictStr] | StrictStr
Numbers = list[StrictInt] | StrictInt
Name = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class MatcherSpec(Strict):
    type: Literal["status", "word", "regex", "header", "size", "binary", "cookie", "content-type"]
    status: Numbers | None = None
    words: Values | None = None
    regex: Values | None = None  # regex; header by name: the value's pattern
    headers: Values | None = None  # "Name: regex"
    name: Values | None = None  # header: header names; cookie: a pattern on the name
    missing: list[Literal["secure", "httponly", "samesite"]] | None = None  # cookie
    content_type: Values | None = None  # "text/html" (no parameters)
    size: Numbers | None = None  # at least this many bytes
    binary: Values | None = None  # hex prefix of the body
    part: Literal["body", "header", "all"] = "body"
    condition: Literal["or", "and"] = "or"
    negative: StrictBool = False
    case_insensitive: StrictBool = False


class ExtractorSpec(Strict):
    name: StrictStr = Name
    type: Literal["regex", "header"] = "regex"
    regex: Values | None = None
    group: StrictInt = Field(default=0, ge=0)
    part: Literal["body", "header", "all"] = "body"
    headers: Values | None = None  # type header: the header names
    internal: StrictBool = False  # only for later requests, never shown in the report


class RequestSpec(Strict):
    path: StrictStr
    method: StrictStr = "GET"
    headers: dict[StrictStr, StrictStr] = {}
    body: StrictStr | None = None
    matchers: list[MatcherSpec] = []
    matchers_condition: Literal["and", "or"] = "and"
    extractors: list[ExtractorSpec] = []


class FindingSpec(Strict):
    """A further finding kind of a passive signature (a ``finding_kind`` with a parent)."""

    id: StrictStr
    title: StrictStr
    severity: StrictStr
    cwe: StrictInt
    description: StrictStr
    remediation: StrictStr
    category: StrictStr | None = None  # default: the check's
    confidence: StrictStr | None = None
    owasp: StrictStr | None = None
    references: list[StrictStr] = []
    matchers: list[MatcherSpec] = Field(min_length=1)
    matchers_condition: Literal["and", "or"] = "and"
    evidence: StrictStr
    parameter: StrictStr | None = None


class SignatureSpec(Strict):
    id: StrictStr
    title: StrictStr
    category: StrictStr
    severity: StrictStr
    confidence: StrictStr
    cwe: StrictInt
    owasp: StrictStr
    description: StrictStr
    remediation: StrictStr
    references: list[StrictStr] = []
    kind: Literal["active", "passive"] = "active"
    paths: list[StrictStr] = []
    request: list[RequestSpec] = []
    matchers: list[MatcherSpec] = []
    matchers_condition: Literal["and", "or"] = "and"
    method: StrictStr = "GET"
    raw: StrictBool = False
    soft404: StrictBool = True
    stop_at_first: StrictBool = False
    extract: list[StrictStr] = []
    extractors: list[ExtractorSpec] = []
    evidence: StrictStr | None = None
    parameter: StrictStr | None = None
    evidence_mask: Literal["kv"] | None = None
    requires: list[StrictStr] = []  # frameworks; empty = always
    once: Literal["url", "origin"] = "url"
    responses: Literal["all", "target"] = "all"
    each: StrictStr | None = None
    finding: list[FindingSpec] = []

    @model_validator(mode="after")
    def _shape(self) -> SignatureSpec:
        if self.kind == "passive":
            wrong = [k for k in ("paths", "request") if getattr(self, k)]
            if wrong:
                raise ValueError(f"a passive signature sends nothing: remove {wrong[0]!r}")
            if self.requires:  # frameworks are learnt during the scan, workers do not see them
                raise ValueError("'requires' is for active signatures")
            if not (self.matchers or self.each):
                raise ValueError("a passive signature needs 'matchers' or 'each'")
            if self.evidence is None:
                raise ValueError("a passive signature needs 'evidence'")
            return self
        passive_only = [k for k in ("each", "finding") if getattr(self, k)] + [
            k for k, d in (("once", "url"), ("responses", "all")) if getattr(self, k) != d
        ]
        if passive_only:
            raise ValueError(f'{passive_only[0]!r} is for kind = "passive" signatures')
        if bool(self.paths) == bool(self.request):
            raise ValueError("give either 'paths' or [[check.request]] steps")
        if self.paths and not self.matchers:
            raise ValueError("an active signature needs 'matchers'")
        if self.request and not self.request[-1].matchers:
            raise ValueError("the last [[check.request]] step needs 'matchers'")
        return self


class SignatureFile(Strict):
    check: list[SignatureSpec] = []


_VALUES_KEY = {"status": "status", "word": "words", "regex": "regex", "header": "headers",
               "size": "size", "binary": "binary", "content-type": "content_type"}  # fmt: skip


def _listed(raw: Any) -> list[Any]:
    return [] if raw is None else raw if isinstance(raw, list) else [raw]


def _matcher(spec: MatcherSpec, where: str) -> Matcher:
    if spec.type == "cookie":
        names = _listed(spec.name)
        if len(names) > 1:
            raise RegistryError(f"{where}: a cookie matcher takes one 'name' pattern")
        return Matcher(
            type="cookie", values=(), condition=spec.condition, negative=spec.negative,
            pattern=_compile(names[0], 0, where) if names else None,
            missing=tuple(spec.missing or ()),
        )  # fmt: skip
    if spec.type == "header" and spec.name is not None:
        if spec.headers is not None:
            raise RegistryError(f"{where}: a header matcher takes 'name' or 'headers', not both")
        regex = _listed(spec.regex)
        if len(regex) > 1:
            raise RegistryError(f"{where}: a header matcher by 'name' takes one 'regex'")
        return Matcher(
            type="header", values=(), condition=spec.condition, negative=spec.negative,
            names=tuple(n.lower() for n in _listed(spec.name)),
            pattern=_compile(regex[0], rx.I if spec.case_insensitive else 0, where)
            if regex
            else None,
        )  # fmt: skip
    key = _VALUES_KEY[spec.type]
    raw = getattr(spec, key)
    if raw is None:
        raise RegistryError(f"{where}: a {spec.type} matcher needs '{key}'")
    values = _listed(raw)
    patterns: tuple[rx.Pattern, ...] = ()
    if spec.type == "regex":
        flags = rx.I if spec.case_insensitive else 0
        patterns = tuple(_compile(v, flags, where) for v in values)
    elif spec.type == "header":
        patterns = tuple(_compile(str(v).partition(":")[2].strip(), rx.I, where) for v in values)
    return Matcher(
        type=spec.type,
        values=tuple(values),
        part=spec.part,
        condition=spec.condition,
        negative=spec.negative,
        case_insensitive=spec.case_insensitive,
        patterns=patterns,
    )


def _extractor(spec: ExtractorSpec, where: str) -> Extractor:
    patterns = tuple(_compile(p, 0, where) for p in _listed(spec.regex))
    if spec.type == "regex":
        if not patterns:
            raise RegistryError(f"{where}: extractor {spec.name!r} needs 'regex'")
        for p in patterns:
            if spec.group > p.groups:
                raise RegistryError(f"{where}: extractor {spec.name!r} has no group {spec.group}")
    elif not spec.headers:
        raise RegistryError(f"{where}: header extractor {spec.name!r} needs 'headers'")
    return Extractor(
        name=spec.name, type=spec.type, patterns=patterns, group=spec.group, part=spec.part,
        headers=tuple(h.lower() for h in _listed(spec.headers)), internal=spec.internal,
    )  # fmt: skip


def _compile(pattern: str, flags: int, where: str) -> rx.Pattern:
    """A signature's regex, compiled with RE2 when the file is loaded."""
    try:
        return rx.compile(pattern, flags, where=where)
    except rx.PatternError as exc:
        raise RegistryError(str(exc)) from None


def _uses(text: str | None, known: set[str], where: str, what: str) -> None:
    """Refuse a template naming a value nothing extracted (or an internal one)."""
    unknown = template_names(text or "") - known
    if unknown:
        raise RegistryError(f"{where}: {what} uses {{{{{sorted(unknown)[0]}}}}}, not extracted")


def _steps(entry: SignatureSpec, where: str) -> tuple[Step, ...]:
    steps: list[Step] = []
    known: set[str] = set()
    for n, req in enumerate(entry.request, 1):
        at = f"{where} request #{n}"
        for text in (req.path, req.body, *req.headers.values()):
            _uses(text, known, at, "the request")
        extractors = tuple(_extractor(e, at) for e in req.extractors)
        known |= {e.name for e in extractors}
        steps.append(
            Step(
                path=req.path, method=req.method, headers=tuple(req.headers.items()),
                body=req.body, matchers=tuple(_matcher(m, at) for m in req.matchers),
                condition=req.matchers_condition, extractors=extractors,
            )
        )  # fmt: skip
    return tuple(steps)


def _rules(entry: SignatureSpec, where: str, shown: set[str]) -> tuple[Rule, ...]:
    rules = []
    for f in entry.finding:
        at = f"{where} finding {f.id!r}"
        if f.id == entry.id:
            raise RegistryError(f"{at}: a [[check.finding]] needs an id of its own")
        meta = _meta({
            **{k: getattr(entry, k) for k in ("category", "confidence", "owasp")},
            **{k: v for k, v in f.model_dump().items() if k in META_KEYS and v is not None},
        }, at)  # fmt: skip
        for text in (f.evidence, f.parameter):
            _uses(text, shown, at, "the report")
        rules.append(
            Rule(
                meta=meta, matchers=tuple(_matcher(m, at) for m in f.matchers),
                condition=f.matchers_condition, evidence=f.evidence, parameter=f.parameter,
            )
        )  # fmt: skip
    return tuple(rules)


def _meta(values: dict[str, Any], where: str) -> CheckMeta:
    try:
        return CheckMeta(**values)
    except (TypeError, RegistryError) as exc:
        raise RegistryError(f"{where}: {exc}") from None


def _signature(entry: SignatureSpec, where: str, source: Path) -> Signature:
    meta = _meta({k: getattr(entry, k) for k in META_KEYS}, where)
    steps = _steps(entry, where)
    extractors = tuple(_extractor(e, where) for e in entry.extractors)
    shown = {e.name for e in extractors if not e.internal}
    shown |= {e.name for s in steps for e in s.extractors if not e.internal}
    if entry.each is not None and entry.each not in shown:
        raise RegistryError(f"{where}: 'each' names {entry.each!r}, not a shown extractor")
    for text in (entry.evidence, entry.parameter):
        _uses(text, shown, where, "the report")
    return Signature(
        meta=meta,
        paths=tuple(entry.paths),
        matchers=tuple(_matcher(m, where) for m in entry.matchers),
        condition=entry.matchers_condition,
        method=entry.method,
        raw=entry.raw,
        soft404=entry.soft404,
        stop_at_first=entry.stop_at_first,
        extract=tuple(_compile(p, 0, where) for p in entry.extract),
        evidence_mask=entry.evidence_mask,
        requires=tuple(entry.requires),
        kind=entry.kind,
        source=str(source),
        steps=steps,
        extractors=extractors,
        evidence_template=entry.evidence,
        parameter=entry.parameter,
        once=entry.once,
        responses=entry.responses,
        each=entry.each,
        rules=_rules(entry, where, shown),
    )


def load_file(path: Path) -> list[Signature]:
    """Parse and validate one signature file; raise RegistryError on anything malformed
    (one line naming the file, the check and the key)."""
    try:
        spec = read_table(path, SignatureFile)
    except KnowledgeError as exc:
        raise RegistryError(str(exc)) from None
    path = path.resolve()
    return [
        _signature(entry, f"{path.name} check #{i}", path) for i, entry in enumerate(spec.check, 1)
    ]


@cache
def _load_dir(directory: Path) -> tuple[Signature, ...]:
    return tuple(sig for path in sorted(directory.glob("*.toml")) for sig in load_file(path))


def load_dir(directory: Path = SIGNATURES) -> tuple[Signature, ...]:
    """Every signature of ``directory/*.toml``, parsed once per process and kept."""
    return _load_dir(directory.resolve())


def ids(sig: Signature) -> list[str]:
    """The check id and the finding kinds a signature declares."""
    return [sig.meta.id, *(r.meta.id for r in sig.rules)]


def _active_fn(sig: Signature) -> Callable[[CheckContext], Any]:
    async def fn(ctx: CheckContext) -> None:
        await run_signature(sig, ctx)

    return fn


def register_signatures(directory: Path) -> int:
    """Register every signature in ``directory/*.toml`` as a check (and its finding kinds)."""
    from apigrade.checks.signature_passive import PassiveSignature

    count = 0
    for sig in load_dir(directory):
        if sig.kind == "passive":
            REGISTRY.add(Check(meta=sig.meta, kind="passive", fn=PassiveSignature(sig)))
        else:
            REGISTRY.add(Check(meta=sig.meta, kind="active", fn=_active_fn(sig)))
        for rule in sig.rules:
            REGISTRY.add_kind(rule.meta, sig.meta.id)
        count += 1
    return count
