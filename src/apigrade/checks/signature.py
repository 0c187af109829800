"""Declarative signature checks: paths plus matchers, kept as TOML data files."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from apigrade import rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import REGISTRY, Check, CheckMeta, RegistryError
from apigrade.engine.http import Exchange
from apigrade.knowledge import KnowledgeError, Strict, read_table
from apigrade.redact import mask

#: the signature files shipped with apigrade
SIGNATURES = Path(__file__).parent / "signatures"

META_KEYS = (
    "id", "title", "category", "severity", "confidence", "cwe", "owasp",
    "description", "remediation", "references",
)  # fmt: skip
_KV = rx.compile(r"(?m)^(\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.]*\s*[=:]\s*)(['\"]?)([^\r\n'\"]+)")


@dataclass(frozen=True)
class Matcher:
    """One test on a response; ``negative`` inverts it."""

    type: str  # status | word | regex | header | size | binary
    values: tuple[Any, ...]
    part: str = "body"  # body | header | all
    condition: str = "or"
    negative: bool = False
    case_insensitive: bool = False
    # regex: one compiled pattern per value; header: one per "Name: regex" value.
    patterns: tuple[rx.Pattern, ...] = ()

    def _haystack(self, ex: Exchange) -> str:
        headers = "\n".join(f"{k}: {v}" for k, v in ex.response.headers)
        if self.part == "header":
            return headers
        if self.part == "all":
            return headers + "\n\n" + ex.text
        return ex.text

    def _test(self, ex: Exchange) -> bool:
        if self.type == "status":
            results = [ex.status == v for v in self.values]
        elif self.type == "size":
            results = [len(ex.response.body) >= v for v in self.values]
        elif self.type == "binary":
            results = [ex.response.body.startswith(bytes.fromhex(v)) for v in self.values]
        elif self.type == "word":
            hay = self._haystack(ex)
            if self.case_insensitive:
                hay = hay.lower()
                results = [str(v).lower() in hay for v in self.values]
            else:
                results = [str(v) in hay for v in self.values]
        elif self.type == "regex":
            hay = self._haystack(ex)
            results = [p.search(hay) is not None for p in self.patterns]
        elif self.type == "header":
            # values are "Name: regex"
            results = []
            for v, p in zip(self.values, self.patterns, strict=True):
                name = str(v).partition(":")[0]
                got = ex.response.header_all(name.strip())
                results.append(any(p.search(g) for g in got))
        else:  # pragma: no cover - rejected at load
            raise ValueError(self.type)
        ok = all(results) if self.condition == "and" else any(results)
        return ok != self.negative

    def matches(self, ex: Exchange) -> bool:
        return self._test(ex)


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

    def matches(self, ex: Exchange) -> bool:
        results = (m.matches(ex) for m in self.matchers)
        return all(results) if self.condition == "and" else any(results)

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


async def run_signature(sig: Signature, ctx: CheckContext) -> None:
    """Probe each path, keep those that match and differ from the soft-404 answer."""
    if sig.requires and not set(sig.requires) & set(ctx.frameworks):
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
        ctx.report(Hit(url=ex.url, method=sig.method, evidence=sig.evidence(ex)))
        if sig.stop_at_first:
            break


# -- the file schema: unknown keys and wrong types are rejected at load -----------------

Values = list[StrictStr] | StrictStr
Numbers = list[StrictInt] | StrictInt


class MatcherSpec(Strict):
    type: Literal["status", "word", "regex", "header", "size", "binary"]
    status: Numbers | None = None
    words: Values | None = None
    regex: Values | None = None
    headers: Values | None = None  # "Name: regex"
    size: Numbers | None = None  # at least this many bytes
    binary: Values | None = None  # hex prefix of the body
    part: Literal["body", "header", "all"] = "body"
    condition: Literal["or", "and"] = "or"
    negative: StrictBool = False
    case_insensitive: StrictBool = False


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
    paths: list[StrictStr] = Field(min_length=1)
    matchers: list[MatcherSpec] = Field(min_length=1)
    matchers_condition: Literal["and", "or"] = "and"
    method: StrictStr = "GET"
    raw: StrictBool = False
    soft404: StrictBool = True
    stop_at_first: StrictBool = False
    extract: list[StrictStr] = []
    evidence_mask: Literal["kv"] | None = None
    requires: list[StrictStr] = []  # frameworks; empty = always


class SignatureFile(Strict):
    check: list[SignatureSpec] = []


_VALUES_KEY = {"status": "status", "word": "words", "regex": "regex", "header": "headers",
               "size": "size", "binary": "binary"}  # fmt: skip


def _matcher(spec: MatcherSpec, where: str) -> Matcher:
    key = _VALUES_KEY[spec.type]
    raw = getattr(spec, key)
    if raw is None:
        raise RegistryError(f"{where}: a {spec.type} matcher needs '{key}'")
    values: list[Any] = raw if isinstance(raw, list) else [raw]
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


def _compile(pattern: str, flags: int, where: str) -> rx.Pattern:
    """A signature's regex, compiled with RE2 when the file is loaded."""
    try:
        return rx.compile(pattern, flags, where=where)
    except rx.PatternError as exc:
        raise RegistryError(str(exc)) from None


def _signature(entry: SignatureSpec, where: str) -> Signature:
    try:
        meta = CheckMeta(**{k: getattr(entry, k) for k in META_KEYS})
    except TypeError as exc:
        raise RegistryError(f"{where}: {exc}") from None
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
    )


def load_file(path: Path) -> list[Signature]:
    """Parse and validate one signature file; raise RegistryError on anything malformed
    (one line naming the file, the check and the key)."""
    try:
        spec = read_table(path, SignatureFile)
    except KnowledgeError as exc:
        raise RegistryError(str(exc)) from None
    return [_signature(entry, f"{path.name} check #{i}") for i, entry in enumerate(spec.check, 1)]


@cache
def _load_dir(directory: Path) -> tuple[Signature, ...]:
    return tuple(sig for path in sorted(directory.glob("*.toml")) for sig in load_file(path))


def load_dir(directory: Path = SIGNATURES) -> tuple[Signature, ...]:
    """Every signature of ``directory/*.toml``, parsed once per process and kept."""
    return _load_dir(directory.resolve())


def register_signatures(directory: Path) -> int:
    """Register every signature in ``directory/*.toml`` as an active check."""
    count = 0
    for sig in load_dir(directory):

        async def fn(ctx: CheckContext, _sig: Signature = sig) -> None:
            await run_signature(_sig, ctx)

        REGISTRY.add(Check(meta=sig.meta, kind="active", fn=fn))
        count += 1
    return count
