"""Link, form and script-URL extraction from HTML and JavaScript text.

Everything here is pure and total: broken markup or odd URLs give fewer
results, never an exception. URLs come back absolute and without fragments;
the caller decides what is in scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from apigrade import rx
from apigrade.discovery.model import Endpoint, Param

MAX_LINKS = 2000  # per list, per document
MAX_FORMS = 100
MAX_FIELDS = 100  # per form
MAX_TITLE = 200
MAX_SCRIPT_URLS = 500
MAX_SCRIPT = 5_000_000  # characters of JavaScript scanned
MAX_QUERY_PARAMS = 50
MAX_HTML = 1_000_000  # characters of a document parsed

_WEB_SCHEMES = ("http", "https")
# Characters the URL parser of a browser strips from inside a URL.
_STRIP_INSIDE = str.maketrans("", "", "\t\n\r")
_INTEGER = rx.compile(r"-?[0-9]{1,18}")
_DECIMAL = rx.compile(r"-?[0-9]{1,18}\.[0-9]{1,18}")


@dataclass
class Links:
    """What one HTML document points to, as absolute URLs in document order."""

    pages: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    forms: list[Endpoint] = field(default_factory=list)
    title: str | None = None


def resolve_url(base_url: str, ref: str) -> str | None:
    """Resolve ``ref`` against ``base_url`` the way a browser would.

    Returns an absolute http(s) URL without its fragment, or None for empty
    references, other schemes (``javascript:``, ``mailto:``, ``data:``...) and
    references that cannot be parsed.
    """
    try:
        ref = ref.strip(" \t\n\r\f\v\x00").translate(_STRIP_INSIDE)
        if not ref or ref.startswith("#"):
            return None
        url = urljoin(base_url, ref.replace(" ", "%20"))
        parts = urlsplit(url)
        if parts.scheme.lower() not in _WEB_SCHEMES or not parts.hostname:
            return None
        path = parts.path or "/"
        return urlunsplit((parts.scheme.lower(), parts.netloc, path, parts.query, ""))
    except (ValueError, TypeError, UnicodeError):
        return None


def infer_type(value: str) -> str | None:
    """Guess a parameter type from an example value (digits -> integer)."""
    if _INTEGER.fullmatch(value):
        return "integer"
    if _DECIMAL.fullmatch(value):
        return "number"
    return None


def _query_params(query: str) -> list[Param]:
    """Parameters of a query string, first occurrence of each name, sorted by name."""
    seen: dict[str, Param] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=None)
    except ValueError:
        return []
    for name, value in pairs:
        if not name or name in seen or len(seen) >= MAX_QUERY_PARAMS:
            continue
        seen[name] = Param(name, "query", type=infer_type(value), example=value)
    return sorted(seen.values(), key=lambda p: p.name)


def _strip_query(url: str) -> str:
    """``url`` without its query string and fragment (path at least "/")."""
    try:
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))
    except ValueError:
        return url.split("#", 1)[0].split("?", 1)[0]


def endpoint_from_url(url: str, source: str = "crawl") -> Endpoint:
    """A GET endpoint for ``url``; its query parameters become query Params.

    ``http://h/search?q=x&page=2`` gives ``Endpoint("http://h/search",
    params=(Param("page", "query", "integer", example="2"), Param("q", "query",
    example="x")))``. Params are sorted by name; digits infer "integer".
    """
    try:
        query = urlsplit(url).query
    except ValueError:
        query = ""
    return Endpoint(
        url=_strip_query(url), method="GET", params=tuple(_query_params(query)), source=source
    )


# -- HTML -----------------------------------------------------------------------------

# <input type=...> -> Param.type.
_INPUT_TYPES: dict[str, str] = {
    "text": "string",
    "search": "string",
    "email": "string",
    "url": "string",
    "tel": "string",
    "password": "string",
    "hidden": "string",
    "date": "string",
    "datetime-local": "string",
    "month": "string",
    "week": "string",
    "time": "string",
    "color": "string",
    "file": "string",
    "submit": "string",
    "number": "integer",
    "range": "integer",
    "checkbox": "boolean",
    "radio": "string",
}


@dataclass
class _Field:
    name: str
    type: str | None
    required: bool
    example: str | None
    form_ref: str | None = None  # the form="id" attribute


@dataclass
class _Form:
    action: str | None
    method: str
    enctype: str | None
    form_id: str | None
    fields: list[_Field] = field(default_factory=list)


class _Collector(HTMLParser):
    """Collects raw (unresolved) references; resolution happens after parsing."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.pages: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.forms: list[_Form] = []
        self.orphans: list[_Field] = []  # fields outside any form (may use form="id")
        self.title: str | None = None
        self._title_parts: list[str] | None = None
        self._form: _Form | None = None
        self._select: _Field | None = None
        self._select_first: str | None = None
        self._textarea: _Field | None = None
        self._textarea_parts: list[str] = []

    # The parser lowercases tag and attribute names; values may be None.
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a: dict[str, str] = {}
        for k, v in attrs:
            a.setdefault(k, v if v is not None else "")
        if tag == "base" and self.base is None and "href" in a:
            self.base = a["href"]
        elif tag in ("a", "area"):
            if "href" in a:
                self._push(self.pages, a["href"])
        elif tag in ("iframe", "frame"):
            if "src" in a:
                self._push(self.pages, a["src"])
        elif tag == "script":
            if "src" in a:
                self._push(self.scripts, a["src"])
        elif tag == "link":
            rels = a.get("rel", "").lower().split()
            if "stylesheet" in rels and "href" in a:
                self._push(self.styles, a["href"])
        elif tag == "title":
            if self.title is None and self._title_parts is None:
                self._title_parts = []
        elif tag == "form":
            self._open_form(a)
        elif tag == "input":
            self._input(a)
        elif tag == "button":
            # A named submit button sends its name=value when it submits the form.
            if a.get("name") and a.get("type", "submit").lower() == "submit":
                self._add_field(_Field(a["name"], "string", False, a.get("value"), a.get("form")))
        elif tag == "select":
            self._close_select()
            if a.get("name"):
                self._select = _Field(a["name"], "string", "required" in a, None, a.get("form"))
                self._select_first = None
        elif tag == "option":
            self._option(a)
        elif tag == "textarea":
            self._close_textarea()
            if a.get("name"):
                self._textarea = _Field(a["name"], "string", "required" in a, None, a.get("form"))
                self._textarea_parts = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # Browsers ignore the "/" of "<form/>": only void elements self-close.
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._title_parts is not None:
            text = " ".join("".join(self._title_parts).split())
            self.title = text[:MAX_TITLE] or None
            self._title_parts = None
        elif tag == "form":
            self._close_select()
            self._close_textarea()
            self._form = None
        elif tag == "select":
            self._close_select()
        elif tag == "textarea":
            self._close_textarea()

    def handle_data(self, data: str) -> None:
        if self._title_parts is not None and len(self._title_parts) < 100:
            self._title_parts.append(data)
        if self._textarea is not None and len(self._textarea_parts) < 100:
            self._textarea_parts.append(data)

    def close(self) -> None:
        super().close()
        self.handle_endtag("title")
        self._close_select()
        self._close_textarea()

    # -- helpers ------------------------------------------------------------------
    @staticmethod
    def _push(bucket: list[str], ref: str) -> None:
        if len(bucket) < MAX_LINKS * 2:
            bucket.append(ref)

    def _open_form(self, a: dict[str, str]) -> None:
        if self._form is not None:
            return  # browsers ignore a <form> nested in another: fields join the outer one
        self._close_select()
        self._close_textarea()
        method = a.get("method", "get").strip().lower()
        if method == "dialog" or len(self.forms) >= MAX_FORMS:
            self._form = None  # a dialog form never leaves the page
            return
        self._form = _Form(
            action=a.get("action"),
            method="POST" if method == "post" else "GET",
            enctype=a.get("enctype"),
            form_id=a.get("id"),
        )
        self.forms.append(self._form)

    def _input(self, a: dict[str, str]) -> None:
        name = a.get("name")
        if not name:
            return
        itype = a.get("type", "text").strip().lower()
        if itype in ("reset", "button", "image"):
            return  # never submitted under their own name
        ptype = _INPUT_TYPES.get(itype, "string")  # unknown types behave as text
        if itype in ("number", "range"):
            step = a.get("step", "").strip().lower()
            if step == "any" or "." in step:
                ptype = "number"
        example = a.get("value")
        if itype == "checkbox" and example is None:
            example = "on"  # what a browser sends for a checked box without a value
        if itype == "file":
            example = None
        self._add_field(_Field(name, ptype, "required" in a, example, a.get("form")))

    def _option(self, a: dict[str, str]) -> None:
        if self._select is None:
            return
        value = a.get("value")
        if value is None:
            return  # the option's text would be the value; skip it, keep it simple
        if self._select_first is None:
            self._select_first = value
        if "selected" in a and self._select.example is None:
            self._select.example = value

    def _close_select(self) -> None:
        if self._select is not None:
            if self._select.example is None:
                self._select.example = self._select_first
            self._add_field(self._select)
            self._select = None

    def _close_textarea(self) -> None:
        if self._textarea is not None:
            text = "".join(self._textarea_parts)[:1000]
            self._textarea.example = text or None
            self._add_field(self._textarea)
            self._textarea = None

    def _add_field(self, f: _Field) -> None:
        if f.form_ref is not None or self._form is None:
            self.orphans.append(f)
        elif len(self._form.fields) < MAX_FIELDS:
            self._form.fields.append(f)


