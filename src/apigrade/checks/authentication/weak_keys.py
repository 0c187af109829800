"""Guessable signing keys: crack every signed cookie and token the scan saw, offline.

Phase 2, no requests: the artefacts come from the scan's exchanges and the user's own
credentials; keys already known (e.g. from the debug toolbar) are verified first. A found
key is proven by forging an edited copy that verifies locally; it is never sent.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from apigrade.checks.authentication import Artefact, collect_artefacts
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.crack import (
    KEEP,
    CrackResult,
    SignedToken,
    TokenKind,
    builtin_defaults,
    crack,
    default_candidates,
    forge,
    harvest_words,
    mask_secret,
    package_wordlist,
    parse_token,
    verify_key,
)
from apigrade.model import Confidence, Severity

MAX_TOKENS = 12
#: Up to this many candidate x scheme checks (the default lists against any token: at most
#: ~1.1M, 0.3-2.5 s on one core) the search runs in-process: starting a worker pool from
#: the scan's threads (forkserver) costs more than it saves. User wordlists use the pool.
INLINE_WORK = 1_200_000
MAX_HARVEST_PAGES = 40
#: Titles and app names sit near the top; harvest_words' title regex is slow on long
#: hostile bodies (many unclosed "<title>"), so it only gets each page's head.
HARVEST_CHARS = 20_000
FORGED_MARK = "apigrade_forged"


@dataclass(frozen=True)
class Found:
    """A key that verifies one artefact, and how it was found."""

    key: str
    how: str  # for the evidence: "found in … after N candidates" / "disclosed by …"
    scheme: str
    guessable: bool  # False: only known because the target disclosed it


# -- artefacts --------------------------------------------------------------------------


def _group(art: Artefact, token: SignedToken) -> tuple[str, ...]:
    """Artefacts of one kind in one place share a key: crack one of each group."""
    if art.source in ("body", "identity", "query", "response-header"):
        return (art.source, art.url.split("?", 1)[0], art.name, token.label)
    return (art.source, art.name, token.label)


def signed_artefacts(ctx: CheckContext) -> list[tuple[Artefact, SignedToken]]:
    """One parsed token per (place, kind), bounded."""
    groups: dict[tuple[str, ...], tuple[Artefact, SignedToken]] = {}
    for art in collect_artefacts(ctx):
        name = art.name if art.source in ("set-cookie", "user-cookie") else None
        token = parse_token(art.value, name=name)
        if token is not None and token.schemes:
            groups.setdefault(_group(art, token), (art, token))
        if len(groups) >= MAX_TOKENS:
            break
    return list(groups.values())


# -- candidates -------------------------------------------------------------------------


def harvested(ctx: CheckContext) -> list[str]:
    """Candidate keys from the target's own words: titles, app names, host name."""
    texts = [
        ex.text[:HARVEST_CHARS]
        for ex in list(ctx.exchanges)[:MAX_HARVEST_PAGES]
        if ex.status < 400 and any(t in ex.response.content_type for t in ("html", "json"))
    ]
    # words other checks collected (page titles) are plain text: give them a title tag
    texts += [f"<title>{html.escape(w)}</title>" for w in sorted(ctx.kb.words)]
    return harvest_words(texts, [ctx.target.host])


@lru_cache(maxsize=1)
def _builtin_sets() -> tuple[frozenset[bytes], frozenset[bytes]]:
    return frozenset(builtin_defaults()), frozenset(package_wordlist())


def key_origin(key: bytes, words: Iterable[str]) -> str | None:
    """Which default candidate list holds the key (None: none of them)."""
    builtin, package = _builtin_sets()
    if key in builtin:
        return "the built-in list of default keys"
    if key in {w.encode("utf-8", "surrogatepass") for w in words}:
        return "words harvested from the target (titles, names, host)"
    if key in package:
        return "the flask-unsign-wordlist list"
    return None


def _crack_one(token: SignedToken, wordlist: str | None, words: list[str]) -> CrackResult:
    """Run the cracker: in-process for the small default lists, on every core otherwise."""
    candidates = default_candidates(wordlist, extra=words)
    total = candidates.total() or 0
    inline = wordlist is None and total * len(token.schemes) <= INLINE_WORK
    return crack(token, candidates, processes=1 if inline else None)


# -- proof ------------------------------------------------------------------------------


def forged_payload(token: SignedToken) -> Any:
    """An edited payload that shows what an attacker can write."""
    payload = token.payload
    if isinstance(payload, dict):
        edited = dict(payload)
        for name in ("role", "is_admin", "admin"):
            if name in edited:
                edited[name] = "admin" if name == "role" else True
        edited[FORGED_MARK] = True
        return edited
    if token.kind is TokenKind.FLASK_LOGIN:
        return "1"  # the first user, usually the administrator
    return KEEP  # opaque payload: a fresh signature on the same value


