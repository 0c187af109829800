"""robots.txt parsing: the paths it names and the sitemaps it points to."""

from __future__ import annotations

from dataclasses import dataclass, field

from apigrade.discovery.html import resolve_url

MAX_LINES = 5000
MAX_PATHS = 500
MAX_SITEMAPS = 50


@dataclass
class RobotsInfo:
    """Absolute URLs from a robots.txt: Allow/Disallow paths and Sitemap lines."""

    paths: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)


def _clean_rule_path(value: str) -> str | None:
    """The literal prefix of an Allow/Disallow pattern, or None when it says nothing.

    "/admin/*" -> "/admin/", "/private$" -> "/private", "/*.php$" -> None.
    """
    value = value.split()[0] if value.split() else ""
    if not value.startswith("/"):
        return None
    star = value.find("*")
    if star >= 0:
        value = value[:star]
    elif value.endswith("$"):
        value = value[:-1]
    if len(value) <= 1:
        return None  # "/" (everything) names no particular resource
    return value


def parse_robots(base_url: str, text: str) -> RobotsInfo:
    """Parse robots.txt ``text`` fetched from ``base_url``'s origin.

    Returns every Allow/Disallow path (any user-agent group) as an absolute
    URL on ``base_url``'s origin, wildcard patterns cut at their first "*"
    and a trailing "$" dropped, plus every Sitemap URL. De-duplicated, in
    file order. Never raises.
    """
    info = RobotsInfo()
    seen_paths: set[str] = set()
    seen_maps: set[str] = set()
    origin = resolve_url(base_url, "/") or base_url
    try:
        lines = text.lstrip("\ufeff").splitlines()[:MAX_LINES]
    except AttributeError:
        return info
    for line in lines:
        line = line.split("#", 1)[0].strip()
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        value = value.strip()
        if key in ("allow", "disallow"):
            path = _clean_rule_path(value)
            url = resolve_url(origin, path) if path else None
            if url and url not in seen_paths and len(info.paths) < MAX_PATHS:
                seen_paths.add(url)
                info.paths.append(url)
        elif key == "sitemap" and value:
            url = resolve_url(origin, value.split()[0])
            if url and url not in seen_maps and len(info.sitemaps) < MAX_SITEMAPS:
                seen_maps.add(url)
                info.sitemaps.append(url)
    return info
