"""Leftovers next to the files a site really serves, judged by what they contain.

The signature files (checks/signatures/*.toml) probe fixed paths at the root and under
``/static``. These two checks take the files the scan saw served (``common.served``:
scripts, styles, images, documents, wherever they live) and look beside them:

* ``files.backup-copy``: editor and backup copies of each served file
  (``name.bak``, ``.old``, ``~``, ``.orig``, ``.save``, ``.tmp`` and Vim's ``.name.swp``).
  A copy counts when it answers 200, is not the site's soft-404 answer, and either starts
  with Vim's ``b0VIM`` magic (swap), shows the source of a server-side page (``<?php``,
  Python imports ...) or resembles the live file (same opening bytes, or most of its
  lines). Bound: the first ``MAX_FILES`` (20) served text files (code, styles, pages;
  not images or fonts), scripts first, 7 probes each: at most ``MAX_COPY_PROBES`` (140)
  requests, plus one GET of an original the scan has not fetched yet.
* ``files.dump-in-served-dir`` (and its kind ``files.secret-in-served-dir``): the dumps,
  databases, archives, ``.env``, git metadata and logs of the signature files, looked for
  in up to ``MAX_DIRS`` (4) folders holding served files (``/assets/``, ``/uploads/``),
  judged by the same signature matchers (data, not code), plus ``<host>.zip`` /
  ``<host>.tar.gz`` archives at the root (``example.com.zip``, ``example.zip``). Bound:
  10 probes per folder and 2 per host name, at most ``MAX_DIR_PROBES`` (44) requests.

GET only, so both run in default mode; every match is compared with the soft-404 answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

from apigrade import rx
from apigrade.checks.common.served import served_dirs, served_files
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.checks.signature import Signature, load_dir
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_FILES = 20
MAX_COPY_PROBES = 140
MAX_DIRS = 4
MAX_DIR_PROBES = 44
#: appended to a served file's name (``app.js.bak``); Vim's swap is ``.app.js.swp``
SUFFIXES = (".bak", ".old", "~", ".orig", ".save", ".tmp")
SWAP_MAGIC = b"b0VIM"
#: files whose copies are worth reading: code, styles, pages, text (not images or fonts)
COPY_EXT = frozenset({
    "js", "mjs", "css", "html", "htm", "txt", "md", "py", "php", "rb", "jsp", "asp", "aspx",
})  # fmt: skip
#: which signatures are looked for in served folders, and how many of their root paths
IN_DIRS = {
    "files.dotenv": 1, "files.git-metadata": 1, "files.python-config": 1, "files.sql-dump": 2,
    "files.sqlite-db": 2, "files.archive-backup": 2, "files.log-credentials": 1,
}  # fmt: skip
_NOT_IN_DIRS = ("/static/", "/instance/", "/storage/")  # paths already rooted in a folder
_SERVER_SIDE = frozenset({"py", "php", "rb", "jsp", "asp", "aspx"})
#: a copy of a server-side page shows its source, not the page it renders
_SOURCE = {
    "php": rx.compile(r"<\?(?:php\b|=)"),
    "py": rx.compile(
        r"(?m)^(?:from\s+[\w.]+\s+import\s+\w|import\s+\w|def\s+\w+\s*\(|class\s+\w+)"
    ),
    "rb": rx.compile(r"(?m)^\s*(?:require\s+['\x22]|def\s+\w+|class\s+[A-Z]\w*|module\s+[A-Z])"),
    "jsp": rx.compile(r"<%[@=!]?\s*\w"),
    "asp": rx.compile(r"<%[@=]?\s*\w"),
    "aspx": rx.compile(r"<%@\s*(?:Page|Control)\b"),
}
_IP = rx.compile(r"^[\d.]+$|^\[")

finding_kind(
    id="files.secret-in-served-dir",
    parent="files.dump-in-served-dir",
    title="Secret or repository file is downloadable from a folder the site serves files from",
    category="misconfiguration",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=538,
    owasp="API8:2023",
)


# -- judging a copy --------------------------------------------------------------------------
def _lines(body: bytes) -> set[bytes]:
    return {s for s in (ln.strip() for ln in body[:65_536].splitlines()) if len(s) >= 4}


def resemblance(copy: bytes, original: bytes) -> float:
    """How much ``copy`` looks like ``original`` (0..1): the same opening bytes, or the
    share of the smaller file's distinct lines found in the other."""
    if not copy or not original:
        return 0.0
    n = min(64, len(original))
    if n >= 16 and copy[:n] == original[:n]:
        return 1.0
    a, b = _lines(copy), _lines(original)
    if len(a) < 2 or len(b) < 2:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _ext(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def copy_names(path: str) -> list[str]:
    """The backup paths tried for one served file, Vim's swap first."""
    folder, _, name = path.rpartition("/")
    return [f"{folder}/.{name}.swp", *(path + s for s in SUFFIXES)]


async def _original(ctx: CheckContext, path: str) -> Exchange | None:
    for ex in ctx.exchanges:
        if ex.probe.method == "GET" and ex.status == 200 and urlsplit(ex.url).path == path:
            return ex
    return await ctx.get(path, follow_redirects=False)


async def _judge_copy(ctx: CheckContext, original: str, copy: str) -> Hit | None:
    ex = await ctx.get(copy, follow_redirects=False)
    if ex is None or ex.status != 200 or not ex.response.body:
        return None
    body = ex.response.body
    ext = _ext(original)
    if copy.endswith(".swp"):
        if not body.startswith(SWAP_MAGIC):
            return None
        how = "Vim swap file (b0VIM magic)"
        severity: Severity | None = Severity.MEDIUM
        confidence: Confidence | None = None
    else:
        orig = await _original(ctx, original)
        if orig is None or orig.status != 200:
            return None
        if "html" in ex.response.content_type and "html" not in orig.response.content_type:
            return None  # an HTML answer for a script's copy: a catch-all page
        share = resemblance(body, orig.response.body)
        source = _SOURCE.get(ext)
        if source is not None and source.search(ex.text[:65_536]):
            how = f"the {ext} source of {original}, not its output"
        elif share >= 0.6:
            how = f"{round(share * 100)}% like {original}"
        else:
            return None
        severity = Severity.MEDIUM if ext in _SERVER_SIDE else None
        confidence = Confidence.FIRM
    if await ctx.is_soft404(ex):
        return None
    return Hit(url=ex.url, evidence=f"GET {copy} -> 200, {len(body)} bytes: {how}",
               severity=severity, confidence=confidence)  # fmt: skip


@active(
    id="files.backup-copy",
    title="Editor or backup copy of a served file is downloadable",
    category="misconfiguration",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=530,
    owasp="API8:2023",
)
async def backup_copies(ctx: CheckContext) -> None:
    texts = [p for p in await served_files(ctx, 200) if _ext(p) in COPY_EXT][:MAX_FILES]
    pairs = [(p, c) for p in texts for c in copy_names(p)]
    hits = await asyncio.gather(*(_judge_copy(ctx, p, c) for p, c in pairs[:MAX_COPY_PROBES]))
    for hit in hits:
        if hit is not None:
            ctx.report(hit)


# -- signatures in served folders ----------------------------------------------------------------
@dataclass(frozen=True)
class _DirProbe:
    path: str
    sig: Signature


def _root_paths(sig: Signature, n: int) -> list[str]:
    rel = [p.lstrip("/") for p in sig.paths if not p.startswith(_NOT_IN_DIRS)]
    return rel[:n]


def _host_names(ctx: CheckContext) -> list[str]:
    host = urlsplit(ctx.target.url).hostname or ""
    if not host or _IP.match(host):
        return []
    names = [host]
    label = host.split(".")[0]
    if label != host and len(label) >= 3:
        names.append(label)
    return names


def dir_probes(ctx: CheckContext, folders: list[str]) -> list[_DirProbe]:
    by_id = {s.meta.id: s for s in load_dir() if s.kind == "active" and not s.steps}
    out: dict[str, _DirProbe] = {}
    for folder in folders:
        for sig_id, n in IN_DIRS.items():
            sig = by_id.get(sig_id)
            if sig is None:
                continue
            for rel in _root_paths(sig, n):
                path = folder + rel
                if path not in sig.paths:  # the signature itself probes it
                    out.setdefault(path, _DirProbe(path, sig))
    archive = by_id.get("files.archive-backup")
    if archive is not None:
        for name in _host_names(ctx):
            for ext in (".zip", ".tar.gz"):
                out.setdefault("/" + name + ext, _DirProbe("/" + name + ext, archive))
    return list(out.values())[:MAX_DIR_PROBES]


async def _judge_dir(ctx: CheckContext, probe: _DirProbe) -> Hit | None:
    ex = await ctx.get(probe.path, follow_redirects=False)
    if ex is None or not probe.sig.matches(ex) or await ctx.is_soft404(ex):
        return None
    sig = probe.sig
    return Hit(url=ex.url, evidence=f"{sig.meta.title} ({sig.meta.id}): {sig.evidence(ex)}",
               check="files.secret-in-served-dir" if sig.meta.cwe == 538 else None,
               severity=sig.meta.severity, confidence=sig.meta.confidence)  # fmt: skip


@active(
    id="files.dump-in-served-dir",
    title="Dump, database or archive is downloadable from a folder the site serves files from",
    category="misconfiguration",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=530,
    owasp="API8:2023",
)
async def leftovers_in_served_dirs(ctx: CheckContext) -> None:
    folders = served_dirs(await served_files(ctx, 200), MAX_DIRS)
    probes = dir_probes(ctx, folders)
    hits = await asyncio.gather(*(_judge_dir(ctx, p) for p in probes))
    for hit in hits:
        if hit is not None:
            ctx.report(hit)
