"""SSRF: parameters that take a URL (url, callback, webhook, image_url, feed ...) fetched by the server.

Two methods, chosen by where the target runs; neither reaches anything beyond the
target and the scanner's own receiver:

* **out of band** (the target is on a loopback address, or scanned in-process, so it
  runs on this machine): the engine's receiver (``ctx.receiver()``) listens on
  127.0.0.1:random for the check's duration and each parameter gets
  ``http://127.0.0.1:PORT/apigrade-<token>-<n>``. The receiver seeing that path is
  proof: high, certain. No other URL is sent. Each request it answers counts in
  ``--max-requests``.
* **differential** (any other target): ``http://apigrade-probe.invalid/`` (a reserved
  name that never resolves, RFC 6761) and ``http://127.0.0.1:1/`` (the target's own
  loopback, a closed port). A "name not resolved" message for the first and a
  "connection refused" message for the second show the server tried to connect to
  both: tentative.

Parameters named like redirects (next, redirect, return ...) belong to the open
redirect check and are skipped.

Bound: at most 8 parameters; 1 request each out of band, 2 each otherwise (16 at most),
plus at most 1 s waiting for late fetches.
"""

from __future__ import annotations

import asyncio

from apigrade import rx
from apigrade.checks.common.injection import points
from apigrade.checks.common.local import MARKER, runs_here
from apigrade.checks.common.slots import Slot, token
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_SLOTS = 8
LATE_WAIT = 1.0  # seconds for fetches made after the response (queues, webhooks)
UNRESOLVABLE = "http://apigrade-probe.invalid/"
CLOSED_PORT = "http://127.0.0.1:1/"

URL_NAMES = frozenset({
    "url", "uri", "link", "href", "src", "source", "callback", "callbackurl", "webhook",
    "webhookurl", "hook", "image", "imageurl", "img", "imgurl", "imagesrc", "avatar",
    "avatarurl", "icon", "iconurl", "logo", "logourl", "feed", "feedurl", "rss", "dest",
    "destination", "target", "targeturl", "proxy", "fetch", "fetchurl", "load", "fileurl",
    "documenturl", "download", "downloadurl", "endpoint", "host", "site", "siteurl",
    "pageurl", "page_url", "remote", "remoteurl", "resource", "preview", "previewurl",
    "importurl", "import", "server", "api", "apiurl", "pdfurl", "thumbnail", "upstream",
})  # fmt: skip
_REDIRECT_NAMES = frozenset({"next", "redirect", "redirecturl", "redirecturi", "return",
                             "returnto", "returnurl", "continue", "goto", "r"})  # fmt: skip
_REFUSED = rx.compile(
    r"Connection refused|ECONNREFUSED|actively refused|Errno 111\b|WinError 10061|"
    r"Failed to connect to 127\.0\.0\.1|Couldn't connect to server|connect: connection refused",
    rx.I,
)
_UNRESOLVED = rx.compile(
    r"Name or service not known|nodename nor servname|getaddrinfo failed|"
    r"Temporary failure in name resolution|NameResolutionError|ENOTFOUND|"
    r"Could not resolve host|No address associated with hostname|no such host|"
    r"Failed to resolve|Errno -[235]\b|Errno 11001|Name does not resolve",
    rx.I,
)


_NON_ALNUM = rx.compile(r"[^a-z0-9]")


def _norm(name: str) -> str:
    return _NON_ALNUM.sub("", name.lower())


def takes_url(slot: Slot) -> bool:
    name = _norm(slot.name)
    if name in _REDIRECT_NAMES:
        return False
    example = (slot.example or "").lower()
    return name in URL_NAMES or name.endswith("url") or example.startswith(("http://", "https://"))


def candidates(ctx: CheckContext) -> list[Slot]:
    """URL-taking points of the shared model (``checks/common/injection.py``): query
    parameters, and with --active POST form fields and JSON body fields."""
    kinds = ("query", "form", "body") if ctx.active else ("query",)
    found: list[Slot] = [s for s in points(ctx, kinds) if takes_url(s)]
    return found[:MAX_SLOTS]


async def _send(ctx: CheckContext, slot: Slot, value: str) -> Exchange | None:
    probe = slot.probe(value)
    return None if probe is None else await ctx.send(probe)


def _excerpt(text: str, pat: rx.Pattern) -> str:
    m = pat.search(text)
    return "" if m is None else " ".join(text[m.start() : m.start() + 60].split())


def _hit(slot: Slot, ex: Exchange, evidence: str, confidence: Confidence) -> Hit:
    return Hit(url=slot.baseline_url() or ex.url, method=slot.method, parameter=slot.name,
               evidence=f"{slot.location} parameter {slot.name!r}: {evidence}",
               confidence=confidence)  # fmt: skip


async def out_of_band(ctx: CheckContext, chosen: list[Slot]) -> list[Hit]:
    async with ctx.receiver() as receiver:  # the engine's, on 127.0.0.1
        if receiver is None:
            return []  # not offered: the target cannot reach this machine, or no budget
        tag = f"apigrade-{token()}"
        paths = [f"{tag}-{i}" for i in range(len(chosen))]
        sent = await asyncio.gather(
            *(_send(ctx, s, receiver.url(p)) for s, p in zip(chosen, paths, strict=True))
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LATE_WAIT
        while loop.time() < deadline and not all(receiver.seen(p) for p in paths):
            await asyncio.sleep(0.05)
        hits = []
        for slot, path, ex in zip(chosen, paths, sent, strict=True):
            if ex is None or not receiver.seen(path):
                continue
            echoed = MARKER.decode() in ex.text
            hits.append(_hit(slot, ex, (
                f"the server fetched {receiver.url(path)} (the scanner's own receiver on "
                f"127.0.0.1) -> {ex.status}"
                + ("; the fetched body came back in the response" if echoed else "")
            ), Confidence.CERTAIN))  # fmt: skip
        return hits


async def differential(ctx: CheckContext, slot: Slot) -> Hit | None:
    benign = await _send(ctx, slot, UNRESOLVABLE)
    if benign is None or not _UNRESOLVED.search(benign.text) or _REFUSED.search(benign.text):
        return None
    internal = await _send(ctx, slot, CLOSED_PORT)
    if internal is None or not _REFUSED.search(internal.text):
        return None
    if _UNRESOLVED.search(internal.text):
        return None
    return _hit(slot, internal, (
        f"{UNRESOLVABLE} -> {benign.status} {_excerpt(benign.text, _UNRESOLVED)!r}; "
        f"{CLOSED_PORT} -> {internal.status} {_excerpt(internal.text, _REFUSED)!r}: the "
        "server tried to resolve and to connect to the URLs it was given"
    ), Confidence.TENTATIVE)  # fmt: skip


@active(
    id="ssrf.url-parameter",
    title="Server-side request forgery through a URL parameter",
    category="ssrf",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=918,
    owasp="API7:2023",
)
async def ssrf(ctx: CheckContext) -> None:
    chosen = candidates(ctx)
    if not chosen:
        return
    if runs_here(ctx):
        hits = await out_of_band(ctx, chosen)
    else:
        found = await asyncio.gather(*(differential(ctx, s) for s in chosen))
        hits = [h for h in found if h is not None]
    for hit in hits:
        ctx.report(hit)
