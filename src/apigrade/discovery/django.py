"""Django's DEBUG 404 page: the URLconf it lists becomes endpoints.

With ``DEBUG = True`` a request that matches no route gets Django's technical 404 page
(django/views/templates/technical_404.html), which lists every URL pattern the resolver
tried: one ``<li>`` per pattern, one ``<code>`` per nesting level (``api/`` then
``items/<int:pk>/``; before Django 3.1 the levels stand bare, separated by white space),
the route name in ``[name='…']``. Routes (``path``) are turned into
templates (``<int:pk>`` -> ``{pk}``); regular expressions (``re_path``) only when what is
left after their named groups is a literal path. Pure functions: they run in the pool.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from apigrade import rx
from apigrade.discovery.model import Endpoint, Param

MAX_PATTERNS = 200
MAX_ENDPOINTS = 60
MAX_TEXT = 400_000

_DEBUG_FOOTER = rx.compile(
    r"You(?:'|’|&#x27;|&#39;|&rsquo;)re seeing this error because you have\s+<code>DEBUG\s*=\s*True</code>",
    rx.I,
)
_TRIED = "Django tried these URL patterns"
_LI = rx.compile(r"<li>(.*?)</li>", rx.S)
_CODE = rx.compile(r"<code>(.*?)</code>", rx.S)
_NAME = rx.compile(r"\[name=(?:'|&#x27;|&#39;)([^'&<]{0,100})(?:'|&#x27;|&#39;)\]")
_TAG = rx.compile(r"<[^>]{0,200}>")
_URLCONF = rx.compile(r"Using the URLconf defined in <code>([^<]{1,200})</code>")
_CONVERTER = rx.compile(r"<(?:([A-Za-z_]\w*):)?([A-Za-z_]\w*)>")
_NAMED_GROUP = "(?P<"
_REGEX_META = set("()[]*+?|\\^$")
_INT_CONVERTERS = {"int"}


@dataclass(frozen=True)
class UrlConf:
    """What a DEBUG 404 page lists: the URLconf module and its patterns, as shown."""

    module: str | None
    patterns: tuple[str, ...]  # each the concatenation of its levels, e.g. "api/<int:pk>/"
    names: tuple[str, ...]  # route names ("" when unnamed), same order


def is_debug_page(text: str) -> bool:
    """True for a page Django renders with ``DEBUG = True`` (404 or 500)."""
    return _DEBUG_FOOTER.search(text[:MAX_TEXT]) is not None


def parse_urlconf(text: str) -> UrlConf | None:
    """The URL patterns a DEBUG 404 page lists; None when the page is not one."""
    text = text[:MAX_TEXT]
    start = text.find(_TRIED)
    if start < 0 or not is_debug_page(text):
        return None
    end = text.find("</ol>", start)
    block = text[start : end if end > 0 else len(text)]
    module = _URLCONF.search(text)
    patterns: list[str] = []
    names: list[str] = []
    for item in _LI.findall(block)[:MAX_PATTERNS]:
        found = _NAME.search(item)
        # Django >= 3.1 wraps each level in <code>; older pages put them bare, one per line
        levels = _CODE.findall(item) or _TAG.sub(" ", item).split()
        patterns.append("".join(html.unescape(_NAME.sub("", lv)).strip() for lv in levels))
        names.append(found.group(1) if found else "")
    return UrlConf(module.group(1).strip() if module else None, tuple(patterns), tuple(names))


def _route(pattern: str) -> tuple[str, list[Param]] | None:
    """``api/<int:pk>/`` -> (``api/{pk}/``, [pk]); None for regex-looking text."""
    params: list[Param] = []

    def swap(m: rx.Match) -> str:
        conv, name = m.group(1) or "str", m.group(2)
        kind = "integer" if conv in _INT_CONVERTERS else "string"
        params.append(Param(name=name, location="path", type=kind, required=True))
        return "{" + name + "}"

    path = _CONVERTER.sub(swap, pattern)
    if any(c in _REGEX_META or c in "<>" for c in path):
        return None
    return path, params


def _regex(pattern: str) -> tuple[str, list[Param]] | None:
    """``^api/(?P<pk>[0-9]+)/$`` -> (``api/{pk}/``, [pk]); None unless literal otherwise."""
    out: list[str] = []
    params: list[Param] = []
    i = 0
    text = pattern.replace("\\Z", "").replace("$", "").replace("^", "")
    while i < len(text):
        if text.startswith(_NAMED_GROUP, i):
            close = text.find(">", i)
            if close < 0:
                return None
            name = text[i + len(_NAMED_GROUP) : close]
            depth, j = 1, close + 1
            while j < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1 if text[j] != "\\" else 2
            if depth or not name.isidentifier():
                return None
            body = text[close + 1 : j - 1]
            numeric = body in ("[0-9]+", "\\d+", "[0-9]{1,10}", "\\d{1,10}")
            params.append(Param(name=name, location="path",
                                type="integer" if numeric else "string", required=True))
            out.append("{" + name + "}")
            i = j
            continue
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "./-_":
            out.append(text[i + 1])
            i += 2
            continue
        if text[i] in _REGEX_META:
            return None
        out.append(text[i])
        i += 1
    return "".join(out), params


def to_template(pattern: str) -> tuple[str, list[Param]] | None:
    """A listed pattern as a path template with its path parameters (None: not a path)."""
    looks_regex = pattern.startswith("^") or _NAMED_GROUP in pattern or pattern.endswith("$")
    made = _regex(pattern) if looks_regex else _route(pattern)
    if made is None:
        return None
    path, params = made
    if "//" in path or len(path) > 300:
        return None
    return "/" + path.lstrip("/"), params


def urlconf_endpoints(base_url: str, text: str) -> list[Endpoint]:
    """Endpoints for the patterns a DEBUG 404 page lists (bounded; [] for other pages)."""
    conf = parse_urlconf(text)
    if conf is None:
        return []
    origin = base_url.split("/", 3)
    root = "/".join(origin[:3])
    out: dict[str, Endpoint] = {}
    for pattern in conf.patterns:
        made = to_template(pattern)
        if made is None:
            continue
        path, params = made
        url = root + path
        out.setdefault(url, Endpoint(url=url, params=tuple(params), source="django-urlconf"))
        if len(out) >= MAX_ENDPOINTS:
            break
    return list(out.values())
