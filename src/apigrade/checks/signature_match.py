"""What a signature tests on a response (matchers) and what it takes from one (extractors).

Every pattern runs on target text, so each is compiled with RE2 (``apigrade.rx``) when the
file is loaded. Header names are compared case-insensitively; a repeated header is judged
on its values joined with ", " (how HTTP combines repeated fields).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from apigrade import rx
from apigrade.engine.http import Exchange, SetCookie

#: longest value an extractor keeps (longer matches are cut)
MAX_VALUE = 256
_TEMPLATE = rx.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)(\.header)?((?:\|[a-z0-9]+)*)\s*\}\}")
_CONTROL = rx.compile(r"[\x00-\x1f\x7f]")


def _joined(ex: Exchange, name: str) -> str | None:
    """The header's values joined with ", " (None when the header is not sent)."""
    values = ex.response.header_all(name)
    return ", ".join(values) if values else None


@dataclass(frozen=True)
class Matcher:
    """One test on a response; ``negative`` inverts it."""

    type: str  # status | word | regex | header | size | binary | cookie | content-type
    values: tuple[Any, ...]
    part: str = "body"  # body | header | all
    condition: str = "or"
    negative: bool = False
    case_insensitive: bool = False
    # regex: one compiled pattern per value; header "Name: regex" form: one per value.
    patterns: tuple[rx.Pattern, ...] = ()
    #: header matcher by name: the header names (values then hold nothing)
    names: tuple[str, ...] = ()
    #: header by name: a pattern its value must contain (None: present with a value);
    #: cookie: a pattern the cookie's name must contain (None: any cookie)
    pattern: rx.Pattern | None = None
    #: cookie: attributes of which at least one (condition "and": all) is missing
    missing: tuple[str, ...] = ()

    def _haystack(self, ex: Exchange) -> str:
        headers = "\n".join(f"{k}: {v}" for k, v in ex.response.headers)
        if self.part == "header":
            return headers
        if self.part == "all":
            return headers + "\n\n" + ex.text
        return ex.text

    def _header(self, ex: Exchange) -> list[bool]:
        if not self.names:  # "Name: regex" values
            out = []
            for v, p in zip(self.values, self.patterns, strict=True):
                got = ex.response.header_all(str(v).partition(":")[0].strip())
                out.append(any(p.search(g) for g in got))
            return out
        results = []
        for name in self.names:
            value = _joined(ex, name)
            if self.pattern is None:
                results.append(bool(value and value.strip()))
            else:
                results.append(value is not None and self.pattern.search(value) is not None)
        return results

    def _cookie(self, ex: Exchange) -> list[bool]:
        def lacks(cookie: SetCookie) -> bool:
            gaps = [not cookie.has(a) for a in self.missing]
            return all(gaps) if self.condition == "and" else any(gaps)

        named = [
            c for c in ex.response.cookies
            if self.pattern is None or self.pattern.search(c.name) is not None
        ]  # fmt: skip
        return [any(lacks(c) for c in named) if self.missing else bool(named)]

    def _test(self, ex: Exchange) -> list[bool]:
        if self.type == "status":
            return [ex.status == v for v in self.values]
        if self.type == "size":
            return [len(ex.response.body) >= v for v in self.values]
        if self.type == "binary":
            return [ex.response.body.startswith(bytes.fromhex(v)) for v in self.values]
        if self.type == "content-type":
            return [ex.response.content_type == str(v).lower() for v in self.values]
        if self.type == "word":
            hay = self._haystack(ex)
            if self.case_insensitive:
                return [str(v).lower() in hay.lower() for v in self.values]
            return [str(v) in hay for v in self.values]
        if self.type == "regex":
            hay = self._haystack(ex)
            return [p.search(hay) is not None for p in self.patterns]
        if self.type == "header":
            return self._header(ex)
        if self.type == "cookie":
            return self._cookie(ex)
        raise ValueError(self.type)  # pragma: no cover - rejected at load

    def matches(self, ex: Exchange) -> bool:
        results = self._test(ex)
        ok = all(results) if self.condition == "and" and self.type != "cookie" else any(results)
        return ok != self.negative


def all_match(matchers: tuple[Matcher, ...], condition: str, ex: Exchange) -> bool:
    """``matchers-condition``: every matcher ("and") or any of them ("or")."""
    results = (m.matches(ex) for m in matchers)
    return all(results) if condition == "and" else any(results)


@dataclass(frozen=True)
class Value:
    """One extracted value and, for a header extractor, the header it came from."""

    text: str
    header: str = ""


@dataclass(frozen=True)
class Extractor:
    """A named value taken from a response: ``{{name}}`` in later requests or the report."""

    name: str
    type: str  # regex | header
    patterns: tuple[rx.Pattern, ...] = ()
    group: int = 0
    part: str = "body"
    headers: tuple[str, ...] = ()  # type header: the header names, in order
    internal: bool = False

    def values(self, ex: Exchange) -> Iterator[Value]:
        """Every value, in order (a header extractor: each value of each named header)."""
        if self.type == "header":
            for name in self.headers:
                for v in ex.response.header_all(name):
                    if not self.patterns or any(p.search(v) for p in self.patterns):
                        yield Value(v[:MAX_VALUE], name)
            return
        hay = Matcher(type="regex", values=(), part=self.part)._haystack(ex)
        for p in self.patterns:
            m = p.search(hay)
            if m is not None and m.group(self.group) is not None:
                yield Value(m.group(self.group)[:MAX_VALUE])

    def first(self, ex: Exchange) -> Value | None:
        return next(self.values(ex), None)


# -- {{name}} templates ------------------------------------------------------------------


def template_names(text: str) -> set[str]:
    """The variables a template uses."""
    return {m.group(1) for m in _TEMPLATE.finditer(text)}


def _filtered(value: Value, header: bool, filters: str) -> str:
    text = value.header if header else value.text
    for f in filter(None, filters.split("|")):
        text = text.title() if f == "title" else text[: int(f)] if f.isdigit() else text
    return text


@lru_cache(maxsize=1024)
def _parts(text: str) -> tuple[tuple[str, str, bool, str], ...]:
    """A template as (literal before, name, .header, filters) pieces, parsed once; the
    text after the last variable is a piece with an empty name."""
    out = []
    last = 0
    for m in _TEMPLATE.finditer(text):
        out.append((text[last : m.start()], m.group(1), bool(m.group(2)), m.group(3) or ""))
        last = m.end()
    out.append((text[last:], "", False, ""))
    return tuple(out)


def render(
    text: str, values: dict[str, Value], escape: str = "none", missing: str | None = None
) -> str | None:
    """``text`` with each ``{{name}}`` (``{{name.header}}``, ``|title``, ``|80``: cut to
    80 characters) replaced; ``escape`` "url" percent-encodes each value, "header"
    refuses one with control characters. A value that was not extracted becomes
    ``missing``; None when it is None or a value is refused."""
    out: list[str] = []
    for literal, name, header, filters in _parts(text):
        out.append(literal)
        if not name:
            continue
        value = values.get(name)
        if value is None:
            if missing is None:
                return None
            value = Value(missing, missing)
        piece = _filtered(value, header, filters)
        if escape == "url":
            piece = quote(piece, safe="")
        elif escape == "header" and _CONTROL.search(piece):
            return None
        out.append(piece)
    return "".join(out)
