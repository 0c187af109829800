"""Secrets and internal addresses in any response (passive, no requests).

``secrets.exposed-secret``: provider key formats in response bodies and headers: AWS
access key ids (and secret keys next to them), private keys (PEM header plus key
material), GitHub, Slack and Stripe live keys, Slack webhooks, Google API keys, and JWTs
in HTML or JavaScript. Values are masked in the evidence.

``exposure.internal-ip``: private IPv4 addresses (10/8, 172.16/12, 192.168/16) in the
headers or text bodies of a target that is not itself on a private or loopback address
(there they are expected).

CWE choices (contract table): a secret in an API response or page is "excessive data
exposure (password hashes, keys, internal fields)", CWE-213; CWE-538 stays with the
``files.*`` signatures that find whole secret files. An internal address is "internal
detail", CWE-497, as for banners.

Overlaps, avoided on purpose:

* URLs a ``files.*``/``inventory.*`` signature probes for a secret file, dump or debug
  dump (CWE 538/530/489; for addresses: any signature's page, e.g. /server-status), and paths of config, source, backup and dump files
  (``.env*``, ``.py``, ``.cfg``, ``.ini``, ``.toml``, ``.yml``, ``.bak``, ``.sql`` ...) are
  skipped: the file itself is that finding.
* In JSON answers (status < 400) AWS key ids, private keys, GitHub, Slack and Stripe keys
  belong to ``props.excessive-data-exposure``; this check adds the other kinds there.
* Values the request itself carried (echoes) and documentation placeholders
  (``AKIAIOSFODNN7EXAMPLE``, ``xxxx``) are ignored.

Each secret value and each address is reported once per scan (the first URL that shows
it), so a key in a shared footer or bundle is one finding, not one per page.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from apigrade import knowledge, rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import finding_kind, passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity
from apigrade.redact import mask

MAX_SCAN = 1_000_000
MAX_SHOWN = 4
_TEXT_TYPES = ("json", "html", "text/", "javascript", "xml", "ecmascript", "")
_SCRIPTISH = ("html", "javascript", "ecmascript")


# Key and token formats: ``data/secrets.toml``, the entries for this check.
Kind = knowledge.SecretFormat


def _kinds() -> tuple[Kind, ...]:
    return knowledge.secret_formats("secrets.exposed-secret")


KINDS = _kinds()  # read and validated at import: a bad table fails the build
_PLACEHOLDER = rx.compile(r"example|xxxx|XXXX|0{8}|1234567890|placeholder|your", rx.I)
_FILE_EXT = rx.compile(
    r"(?:^\.|\.(?:env[\w.]*|flaskenv|py|pyc|cfg|ini|conf|config|toml|ya?ml|properties|bak|old|"
    r"orig|swp|save|backup|sql|sqlite3?|db|dump|tar|gz|tgz|zip|7z|rar)$|~$)",
    rx.I,
)
# Not inside a longer dotted or word run, and not a CIDR range: _ip_alone.
_PRIVATE_IP = rx.compile(
    r"((?:10\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01])|192\.168)\.\d{1,3}\.\d{1,3})"
)


def _word_or_dot(ch: str) -> bool:
    return ch == "." or ch == "_" or ch.isalnum()


def _ip_alone(m: rx.Match) -> bool:
    text, start, end = m.string, m.start(1), m.end(1)
    if start > 0 and _word_or_dot(text[start - 1]):
        return False
    after = text[end : end + 2]
    return not (after and _word_or_dot(after[0])) and not (after[:1] == "/" and after[1:].isdecimal())

finding_kind(
    id="exposure.internal-ip",
    parent="secrets.exposed-secret",
    title="Response discloses internal IP addresses",
    category="data-exposure",
    severity=Severity.LOW,
    confidence=Confidence.FIRM,
    cwe=497,
    owasp="API8:2023",
)


@lru_cache(maxsize=2)
def signature_paths(secret_files: bool) -> frozenset[str]:
    """Paths signature checks probe: all, or those for secret files and dumps (538/530/489)."""
    from apigrade.checks.signature import load_dir

    out: set[str] = set()
    for sig in load_dir():
        if not secret_files or sig.meta.cwe in (538, 530, 489):
            out.update(p.rstrip("/") or "/" for p in sig.paths)
    return frozenset(out)


def _path(url: str) -> str:
    return unquote(urlsplit(url).path).rstrip("/") or "/"


def owned_by_files(url: str) -> bool:
    """A secret file, dump or debug dump that a signature or its file type already reports."""
    path = _path(url)
    return path in signature_paths(True) or bool(_FILE_EXT.search(path.rsplit("/", 1)[-1]))


def _json_api(ex: Exchange) -> bool:
    """A JSON answer the excessive-data check reads (status < 400, parses, not a spec)."""
    if ex.status >= 400 or "json" not in ex.response.content_type:
        return False
    try:
        body: Any = json.loads(ex.response.body[:MAX_SCAN])
    except (ValueError, RecursionError):
        return False
    return not (isinstance(body, dict) and ("openapi" in body or "swagger" in body))


def _jwt_payload_ok(token: str) -> bool:
    """A JWT whose header and payload decode to JSON objects."""
    try:
        for part in token.split(".")[:2]:
            data = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            if not isinstance(data, dict):
                return False
    except (ValueError, binascii.Error):
        return False
    return True


def _sent(ex: Exchange, ctx: CheckContext) -> str:
    """Everything the request carried, to tell echoes from leaks."""
    probe = ex.probe
    parts = [probe.url, probe.raw_target or "", (probe.body or b"").decode("utf-8", "replace")]
    parts += [v for _, v in probe.headers] + [v for _, v in ctx.user_headers]
    return "\n".join(parts + [ctx.user_cookie or ""])


def find_secrets(text: str, *, pages: bool, json_api: bool) -> Iterator[tuple[Kind, str]]:
    """(kind, value) of every secret in ``text`` that this check reports."""
    for kind in _kinds():
        if (kind.pages_only and not pages) or (kind.json_owned and json_api):
            continue
        for m in kind.pattern.finditer(text, accept=kind.accept):
            value = m.group(1)
            if _PLACEHOLDER.search(value) or (kind.name == "JWT" and not _jwt_payload_ok(value)):
                continue
            yield kind, value


def find_ips(text: str) -> Iterator[str]:
    for m in _PRIVATE_IP.finditer(text, accept=_ip_alone):
        try:
            ip = ipaddress.IPv4Address(m.group(1))
        except ValueError:
            continue
        if ip.is_private and str(ip).split(".")[-1] not in ("0", "255"):
            yield str(ip)


def _show(kind: Kind, value: str) -> str:
    """The value masked; a private key's PEM header is not secret and says more."""
    return value if kind.name == "private key" else mask(value[:60])


