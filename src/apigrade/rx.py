"""Linear-time regular expressions for everything a target sends.

Every pattern that runs on target-controlled text is compiled here, with Google's RE2
(``google-re2``, module ``re2``): matching time grows linearly with the text, whatever the
pattern and the text, so no page can stall a scan the way a backtracking engine can.

- ``compile(pattern, flags)`` takes Python syntax and the flags ``I``, ``S`` and ``M`` (turned
  into ``(?i)``, ``(?s)``, ``(?m)``); ``\\Z`` becomes RE2's ``\\z``. A pattern RE2 cannot express
  (look-around, back-references, counted repetition over 1000) raises ``PatternError`` when it
  is compiled, which for module-level patterns is at import: the build fails.
- Every pattern compiled at definition time is kept in a registry (``registered()``) with the
  place it was defined, so a test can feed each one adversarial bodies.
- ``finditer``, ``findall`` and ``sub`` take a ``limit``/``count``: repeated unanchored
  matches can each scan far past their end, so callers bound how many they take.

Differences from Python's ``re`` worth knowing: ``\\w``, ``\\d`` and ``\\b`` are ASCII only
(``\\s`` matches Unicode spaces, as in ``re``); ``$`` without ``M`` matches only at the very
end (not before a final newline); a lone surrogate in the text is seen as U+FFFD; ``sub``
takes a callable or a literal string (no ``\\1`` templates).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import re2
from re2 import _re2

# Same values as re.IGNORECASE, re.MULTILINE, re.DOTALL, re.VERBOSE, so either may be passed.
I = IGNORECASE = 2  # noqa: E741 - the name re uses
M = MULTILINE = 8
S = DOTALL = 16
X = VERBOSE = 64
_INLINE = {I: "i", M: "m", S: "s"}

# Default cap on the matches ``finditer``/``findall`` take from one text.
DEFAULT_LIMIT = 10_000

# RE2's matcher is called directly on the encoded text (google-re2's own wrapper re-encodes
# and re-maps offsets on every call): ``_re2`` and ``_regexp`` are that package's internals,
# hence the version range in pyproject.toml; tests/hostile/test_patterns_linear.py covers them.
_UNANCHORED = re2._Anchor.UNANCHORED
_ANCHOR_START = re2._Anchor.ANCHOR_START
_ANCHOR_BOTH = re2._Anchor.ANCHOR_BOTH

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print parse errors on stderr


Accept = Callable[["Match"], bool]


class PatternError(ValueError):
    """A pattern RE2 cannot compile (or a flag it does not take)."""


_REGISTRY: dict[tuple[str, int, str], Pattern] = {}


def registered() -> tuple[Pattern, ...]:
    """Every pattern compiled with ``register=True`` so far (module-level and signature ones)."""
    return tuple(_REGISTRY.values())


# Python's \s on str also matches Unicode spaces (no-break space from "&nbsp;", ...); RE2's
# is ASCII only, so \s and \S are spelled out. \w, \d and \b stay ASCII (tokens, keys).
_SPACE_SET = r"\s\x0b\x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"


def _translate(pattern: str, flags: int) -> str:
    """Python syntax to RE2 syntax: inline flags first, ``\\Z`` to ``\\z``, ``\\uXXXX`` to
    ``\\x{XXXX}``, Unicode ``\\s``."""
    if flags & X:
        raise PatternError("verbose patterns (re.X) are not supported; write the pattern flat")
    unknown = flags & ~(I | M | S)
    if unknown:
        raise PatternError(f"unsupported regex flags: {unknown:#x}")
    out = []
    i = 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            width = {"u": 4, "U": 8}.get(nxt)
            if width is not None:  # \uXXXX, \UXXXXXXXX -> \x{...}
                out.append("\\x{" + pattern[i + 2 : i + 2 + width] + "}")
                i += 2 + width
                continue
            if nxt == "s":
                out.append(_SPACE_SET if in_class else f"[{_SPACE_SET}]")
            elif nxt == "S" and not in_class:
                out.append(f"[^{_SPACE_SET}]")
            else:
                out.append("\\z" if nxt == "Z" else c + nxt)
            i += 2
            continue
        if not in_class and c == "[":
            in_class = True
            out.append(c)
            i += 1
            if pattern[i : i + 1] == "^":
                out.append("^")
                i += 1
            if pattern[i : i + 1] == "]":  # a leading "]" is a member
                out.append("]")
                i += 1
            continue
        if in_class and c == "[" and pattern[i + 1 : i + 2] == ":":  # [:alpha:]
            end = pattern.find(":]", i + 2)
            if end > 0:
                out.append(pattern[i : end + 2])
                i = end + 2
                continue
        if in_class and c == "]":
            in_class = False
        out.append(c)
        i += 1
    inline = "".join(ch for flag, ch in _INLINE.items() if flags & flag)
    return (f"(?{inline})" if inline else "") + "".join(out)


class _Offsets:
    """Byte offsets in UTF-8 ``data`` to character offsets and back, walking from the last one.

    Offsets asked for move mostly forward, so a whole scan costs one pass over the data.
    """

    __slots__ = ("_byte", "_char", "_data")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._byte = 0
        self._char = 0

    def _chars_at(self, byte: int) -> int:
        if byte >= self._byte:
            self._char += _re2.BytesToCharLen(self._data, self._byte, byte)
        else:
            self._char -= _re2.BytesToCharLen(self._data, byte, self._byte)
        self._byte = byte
        return self._char

    def to_chars(self, span: tuple[int, int]) -> tuple[int, int]:
        if span[0] < 0:
            return span
        return self._chars_at(span[0]), self._chars_at(span[1])

    def to_bytes(self, char: int) -> int:
        self._chars_at(0)
        self._byte = _re2.CharLenToBytes(self._data, 0, char)
        self._char = char
        return self._byte

    def char_size(self, byte: int) -> int:
        """Bytes of the character starting at ``byte``."""
        return max(1, _re2.CharLenToBytes(self._data, byte, 1))


# The last large text encoded, and its bytes: a body is matched by many patterns in a row.
_CACHE_MIN = 4096
_last_encoded: tuple[str, bytes, bool] = ("", b"", True)


def _encoded(text: str) -> tuple[bytes, bool]:
    """``text`` as UTF-8 for RE2 (lone surrogates as U+FFFD), and whether it is ASCII.

    Encoding costs a pass over the text; the last large one is kept, so the patterns run
    one after the other over the same body encode it once.
    """
    global _last_encoded
    last = _last_encoded
    if last[0] is text:
        return last[1], last[2]
    if text.isascii():
        data, is_ascii = text.encode("ascii"), True
    else:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            data = replace_surrogates(text).encode("utf-8")
        is_ascii = False
    if len(text) >= _CACHE_MIN:
        _last_encoded = (text, data, is_ascii)
    return data, is_ascii


class Match:
    """One match: the subset of ``re.Match`` the project uses, on the original text."""

    __slots__ = ("_spans", "re", "string")

    def __init__(self, regex: Pattern, string: str, spans: list[tuple[int, int]]) -> None:
        self.re = regex
        self.string = string
        self._spans = spans

    def _index(self, group: int | str) -> int:
        if isinstance(group, str):
            try:
                return self.re.groupindex[group]
            except KeyError:
                raise IndexError(f"no such group: {group!r}") from None
        if not 0 <= group < len(self._spans):
            raise IndexError(f"no such group: {group}")
        return group

    def __getitem__(self, group: int | str) -> str | Any:
        start, end = self._spans[self._index(group)]
        return None if start < 0 else self.string[start:end]

    def group(self, *groups: int | str) -> str | Any:
        if not groups:
            return self[0]
        if len(groups) == 1:
            return self[groups[0]]
        return tuple(self[g] for g in groups)

    def groups(self, default: Any = None) -> tuple[str | Any, ...]:
        values = (self[g] for g in range(1, len(self._spans)))
        return tuple(default if v is None else v for v in values)

    def groupdict(self, default: Any = None) -> dict[str, str | Any]:
        out = {}
        for name, index in self.re.groupindex.items():
            value = self[index]
            out[name] = default if value is None else value
        return out

    def span(self, group: int | str = 0) -> tuple[int, int]:
        return self._spans[self._index(group)]

    def start(self, group: int | str = 0) -> int:
        return self.span(group)[0]

    def end(self, group: int | str = 0) -> int:
        return self.span(group)[1]

    @property
    def lastindex(self) -> int | None:
        best, last = -1, None
        for g in range(1, len(self._spans)):
            end = self._spans[g][1]
            if end > best:
                best, last = end, g
        return last

    def __repr__(self) -> str:
        return f"<rx.Match span={self.span()} match={self.group()!r}>"


class Pattern:
    """A compiled RE2 pattern with the parts of the ``re.Pattern`` API the project uses."""

    __slots__ = ("_re", "flags", "groupindex", "groups", "pattern", "where")  # where: "mod:LINE"

    def __init__(self, pattern: str, flags: int, where: str) -> None:
        self.pattern = pattern
        self.flags = flags
        self.where = where
        try:
            self._re = re2.compile(_translate(pattern, flags), _OPTIONS)
        except re2.error as exc:
            detail = exc.args[0] if exc.args else exc
            if isinstance(detail, bytes):
                detail = detail.decode("utf-8", "replace")
            raise PatternError(f"{where}: RE2 cannot compile {pattern!r}: {detail}") from None
        self.groups: int = self._re.groups
        self.groupindex: dict[str, int] = dict(self._re.groupindex)

    def __repr__(self) -> str:
        return f"rx.compile({self.pattern!r}, {self.flags})"

    # -- matching ---------------------------------------------------------------------------

    def _run(self, anchor: Any, text: str, pos: int, endpos: int | None, limit: int | None,
             accept: Accept | None = None) -> Iterator[Match]:
        """Matches from ``pos``, left to right, at most ``limit`` accepted ones.

        The text is encoded once; RE2 runs on the bytes, and offsets are mapped back to
        characters incrementally (a no-op for ASCII), so a whole ``finditer`` stays linear.
        A match ``accept`` refuses is dropped and the search resumes one character after
        its start, as the engine would after a failed look-around.
        """
        size = len(text)
        pos = max(0, min(pos, size))
        end = size if endpos is None else max(0, min(endpos, size))
        if pos > end or limit == 0:
            return
        data, is_ascii = _encoded(text)
        chars: _Offsets | None = None
        if not is_ascii:
            chars = _Offsets(data)
            pos, end = chars.to_bytes(pos), chars.to_bytes(end)
        raw = self._re._regexp.Match
        taken = 0
        while True:
            spans = raw(anchor, data, pos, end)
            first = spans[0]
            if first[0] < 0:
                return
            if chars is not None:
                spans = [chars.to_chars(sp) for sp in spans]
            m = Match(self, text, spans)
            if accept is not None and not accept(m):
                if anchor != _UNANCHORED or first[0] >= end:
                    return
                pos = first[0] + (chars.char_size(first[0]) if chars is not None else 1)
                continue
            yield m
            taken += 1
            if limit is not None and taken >= limit:
                return
            if first[1] > first[0]:
                pos = first[1]
            elif first[1] >= end:
                return
            else:  # empty match: step over one character, as re does
                pos = first[1] + (chars.char_size(first[1]) if chars is not None else 1)

    def _first(self, anchor: Any, text: str, pos: int, endpos: int | None,
               accept: Accept | None) -> Match | None:
        if pos == 0 and endpos is None and accept is None:  # the common case, kept short
            data, is_ascii = _encoded(text)
            if is_ascii:
                spans = self._re._regexp.Match(anchor, data, 0, len(data))
                return Match(self, text, spans) if spans[0][0] >= 0 else None
        return next(self._run(anchor, text, pos, endpos, 1, accept), None)

    def search(self, text: str, pos: int = 0, endpos: int | None = None, *,
               accept: Accept | None = None) -> Match | None:
        """The first match (that ``accept`` takes, if given)."""
        return self._first(_UNANCHORED, text, pos, endpos, accept)

    def match(self, text: str, pos: int = 0, endpos: int | None = None) -> Match | None:
        return self._first(_ANCHOR_START, text, pos, endpos, None)

    def fullmatch(self, text: str, pos: int = 0, endpos: int | None = None) -> Match | None:
        return self._first(_ANCHOR_BOTH, text, pos, endpos, None)

    def finditer(self, text: str, *, limit: int | None = DEFAULT_LIMIT,
                 accept: Accept | None = None) -> Iterator[Match]:
        """Matches left to right, at most ``limit`` of them (``None``: all).

        ``accept`` stands in for a look-around RE2 lacks: keep candidates short (a bounded
        match), since each refused one is searched again from its next character.
        """
        return self._run(_UNANCHORED, text, 0, None, limit, accept)

    def findall(self, text: str, *, limit: int | None = DEFAULT_LIMIT) -> list[Any]:
        """Like ``re.findall`` (whole match, the one group, or a tuple of groups)."""
        out: list[Any] = []
        for m in self.finditer(text, limit=limit):
            if self.groups == 0:
                out.append(m.group(0))
            elif self.groups == 1:
                out.append(m.groups("")[0])
            else:
                out.append(m.groups(""))
        return out

    def subn(self, repl: str | Callable[[Match], str], text: str, count: int = 0) -> tuple[str, int]:
        """Replace matches (all when ``count`` is 0) by ``repl(match)`` or the literal ``repl``."""
        if isinstance(repl, str) and "\\" in repl:
            raise PatternError("rx.sub takes a literal string or a callable, not a template")
        pieces: list[str] = []
        last = 0
        n = 0
        for m in self.finditer(text, limit=count or None):
            start, end = m.span()
            pieces.append(text[last:start])
            pieces.append(repl(m) if callable(repl) else repl)
            last = end
            n += 1
        pieces.append(text[last:])
        return "".join(pieces), n

    def sub(self, repl: str | Callable[[Match], str], text: str, count: int = 0) -> str:
        return self.subn(repl, text, count)[0]

    def split(self, text: str, maxsplit: int = 0) -> list[str | Any]:
        """Like ``re.split``: the pieces, with the groups' text between them."""
        pieces: list[str | Any] = []
        last = 0
        for m in self.finditer(text, limit=maxsplit or None):
            start, end = m.span()
            pieces.append(text[last:start])
            pieces.extend(m.groups())
            last = end
        pieces.append(text[last:])
        return pieces