def _resolve_all(base: str, refs: list[str]) -> list[str]:
    out: dict[str, None] = {}
    for ref in refs:
        url = resolve_url(base, ref)
        if url is not None:
            out.setdefault(url, None)
            if len(out) >= MAX_LINKS:
                break
    return list(out)


def _form_endpoint(doc_url: str, base: str, form: _Form) -> Endpoint | None:
    """The Endpoint a browser would submit ``form`` to, or None."""
    action = (form.action or "").strip()
    # An empty action submits to the document itself (not the <base>).
    url = resolve_url(doc_url, doc_url) if not action else resolve_url(base, action)
    if url is None:
        return None
    params: dict[str, Param] = {}
    location = "query" if form.method == "GET" else "form"
    if form.method == "POST":
        # The action's own query string survives a POST; a GET replaces it.
        for p in endpoint_from_url(url).params:
            params.setdefault(p.name, p)
    for f in form.fields:
        if f.name not in params:
            params[f.name] = Param(f.name, location, f.type, f.required, f.example)
    content_type = None
    if form.method == "POST":
        enctype = (form.enctype or "").strip().lower()
        if enctype == "multipart/form-data":
            content_type = "multipart/form-data"
        elif enctype == "text/plain":
            content_type = "text/plain"
        else:
            content_type = "application/x-www-form-urlencoded"
    return Endpoint(
        url=_strip_query(url),
        method=form.method,
        params=tuple(params.values()),
        source="form",
        content_type=content_type,
    )


