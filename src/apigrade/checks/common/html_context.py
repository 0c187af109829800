"""Where a marker lands in an HTML page, and whether a payload came back executable.

Pure functions on a body (run in the analysis pool through ``ctx.offload``), on the stdlib
``html.parser`` with the browser's raw-text rules added: the content of ``<textarea>``,
``<title>`` and the other raw-text elements is text, whatever it looks like; ``<script>``
content is scanned with a small JavaScript lexer (strings, template literals, comments).
"""

from __future__ import annotations

from html.parser import HTMLParser

MAX_BODY = 400_000  # characters of a page parsed
MAX_OCCURRENCES = 8  # places of one marker judged per script

#: attributes whose value a browser follows or loads as a URL (``javascript:`` runs)
URL_ATTRS = frozenset({"href", "src", "action", "formaction", "data", "xlink:href"})
#: elements whose content a browser never parses as markup (besides script and style)
_RAW_TEXT = frozenset({"textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"})


class _Page(HTMLParser):
    """Collects where ``marker`` occurs and which start tags and attributes exist."""

    def __init__(self, marker: str) -> None:
        super().__init__(convert_charrefs=True)
        self.marker = marker
        self.contexts: list[str] = []
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.urls: list[str] = []  # values of URL attributes
        self.scripts: list[str] = []
        self._raw: str | None = None  # the raw-text element we are in
        self._tag: str | None = None  # script / style: html.parser's own CDATA mode

    def _add(self, context: str) -> None:
        if context not in self.contexts:
            self.contexts.append(context)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text() or ""
        if self._raw is not None:
            if self.marker and self.marker in raw:
                self._add("rcdata:" + self._raw)
            return
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)
        self.urls += [v for n, v in attrs if n in URL_ATTRS and v]
        if tag in _RAW_TEXT:
            self._raw = tag
        if tag in ("script", "style"):
            self._tag = tag
        if self.marker and self.marker in raw:
            for quote, name, first in _attr_contexts(raw, self.marker):
                self._add(f"attr:{quote}:{name}")
                if first and name in URL_ATTRS:
                    self._add(f"url:{quote}:{name}")

    def handle_endtag(self, tag: str) -> None:
        if self._raw is not None:
            if tag == self._raw:
                self._raw = None
            elif self.marker and self.marker in tag:
                self._add("rcdata:" + self._raw)
            return
        if tag == self._tag:
            self._tag = None

    def handle_data(self, data: str) -> None:
        if self._tag == "script":
            self.scripts.append(data)
        if not self.marker or self.marker not in data:
            return
        if self._raw is not None:
            self._add("rcdata:" + self._raw)
        elif self._tag == "script":
            for state in js_states(data, _occurrences(data, self.marker)):
                self._add("script:" + state)
        elif self._tag is None:
            self._add("text")

    def handle_comment(self, data: str) -> None:
        if self.marker and self.marker in data and self._raw is None:
            self._add("comment")


def _attr_contexts(raw: str, marker: str) -> list[tuple[str, str, bool]]:
    """(quote, attribute name, the value starts with it) of each attribute value of a raw
    start tag holding ``marker``; quote is ``"``, ``'`` or ``-`` (unquoted)."""
    out = []
    i = 1
    n = len(raw)
    while i < n and raw[i] not in " \t\n\r\f/>":
        i += 1  # the tag name
    while i < n:
        while i < n and raw[i] in " \t\n\r\f/":
            i += 1
        if i >= n or raw[i] == ">":
            break
        start = i
        while i < n and raw[i] not in " \t\n\r\f/>=":
            i += 1
        name = raw[start:i].lower()
        j = i
        while j < n and raw[j] in " \t\n\r\f":
            j += 1
        if j >= n or raw[j] != "=":
            continue
        j += 1
        while j < n and raw[j] in " \t\n\r\f":
            j += 1
        if j < n and raw[j] in "\"'":
            q = raw[j]
            end = raw.find(q, j + 1)
            end = n if end < 0 else end
            value, i = raw[j + 1 : end], end + 1
        else:
            q, end = "-", j
            while end < n and raw[end] not in " \t\n\r\f>":
                end += 1
            value, i = raw[j:end], end
        if marker in value:
            out.append((q, name, value.strip().startswith(marker)))
    return out


