"""TLS of an HTTPS target: certificate, protocol versions, ciphers; HTTP -> HTTPS redirect.

Raw TLS handshakes with the target's own host and port (no HTTP is sent), each asked of
the engine (``ctx.tls_handshake``), which opens the connection, bounds it by the request
timeout and counts it in ``--max-requests``:

1. no verification: the negotiated version and cipher, and the certificate (DER);
2. verification against the system's CA store with the host name: trusted or not, why;
3. only when 2 failed: the certificate itself as the trust anchor (partial chain),
   without and then with the host name: tells expiry and a name mismatch apart from
   "self-signed / unknown issuer";
4. TLS 1.0 only, then TLS 1.1 only (when the local OpenSSL can still speak them):
   success means the server accepts a deprecated protocol;
5. only NULL, anonymous, EXPORT, DES, 3DES, RC4 and MD5 suites offered: success means
   the server accepts a weak cipher.

Certificate problems on a loopback or private target are reported as info (local
development, like plain HTTP there); elsewhere expiry, a name mismatch or an untrusted
issuer is high, expiry within 14 days low.

``tls.no-https-redirect``: the cleartext twin of an HTTPS site is another origin
(``http://host:80``), so it is contacted only when the user names it with
``--scope http://host:80`` (any ``http://`` origin of the target's host): one GET
there, through the engine, without the user's credentials, no redirect followed. A 2xx
answer means the API is also served in cleartext. Without ``--scope`` nothing is sent.

Nothing is done for plain HTTP targets or apps scanned in-process.

Bound: at most 7 TLS handshakes, and 1 cleartext request per named origin.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from apigrade.checks.common.local import in_process
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.engine.handshake import TlsHello, TlsResult
from apigrade.engine.http import Probe
from apigrade.engine.target import Origin, Target, origin_url
from apigrade.model import Confidence, Severity

SOON_DAYS = 14
WEAK_CIPHERS = "NULL:aNULL:eNULL:EXPORT:DES:3DES:RC4:MD5:@SECLEVEL=0"
_UNTRUSTED = {18: "self-signed certificate", 19: "self-signed certificate in the chain",
              20: "issuer not trusted (unknown CA or incomplete chain)",
              21: "issuer not trusted (unknown CA or incomplete chain)"}  # fmt: skip
_EXPIRY_OR_NAME = (9, 10, 62, 64)  # not yet valid, expired, host or IP mismatch

Handshake = Callable[[TlsHello], Awaitable[TlsResult | None]]


@dataclass
class TlsFacts:
    """What the handshakes showed."""

    version: str | None = None
    cipher: str | None = None
    problems: list[tuple[Severity, str]] = field(default_factory=list)
    legacy: list[str] = field(default_factory=list)  # deprecated protocols accepted
    weak: str | None = None  # a weak cipher accepted


async def _certificate(facts: TlsFacts, shake: Handshake, der: bytes) -> None:
    first = await shake(TlsHello(verify="system", check_hostname=True))
    if first is None or (not first.ok and first.verify_code is None):
        return  # not attempted, or a network failure: no verdict
    if first.ok:
        if first.not_after is not None:
            days = (first.not_after - time.time()) / 86400
            if days < SOON_DAYS:
                facts.problems.append((Severity.LOW, f"certificate expires in {days:.0f} days"))
        return
    code = first.verify_code
    if code in _UNTRUSTED:
        facts.problems.append((Severity.HIGH, _UNTRUSTED[code]))
    elif code not in _EXPIRY_OR_NAME:
        facts.problems.append((Severity.HIGH, first.verify_message or "certificate refused"))
    for check_hostname in (False, True):
        got = await shake(TlsHello(verify="pinned", anchor=der, check_hostname=check_hostname))
        if got is None or got.ok:
            continue
        if got.verify_code is None:
            return
        if got.verify_code in _EXPIRY_OR_NAME or check_hostname:
            facts.problems.append((Severity.HIGH, got.verify_message or "certificate refused"))
        return  # expiry hides a name mismatch: one verdict is enough


async def _accepts(shake: Handshake, hello: TlsHello) -> str | None:
    """The 'version cipher' of a successful handshake, None when refused or not tried."""
    got = await shake(hello)
    if got is None or not got.ok:
        return None
    return f"{got.version} {got.cipher or '?'}"


async def inspect(shake: Handshake) -> TlsFacts | None:
    """All handshakes, through ``shake`` (the engine's); None when even an unverified
    one fails."""
    facts = TlsFacts()
    first = await shake(TlsHello())
    if first is None or not first.ok:
        return None
    facts.version, facts.cipher = first.version, first.cipher
    if first.der:
        await _certificate(facts, shake, first.der)
    for name, proto in (("TLS 1.0", "TLSv1"), ("TLS 1.1", "TLSv1_1")):
        got = await _accepts(shake, TlsHello(ciphers="ALL:@SECLEVEL=0", versions=(proto, proto)))
        if got is not None:
            facts.legacy.append(f"{name} ({got})")
    facts.weak = await _accepts(shake, TlsHello(ciphers=WEAK_CIPHERS, versions=("TLSv1", "TLSv1_2")))
    return facts


finding_kind(
    id="tls.legacy-protocol",
    parent=("tls.invalid-certificate", "tls.no-https-redirect"),
    title="Server accepts TLS 1.0 or TLS 1.1",
    category="encryption",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=327,
    owasp="API8:2023",
)
finding_kind(
    id="tls.weak-cipher",
    parent=("tls.invalid-certificate", "tls.no-https-redirect"),
    title="Server accepts a weak TLS cipher suite",
    category="encryption",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=327,
    owasp="API8:2023",
)


@active(
    id="tls.invalid-certificate",
    title="TLS certificate is not valid for this site",
    category="encryption",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=295,
    owasp="API8:2023",
)
async def tls_handshakes(ctx: CheckContext) -> None:
    target = ctx.target
    if not target.is_https or in_process(ctx):
        return
    facts = await inspect(ctx.tls_handshake)
    if facts is None:
        return
    url = target.origin + "/"
    seen = f"negotiated {facts.version} {facts.cipher}"
    if facts.problems:
        worst = max((s for s, _ in facts.problems), key=lambda s: s.rank)
        local = target.is_local
        ctx.report(Hit(
            url=url,
            evidence="; ".join(p for _, p in facts.problems) + f" ({seen})"
            + ("; loopback or private address: reported as info" if local else ""),
            severity=Severity.INFO if local else worst,
        ))  # fmt: skip
    if facts.legacy:
        ctx.report(Hit(url=url, check="tls.legacy-protocol",
                       evidence="handshake succeeded with " + ", ".join(facts.legacy)))  # fmt: skip
    if facts.weak:
        ctx.report(Hit(url=url, check="tls.weak-cipher",
                       evidence=f"handshake offering only weak suites succeeded: {facts.weak}"))  # fmt: skip


# -- HTTP twin of an HTTPS site --------------------------------------------------------
def cleartext_twins(target: Target) -> list[Origin]:
    """The cleartext origins to try: ``http://`` origins of the target's host that the
    user put in scope (``--scope``), only for an HTTPS target. Empty by default."""
    if not target.is_https:
        return []
    return sorted(o for o in target.extra_origins if o[0] == "http" and o[1] == target.host)


@active(
    id="tls.no-https-redirect",
    title="HTTPS site also serves content over plain HTTP",
    category="encryption",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=319,
    owasp="API8:2023",
)
async def no_https_redirect(ctx: CheckContext) -> None:
    target = ctx.target
    if in_process(ctx):
        return
    path = "/" + target.url.split("://", 1)[1].partition("/")[2]
    for twin in cleartext_twins(target):
        url = origin_url(twin) + path
        ex = await ctx.send(Probe(url=url, follow_redirects=False, anonymous=True))
        if ex is None or not 200 <= ex.status < 300:
            continue  # nothing answered, a redirect, or a refusal: nothing in cleartext
        location = ex.response.header("location")
        ctx.report(Hit(
            url=target.url,
            evidence=f"GET {url} -> {ex.status}"
            + (f" (Location: {location})" if location else "") + ", no redirect to HTTPS",
            severity=Severity.INFO if target.is_local else None,
        ))  # fmt: skip