def _bare(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def _fresh(ctx: CheckContext, key: str) -> bool:
    """True the first time a value is seen in this scan."""
    seen = ctx.kb.reported_secrets
    if key in seen:
        return False
    seen.add(key)
    return True


@passive(
    id="secrets.exposed-secret",
    writes=("reported_secrets",),
    title="Response exposes a secret key or token",
    category="data-exposure",
    severity=Severity.HIGH,
    confidence=Confidence.FIRM,
    cwe=213,
    owasp="API3:2023",
)
def exposed_secrets(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """At most one secret finding and one address finding per response."""
    if owned_by_files(exchange.url):
        return
    resp = exchange.response
    ctype = resp.content_type
    texty = any(t in ctype for t in _TEXT_TYPES) if ctype else True
    body = resp.text[:MAX_SCAN] if texty and resp.body else ""
    headers = "\n".join(f"{k}: {v}" for k, v in resp.headers)
    sent = _sent(exchange, ctx)
    pages = any(t in ctype for t in _SCRIPTISH)
    found: dict[str, tuple[Kind, str]] = {}
    for source, is_page in ((headers, False), (body, pages)):
        for kind, value in find_secrets(source, pages=is_page, json_api=False):
            if value not in sent and value not in found:
                found[value] = (kind, value)
    if any(k.json_owned for k, _ in found.values()) and _json_api(exchange):
        found = {v: kv for v, kv in found.items() if not kv[0].json_owned}
    new = [kv for v, kv in found.items() if _fresh(ctx, "secret:" + v)]
    method = exchange.probe.method
    where = f"{method} {urlsplit(exchange.url).path} -> {exchange.status}"
    if new:
        worst = max((k.severity for k, _ in new), key=lambda s: s.rank)
        shown = "; ".join(f"{k.name}: {_show(k, v)}" for k, v in new[:MAX_SHOWN])
        yield Hit(url=_bare(exchange.url), method=method, severity=worst,
                  confidence=Confidence.TENTATIVE if worst is Severity.LOW else None,
                  evidence=f"{where}; {shown}")  # fmt: skip
    if ctx.target.is_local or _path(exchange.url) in signature_paths(False):
        return  # expected on a private network; a signature's page reports its own details
    text = headers + ("\n" + body if not any(t in ctype for t in ("javascript", "css")) else "")
    ips = [ip for ip in dict.fromkeys(find_ips(text)) if ip not in sent]
    ips = [ip for ip in ips if _fresh(ctx, "ip:" + ip)]
    if ips:
        yield Hit(url=_bare(exchange.url), method=method, check="exposure.internal-ip",
                  evidence=f"{where}; {', '.join(ips[:MAX_SHOWN])}")  # fmt: skip