def prove(token: SignedToken, key: str) -> str:
    """Forge an edited copy, check it verifies under ``key`` locally, describe it."""
    payload = forged_payload(token)
    forged = forge(token, key, payload)
    again = parse_token(forged, name=token.name)
    if again is None or verify_key(again, key) is None:
        return "a re-signed copy could not be verified locally"
    if payload is KEEP:
        shown = "the same payload with a fresh signature"
    else:
        shown = json.dumps(payload, default=str, ensure_ascii=False)[:300]
    return f"forged a copy with payload {shown} that verifies under this key (not sent)"


# -- the check --------------------------------------------------------------------------


def _known(token: SignedToken, keys: list[tuple[str, str]], words: list[str]) -> Found | None:
    """A key the target disclosed (debug toolbar, config file) that verifies the token."""
    for key, where in keys:
        scheme = verify_key(token, key)
        if scheme is None:
            continue
        origin = key_origin(key.encode("utf-8", "surrogatepass"), words)
        if origin is not None:
            return Found(key, f"found in {origin}, and disclosed at {where}", scheme.name, True)
        how = f"disclosed by the target at {where} (no cracking needed)"
        return Found(key, how, scheme.name, False)
    return None


def _reuse(token: SignedToken, cracked: dict[str, Found]) -> Found | None:
    """A key cracked earlier in this scan (one app often signs everything with one key)."""
    for key, first in cracked.items():
        scheme = verify_key(token, key)
        if scheme is not None:
            return Found(key, first.how, scheme.name, True)
    return None


def find_key(
    token: SignedToken,
    known: list[tuple[str, str]],
    cracked: dict[str, Found],
    wordlist: str | None,
    words: list[str],
) -> Found | None:
    """A key already known, else one from cracking (blocking: run it in a thread)."""
    hit = _known(token, known, words) or _reuse(token, cracked)
    if hit is not None:
        return hit
    result = _crack_one(token, wordlist, words)
    if result.key is None or result.scheme is None:
        return None
    origin = key_origin(result.key, words) or "the user's wordlist"
    how = f"found in {origin} after {result.tried:,} candidates ({result.elapsed:.2f} s, offline)"
    return Found(result.key_text or "", how, result.scheme.name, True)


def _place(ctx: CheckContext, art: Artefact) -> tuple[str, str]:
    if art.source == "body":
        return art.url.split("?", 1)[0], "token"
    if art.source in ("query", "response-header"):
        return art.url, art.name
    return ctx.target.url, art.name


def hit_for(ctx: CheckContext, art: Artefact, token: SignedToken, found: Found) -> Hit:
    """The finding: masked key, how it was found, and the forged proof."""
    url, param = _place(ctx, art)
    evidence = (
        f"{token.label} ({art.where}) is signed with the key {mask_secret(found.key)!r} "
        f"({len(found.key)} characters), {found.how}; scheme: {found.scheme}; "
        f"{prove(token, found.key)}"
    )
    hit = Hit(url=url, parameter=param, evidence=evidence)
    if not found.guessable:
        hit.title = f"{token.label} signed with a key the target discloses"
    if token.pickled:
        hit.severity, hit.confidence = Severity.CRITICAL, Confidence.FIRM
        hit.title = f"{token.label} carries a pickle and its signing key is known"
        hit.evidence += "; the payload is a pickle: a forged one runs code when the app loads it"
    return hit


@active(
    phase=2,
    id="auth.weak-signing-key",
    reads=("tokens", "words", "secret_keys"),
    writes=("secret_keys",),
    title="Signing key is guessable: cookies and tokens can be forged",
    category="authentication",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=1391,
    owasp="API2:2023",
)
async def weak_keys(ctx: CheckContext) -> None:
    """Verify known keys and crack the rest, one token per place and kind."""
    artefacts = signed_artefacts(ctx)
    if not artefacts:
        return
    known = [(k, w) for k, w in ctx.kb.secret_keys if k]  # disclosed (debug toolbar, ...)
    cracked: dict[str, Found] = {}
    words = harvested(ctx)
    for art, token in artefacts:
        found = await asyncio.to_thread(find_key, token, known, cracked, ctx.wordlist, words)
        if found is None:
            continue
        if found.guessable and found.key not in cracked:
            cracked[found.key] = found
        if found.key not in {k for k, _ in ctx.kb.secret_keys}:  # for later phases
            ctx.kb.secret_keys.append((found.key, f"cracked from {art.where}"))
        ctx.report(hit_for(ctx, art, token, found))