_COMMENT_CLOSE = rx.compile(r"--\s*>")


def _defuse(html: str) -> str:
    """Neutralise input that would make ``html.parser`` slow or give up.

    Older CPython parsers rescan to the end of the input for every opener of an
    unterminated construct ("<a <a <a ...", "<!--x>" repeated): quadratic time.
    Openers with no closer after them become text ("&lt;"), as do all "<!["
    marked sections, which the parser asserts on and which carry no links.
    Also caps the document at ``MAX_HTML`` characters.
    """
    html = html[:MAX_HTML].replace("<![", "&lt;![")
    last_close = 0
    for m in _COMMENT_CLOSE.finditer(html, limit=None):
        last_close = m.end()
    if "<!--" in html[last_close:]:
        html = html[:last_close] + html[last_close:].replace("<!--", "&lt;!--")
    last_gt = html.rfind(">") + 1
    if "<" in html[last_gt:]:
        html = html[:last_gt] + html[last_gt:].replace("<", "&lt;")
    return html


def _feed(parser: _Collector, html: str) -> None:
    """Feed ``html``, stepping over constructs ``html.parser`` gives up on.

    The parser asserts on some malformed declarations ("<![foo"); the offending
    "<" is then fed as text and parsing resumes, a bounded number of times.
    """
    for _ in range(50):
        try:
            parser.feed(html)
            parser.close()
            return
        except Exception:  # AssertionError and friends from odd markup
            line, col = parser.getpos()
            at = 0
            for _ in range(line - 1):
                at = html.find("\n", at) + 1
            # The reported position can lie inside the failed construct (a "<!"
            # declaration, in practice): back up to its start.
            end = min(at + col, len(html) - 1) + 1
            at = html.rfind("<!", 0, end)
            at = at if at >= 0 else html.rfind("<", 0, end)
            if at < 0:
                return  # cannot tell where it failed; keep what was collected
            html = "&lt;" + html[at + 1 :]
            parser.reset()


