"""The files a site serves, as the scan saw them: static and script URLs and their folders.

A served file is a same-origin URL whose last path segment has a static-file extension
(scripts, styles, images, fonts, documents), taken from the GET endpoints discovery found
(the pages and scripts it crawled among them) and the ``src``/``href`` attributes of the
HTML pages it fetched (styles and images are not fetched, only named). Other checks'
probes never count, so the result does not depend on the order checks run in. Checks use them to look for leftovers where files really are
served (``/assets/``, ``/uploads/``, ``/static/js/``), not only under ``/static``.
"""

from __future__ import annotations

import posixpath
from urllib.parse import urljoin, urlsplit

from apigrade import rx
from apigrade.checks.context import CheckContext
from apigrade.engine.http import Exchange

__all__ = ["STATIC_EXT", "asset_refs", "served_dirs", "served_files"]

#: extensions of files a web server serves as they are (no API answers: json, xml)
STATIC_EXT = frozenset({
    "js", "mjs", "css", "map", "html", "htm", "txt", "md", "pdf", "csv", "png", "jpg", "jpeg",
    "gif", "svg", "ico", "webp", "avif", "woff", "woff2", "ttf", "eot", "otf", "mp4", "webm",
    "mp3", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "rtf", "py", "php", "rb", "jsp",
    "asp", "aspx",
})  # fmt: skip
_SCRIPTS = frozenset({"js", "mjs", "py", "php", "rb", "jsp", "asp", "aspx", "html", "htm"})
MAX_PAGES = 10  # HTML pages whose src/href attributes are read
MAX_REFS = 400  # attributes read per page
_REF = rx.compile(r"""(?i)\b(?:src|href)\s*=\s*["']?([^"'\s>#?]{1,300})""")


def asset_refs(base_url: str, html: str) -> list[str]:
    """The absolute URLs of one page's ``src``/``href`` attributes (pure; offloadable)."""
    out: list[str] = []
    for n, m in enumerate(_REF.finditer(html[:500_000])):
        if n >= MAX_REFS:
            break
        ref = m.group(1)
        if ref.startswith(("javascript:", "mailto:", "data:", "tel:")):
            continue
        out.append(urljoin(base_url, ref))
    return out


def _ext(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else ""


async def served_files(ctx: CheckContext, limit: int) -> list[str]:
    """Up to ``limit`` distinct paths of served static files, scripts and pages first."""
    origin = ctx.target.origin
    seen: dict[str, None] = {}

    def add(url: str) -> None:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != origin:
            return
        path = posixpath.normpath(parts.path) if parts.path else ""
        if path.startswith("/") and _ext(path) in STATIC_EXT:
            seen.setdefault(path, None)

    known = set()
    for ep in ctx.endpoints:  # what discovery found (crawled pages and scripts among them)
        if ep.method.upper() == "GET":
            add(ep.url)
            known.add(ep.url)
    pages: list[Exchange] = []
    for ex in list(ctx.exchanges):  # the pages discovery fetched, not other checks' probes
        if len(pages) >= MAX_PAGES:
            break
        if ex.status == 200 and ex.probe.method == "GET" and ex.probe.url in known:
            if "html" in ex.response.content_type:
                pages.append(ex)
    for ex in pages:
        for url in await ctx.offload(asset_refs, ex.url, ex.text, label="asset links") or []:
            add(url)
    ordered = sorted(seen, key=lambda p: _ext(p) not in _SCRIPTS)  # stable: scripts first
    return ordered[:limit]


def served_dirs(paths: list[str], limit: int) -> list[str]:
    """The folders (``/assets/``) holding ``paths``, top-level folders first, without ``/``."""
    found: dict[str, int] = {}
    for path in paths:
        parts = path.strip("/").split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/" + "/".join(parts[:depth]) + "/"
            found[folder] = found.get(folder, 0) + 1
    ranked = sorted(found, key=lambda d: (d.count("/"), -found[d], d))
    return ranked[:limit]
