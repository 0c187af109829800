"""Sitemap parsing (XML urlset / sitemapindex, or plain-text lists) without an XML parser.

Sitemaps come from the target, so they are untrusted: no DTDs, no entity
expansion (only the five predefined XML entities are decoded), linear-time
regular expressions, and capped output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from apigrade import rx

MAX_URLS = 1000
MAX_SITEMAPS = 100
MAX_TEXT = 10_000_000  # characters scanned
MAX_LOC = 2000  # characters in one <loc>

# Start or end tags of the elements we care about, optionally namespace-prefixed. The name
# ends at whitespace, "/" or ">"; attributes (group "attrs") are at most MAX_ATTRS characters.
_TAG = rx.compile(
    r"<(?P<end>/?)\s*(?:(?P<prefix>[A-Za-z_][\w.-]{0,50}):)?(?P<name>urlset|sitemapindex|url|sitemap|loc)"
    r"(?P<attrs>[\s/][^<>]*?)??(?P<selfclose>/?)>",
    rx.IGNORECASE,
)
MAX_ATTRS = 1000
_CDATA = rx.compile(r"<!\[CDATA\[(.*?)\]\]>", rx.DOTALL)
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&"}
_ENTITY = rx.compile(r"&(?:lt|gt|quot|apos|amp);")
_PLAIN_URL = rx.compile(r"https?://(\S+)")
_MAX_PLAIN_URL = 2000  # characters after the scheme


@dataclass
class SitemapInfo:
    """Page URLs (``<url><loc>``) and nested sitemap URLs (``<sitemap><loc>``)."""

    urls: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)


def _loc_text(raw: str) -> str | None:
    """The URL inside a <loc> element's raw content, or None."""
    raw = _CDATA.sub(lambda m: m.group(1), raw)
    if "<" in raw:
        return None  # nested markup: not a plain URL
    text = _ENTITY.sub(lambda m: _ENTITIES[m.group(0)], raw).strip()
    if not text.lower().startswith(("http://", "https://")) or any(c.isspace() for c in text):
        return None
    return text


def _add(bucket: list[str], seen: set[str], url: str, cap: int) -> None:
    if url not in seen and len(bucket) < cap:
        seen.add(url)
        bucket.append(url)


def parse_sitemap(text: str) -> SitemapInfo:
    """Extract URLs from a sitemap document.

    ``<urlset><url><loc>`` entries go to ``urls``, ``<sitemapindex><sitemap><loc>``
    entries to ``sitemaps``; only http(s) URLs, de-duplicated, at most
    ``MAX_URLS`` / ``MAX_SITEMAPS``. ``<loc>`` elements of other namespaces
    (``<image:loc>``) are ignored. A document without XML tags is read as a
    plain-text sitemap, one URL per line. Never raises.
    """
    info = SitemapInfo()
    if not isinstance(text, str):
        return info
    text = text[:MAX_TEXT]
    seen_urls: set[str] = set()
    seen_maps: set[str] = set()
    parent: str | None = None  # "url" or "sitemap" while inside one
    parent_prefix: str | None = None
    loc_start: int | None = None
    found_tag = False
    for m in _TAG.finditer(text, limit=None):
        if len(m.group("attrs") or "") > MAX_ATTRS:
            continue
        found_tag = True
        name = m.group("name").lower()
        prefix = (m.group("prefix") or "").lower()
        closing = bool(m.group("end"))
        if name in ("urlset", "sitemapindex"):
            continue
        if name in ("url", "sitemap"):
            if closing or m.group("selfclose"):
                parent, loc_start = None, None
            else:
                parent, parent_prefix, loc_start = name, prefix, None
            continue
        # <loc>: only when it belongs to the same namespace prefix as its parent.
        if parent is None or prefix != parent_prefix:
            continue
        if not closing:
            loc_start = None if m.group("selfclose") else m.end()
            continue
        if loc_start is None:
            continue
        raw = text[loc_start : m.start()]
        loc_start = None
        url = _loc_text(raw) if len(raw) <= MAX_LOC else None
        if url is None:
            continue
        if parent == "url":
            _add(info.urls, seen_urls, url, MAX_URLS)
        else:
            _add(info.sitemaps, seen_maps, url, MAX_SITEMAPS)
        if len(info.urls) >= MAX_URLS and len(info.sitemaps) >= MAX_SITEMAPS:
            break
    if not found_tag and "<" not in text[:1000]:
        # Plain-text sitemap: one absolute URL per line.
        for line in text.splitlines():
            line = line.strip()
            plain = _PLAIN_URL.fullmatch(line)
            if plain is not None and len(plain.group(1)) <= _MAX_PLAIN_URL:
                _add(info.urls, seen_urls, line, MAX_URLS)
                if len(info.urls) >= MAX_URLS:
                    break
    return info