def extract_links(base_url: str, html: str) -> Links:
    """Extract pages, scripts, stylesheets, forms and the title from an HTML page.

    ``base_url`` is the URL the document was fetched from; a ``<base href>`` in
    the document takes precedence for resolving references. URLs are absolute,
    fragment-free, de-duplicated and http(s) only; the caller filters scope.
    Never raises.
    """
    parser = _Collector()
    _feed(parser, _defuse(html))
    parser.handle_endtag("title")
    doc_url = resolve_url(base_url, base_url) or base_url
    base = doc_url
    if parser.base:
        base = resolve_url(doc_url, parser.base) or doc_url
    # Fields that name their form by id join it now.
    by_id = {f.form_id: f for f in parser.forms if f.form_id}
    for fld in parser.orphans:
        target = by_id.get(fld.form_ref) if fld.form_ref else None
        if target is not None and len(target.fields) < MAX_FIELDS:
            target.fields.append(fld)
    forms: list[Endpoint] = []
    for form in parser.forms:
        ep = _form_endpoint(doc_url, base, form)
        if ep is not None and ep not in forms:
            forms.append(ep)
    return Links(
        pages=_resolve_all(base, parser.pages),
        scripts=_resolve_all(base, parser.scripts),
        styles=_resolve_all(base, parser.styles),
        forms=forms,
        title=parser.title,
    )


# -- JavaScript -----------------------------------------------------------------------

# A quoted string that is an absolute path ("/api/v1/items", '/users?id=1') or an
# absolute http(s) URL. No whitespace, quotes, backslashes or template syntax.
_JS_URL_BODY = (
    r"""(?:https?://[A-Za-z0-9.\-]{1,253}(?::[0-9]{1,5})?)?"""
    r"""/[A-Za-z0-9_\-.~%][A-Za-z0-9_\-.~%/:@!,;=&?+]{0,197}"""
)
# One alternative per quote character, so the closing quote is the opening one.
_JS_URL = rx.compile(
    "|".join(f"{q}(?P<u{i}>{_JS_URL_BODY}){q}" for i, q in enumerate(("\"", "'", "`")))
)
# Path-looking strings that are not resources: "//" (comments, protocol-relative),
# dot segments, and printf-style "%s" placeholders.
_JS_NOISE = rx.compile(  # the last alternative: a "%" not followed by two hex digits
    r"//|/\.\.?(?:/|$)|%(?:[^0-9A-Fa-f]|[0-9A-Fa-f][^0-9A-Fa-f]|[0-9A-Fa-f]?$)"
)
# Router-style ":name" segments become {name} templates.
_JS_ROUTE_PARAM = rx.compile(r"/:([A-Za-z_][A-Za-z0-9_]*)")  # then "/" or the end: _route_param


def _route_param(m: rx.Match) -> str:
    """``/:name`` -> ``/{name}`` when the name (at most 64 characters) ends the segment."""
    name = m.group(1)
    end = m.end()
    if len(name) > 64 or (end < len(m.string) and m.string[end] != "/"):
        return str(m.group(0))
    return "/{" + name + "}"


def extract_urls_from_script(base_url: str, js_text: str) -> list[str]:
    """Absolute URLs for quoted absolute-path strings found in JavaScript.

    Conservative: only string literals that start with "/" (or are full
    http(s) URLs) made of path characters, without whitespace, shorter than
    200 characters and containing a letter. Router patterns such as
    "/users/:id" become "/users/{id}". Never raises.
    """
    out: dict[str, None] = {}
    tried: set[str] = set()
    try:
        for m in _JS_URL.finditer(js_text[:MAX_SCRIPT], limit=None):  # the loop bounds it
            raw = m.group("u0") or m.group("u1") or m.group("u2")
            if raw in tried:
                continue
            tried.add(raw)
            if len(tried) > MAX_SCRIPT_URLS * 20:
                break
            scheme_end = raw.find("://")
            path_at = raw.index("/", scheme_end + 3) if scheme_end >= 0 else 0
            path, _, query = raw[path_at:].partition("?")
            if _JS_NOISE.search(path) or not any(c.isalpha() for c in path):
                continue
            path = _JS_ROUTE_PARAM.sub(_route_param, path)
            url = resolve_url(base_url, raw[:path_at] + path + ("?" + query if query else ""))
            if url is not None:
                out.setdefault(url, None)
                if len(out) >= MAX_SCRIPT_URLS:
                    break
    except (TypeError, ValueError, RecursionError):
        return list(out)
    return list(out)