def _caller(depth: int) -> str:
    frame = sys._getframe(depth + 1)
    module = frame.f_globals.get("__name__", "?")
    return f"{module}:{frame.f_lineno}"


def compile(pattern: str, flags: int = 0, *, where: str | None = None, register: bool = True) -> Pattern:  # noqa: A001
    """Compile ``pattern`` with RE2; raise ``PatternError`` if RE2 cannot express it.

    ``register=False`` is for patterns built at run time (e.g. from a target's spec): they are
    linear all the same, but keeping each one would grow the registry without bound.
    """
    if not isinstance(pattern, str):
        raise PatternError("rx patterns are str")
    origin = where or _caller(1)
    key = (pattern, flags, origin)
    if register and key in _REGISTRY:
        return _REGISTRY[key]
    compiled = Pattern(pattern, flags, origin)
    if register:
        _REGISTRY[key] = compiled
    return compiled


_SURROGATE_TABLES: dict[str, dict[int, str]] = {}


def replace_surrogates(text: str, repl: str = "\ufffd") -> str:
    """``text`` with each lone surrogate (an undecodable byte) replaced by ``repl``.

    RE2 works on UTF-8, which cannot hold them, so this is done without a pattern.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        table = _SURROGATE_TABLES.get(repl)
        if table is None:
            table = _SURROGATE_TABLES[repl] = dict.fromkeys(range(0xD800, 0xE000), repl)
        return text.translate(table)
    return text


def escape(text: str) -> str:
    """``text`` as a pattern that matches it literally."""
    return str(re2.escape(text))