def js_state(script: str, index: int) -> str:
    """The lexical state of a script at ``index``: ``code``, ``'``, ``"``, `` ` ``, or
    ``comment`` (regular-expression literals are not told apart from division)."""
    return js_states(script, [index])[0]


def js_states(script: str, indices: list[int]) -> list[str]:
    """``js_state`` at each of the sorted ``indices``, in one pass over the script."""
    out: list[str] = []
    pending = list(indices)
    state = "code"
    depth: list[int] = []  # brace depth of each open ${ ... } in a template literal
    i = 0
    n = len(script)

    def upto(pos: int, what: str) -> None:
        """Record ``what`` for every pending index before ``pos``."""
        while pending and pending[0] < pos:
            pending.pop(0)
            out.append(what)

    while pending and i < n:
        upto(i + 1, state)  # an index at i sees the state before script[i]
        if not pending:
            break
        c = script[i]
        nxt = script[i + 1] if i + 1 < n else ""
        if state == "code":
            if c in "'\"`":
                state = c
            elif c == "/" and nxt in "/*":
                end = script.find("\n" if nxt == "/" else "*/", i + 2)
                end = n if end < 0 else end + (0 if nxt == "/" else 2)
                upto(end, "comment")
                i = end
                continue
            elif c == "{" and depth:
                depth[-1] += 1
            elif c == "}" and depth:
                if depth[-1] == 0:
                    depth.pop()
                    state = "`"
                else:
                    depth[-1] -= 1
        elif c == "\\":
            i += 1
        elif state == "`" and c == "$" and nxt == "{":
            depth.append(0)
            state = "code"
            i += 1
        elif c == state:
            state = "code"
        elif c == "\n" and state in "'\"":
            state = "code"  # an unterminated string ends at the line (a syntax error)
        i += 1
    upto(n + 1, state)
    return out


def contexts(body: str, marker: str) -> list[str]:
    """Where ``marker`` occurs in an HTML page: ``text``, ``attr:<quote>:<name>``,
    ``script:<state>``, ``rcdata:<element>`` or ``comment``, in order of appearance."""
    page = _Page(marker)
    _feed(page, body)
    return page.contexts


def executes(body: str, token: str, how: str) -> bool:
    """True when ``token`` came back executable: ``tag`` (an element named ``token``
    outside raw text), ``attr`` (an attribute named ``token``) or ``code`` (the bare word
    ``token`` in a script, outside strings and comments) or ``url`` (a URL attribute
    whose value is a ``javascript:`` URL holding ``token``)."""
    page = _Page("")
    _feed(page, body)
    if how == "tag":
        return token in page.tags
    if how == "attr":
        return token in page.attrs
    if how == "url":
        return any(_javascript_url(v) and token in v for v in page.urls)
    return any("code" in js_states(script, _occurrences(script, token)) for script in page.scripts)


def _occurrences(text: str, needle: str) -> list[int]:
    """Where ``needle`` starts in ``text``, at most MAX_OCCURRENCES of them."""
    out: list[int] = []
    at = text.find(needle)
    while at >= 0 and len(out) < MAX_OCCURRENCES:
        out.append(at)
        at = text.find(needle, at + 1)
    return out


def _javascript_url(value: str) -> bool:
    """A browser strips leading spaces and control characters and ignores tabs and newlines
    inside the scheme."""
    cleaned = "".join(c for c in value.lstrip("\x00 \t\n\r\f") if c not in "\t\n\r")
    return cleaned[:11].lower() == "javascript:"


def _feed(page: _Page, body: str) -> None:
    try:
        page.feed(body[:MAX_BODY])
        page.close()
    except (AssertionError, ValueError):  # html.parser asserts on some malformed markup
        pass
