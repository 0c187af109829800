"""Error messages of databases, template engines and XML parsers, wherever a response shows them.

The messages are one table, ``data/errors.toml`` (``apigrade.knowledge.error_signs``). They are
looked for in the body's text: the string values of a JSON body (``{"error": "..."}``,
``{"detail": ...}``, nested or not), the text of an HTML page with its tags removed and its
entities decoded (a Werkzeug debugger or Django technical 500 page shows the exception
``&quot;``-escaped), or the plain body. ``new_errors`` is the differential the injection checks
use: messages a probe's answer shows that the unmodified request's answer does not.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apigrade import knowledge, rx

if TYPE_CHECKING:
    from apigrade.engine.http import Exchange

MAX_TEXT = 300_000  # characters of a body searched
EXCERPT = 200  # characters of context kept after a match
_BR = rx.compile(r"<br\s*/?>", rx.I)
_MAX_TAG = 2002  # characters of a tag strip_tags removes, brackets included


@dataclass(frozen=True)
class ErrorMatch:
    """One error message found in a body."""

    kind: str  # database | template | xml
    name: str  # the database, engine or parser
    excerpt: str  # the message and the rest of its line, whitespace collapsed


def _json_strings(value: object, out: list[str], depth: int = 0) -> None:
    if depth > 20 or len(out) > 2000:
        return
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _json_strings(v, out, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _json_strings(v, out, depth + 1)


def strip_tags(text: str, max_tag: int = _MAX_TAG) -> str:
    """``text`` without its tags (``<...>``) of at most ``max_tag`` characters.

    Plain string search: one pass, and no offset mapping on non-ASCII pages.
    """
    out: list[str] = []
    last = 0
    while (start := text.find("<", last)) >= 0:
        close = text.find(">", start)
        if close < 0:
            break
        end = close + 1
        if end - start > max_tag:  # the leftmost "<" close enough to the ">"
            start = text.find("<", end - max_tag, close)
        if start >= 0:
            out.append(text[last:start])
        else:  # no tag ends here: keep the text
            out.append(text[last:end])
        last = end
    out.append(text[last:])
    return "".join(out)


def plain_text(raw: str, ctype: str = "") -> str:
    """The body as text: JSON string values, or HTML without tags and entities."""
    if "json" in ctype or raw.lstrip()[:1] in ("{", "["):
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            return raw.replace("\\n", "\n").replace('\\"', '"')
        strings: list[str] = []
        _json_strings(parsed, strings)
        return "\n".join(strings)
    if "html" in ctype or "xml" in ctype:
        return html.unescape(strip_tags(_BR.sub("\n", raw)))
    return raw


def _excerpt(text: str, m: rx.Match) -> str:
    end = text.find("\n", m.end())
    stop = min(m.end() + EXCERPT, end if end >= 0 else len(text))
    return " ".join(text[m.start() : max(stop, m.end())].split())


def find_errors(
    text: str, check: knowledge.ErrorCheck, kinds: tuple[str, ...] | None = None
) -> list[ErrorMatch]:
    """The first message of each kind in ``text`` (already plain), in table order."""
    found: dict[str, ErrorMatch] = {}
    for sign in knowledge.error_signs(check):
        if sign.kind in found or (kinds is not None and sign.kind not in kinds):
            continue
        m = sign.pattern.search(text)
        if m:
            found[sign.kind] = ErrorMatch(sign.kind, sign.name, _excerpt(text, m))
    return sorted(found.values(), key=lambda e: _KIND_ORDER.index(e.kind))


_KIND_ORDER = ("database", "template", "xml")


def exchange_errors(
    ex: Exchange, check: knowledge.ErrorCheck, kinds: tuple[str, ...] | None = None
) -> list[ErrorMatch]:
    """The error messages an answer shows (see ``find_errors``)."""
    resp = ex.response
    if not resp.body:
        return []
    return find_errors(plain_text(resp.text[:MAX_TEXT], resp.content_type), check, kinds)


def new_errors(
    probed: Exchange, baseline: Exchange, check: knowledge.ErrorCheck
) -> list[ErrorMatch]:
    """Messages in the probe's answer whose (kind, name) the baseline's answer does not show."""
    before = {(e.kind, e.name) for e in exchange_errors(baseline, check)}
    return [e for e in exchange_errors(probed, check) if (e.kind, e.name) not in before]
