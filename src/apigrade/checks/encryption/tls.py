"""TLS of an HTTPS target: certificate, protocol versions, ciphers; HTTP -> HTTPS redirect.

Direct TLS handshakes with the target's own host and port (no HTTP is sent), in a
worker thread, 5 s timeout each:

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

``tls.no-https-redirect``: for an HTTPS target on the default port 443 only, one GET to
port 80 of the same host (a different origin, so the engine cannot send it; this check
opens the connection itself and reads the status line and headers only). A 2xx answer
there means the API is also served in cleartext. On any other port there is no known
HTTP twin, so nothing is sent.

Nothing is done for plain HTTP targets or apps scanned in-process.

Bound: at most 7 TLS handshakes and 1 cleartext request.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
import warnings
from dataclasses import dataclass, field

from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.checks.ssrf.local import in_process
from apigrade.engine.target import Target
from apigrade.model import Confidence, Severity

TIMEOUT = 5.0
SOON_DAYS = 14
WEAK_CIPHERS = "NULL:aNULL:eNULL:EXPORT:DES:3DES:RC4:MD5:@SECLEVEL=0"
_UNTRUSTED = {18: "self-signed certificate", 19: "self-signed certificate in the chain",
              20: "issuer not trusted (unknown CA or incomplete chain)",
              21: "issuer not trusted (unknown CA or incomplete chain)"}  # fmt: skip


@dataclass
class TlsFacts:
    """What the handshakes showed."""

    version: str | None = None
    cipher: str | None = None
    problems: list[tuple[Severity, str]] = field(default_factory=list)
    legacy: list[str] = field(default_factory=list)  # deprecated protocols accepted
    weak: str | None = None  # a weak cipher accepted


def _handshake(
    host: str, port: int, ctx: ssl.SSLContext, name: str | None
) -> tuple[str | None, tuple[str, str, int] | None, bytes | None, dict[str, object]]:
    with socket.create_connection((host, port), timeout=TIMEOUT) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
            info = tls.getpeercert() if ctx.verify_mode != ssl.CERT_NONE else {}
            return tls.version(), tls.cipher(), der, dict(info or {})


def _insecure(ciphers: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def _trusting(der: bytes, check_hostname: bool) -> ssl.SSLContext:
    """Verify with the server's own certificate as the only trust anchor."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=der)
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    ctx.check_hostname = check_hostname
    return ctx


def _days_left(info: dict[str, object]) -> float | None:
    not_after = info.get("notAfter")
    if not isinstance(not_after, str):
        return None
    return (ssl.cert_time_to_seconds(not_after) - time.time()) / 86400


def _verify_message(exc: ssl.SSLCertVerificationError) -> str:
    return str(exc.verify_message or exc.reason or exc).rstrip(".")


def _certificate(facts: TlsFacts, host: str, port: int, der: bytes) -> None:
    try:
        _, _, _, info = _handshake(host, port, ssl.create_default_context(), host)
    except ssl.SSLCertVerificationError as exc:
        first = exc
    except (OSError, ssl.SSLError):
        return
    else:
        days = _days_left(info)
        if days is not None and days < SOON_DAYS:
            facts.problems.append((Severity.LOW, f"certificate expires in {days:.0f} days"))
        return
    code = first.verify_code
    if code in _UNTRUSTED:
        facts.problems.append((Severity.HIGH, _UNTRUSTED[code]))
    elif code not in (9, 10, 62, 64):
        facts.problems.append((Severity.HIGH, _verify_message(first)))
    for check_hostname in (False, True):
        try:
            _handshake(host, port, _trusting(der, check_hostname), host)
        except ssl.SSLCertVerificationError as exc:
            if exc.verify_code in (9, 10, 62, 64) or check_hostname:
                facts.problems.append((Severity.HIGH, _verify_message(exc)))
            return  # expiry hides a name mismatch: one verdict is enough
        except (OSError, ssl.SSLError):
            return


def _accepts(host: str, port: int, ctx: ssl.SSLContext) -> str | None:
    """The 'version cipher' of a successful handshake, None when refused."""
    try:
        version, cipher, _, _ = _handshake(host, port, ctx, host)
    except (OSError, ssl.SSLError, ValueError):
        return None
    return f"{version} {cipher[0] if cipher else '?'}"


def inspect(host: str, port: int) -> TlsFacts | None:
    """All handshakes, blocking; None when even an unverified one fails."""
    facts = TlsFacts()
    try:
        version, cipher, der, _ = _handshake(host, port, _insecure(), host)
    except (OSError, ssl.SSLError):
        return None
    facts.version, facts.cipher = version, cipher[0] if cipher else None
    if der:
        _certificate(facts, host, port, der)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for name, proto in (("TLS 1.0", "TLSv1"), ("TLS 1.1", "TLSv1_1")):
            try:
                ctx = _insecure("ALL:@SECLEVEL=0")
                ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, proto)
            except (ssl.SSLError, ValueError, AttributeError):
                continue  # this OpenSSL cannot speak it: no verdict
            got = _accepts(host, port, ctx)
            if got is not None:
                facts.legacy.append(f"{name} ({got})")
        try:
            ctx = _insecure(WEAK_CIPHERS)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        except (ssl.SSLError, ValueError):
            return facts
        facts.weak = _accepts(host, port, ctx)
    return facts


finding_kind(
    id="tls.legacy-protocol",
    title="Server accepts TLS 1.0 or TLS 1.1",
    category="encryption",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=327,
    owasp="API8:2023",
    description=(
        "A handshake limited to TLS 1.0 or 1.1 succeeded. Both are deprecated (RFC 8996): "
        "they rely on SHA-1 and CBC constructions with known attacks (BEAST, POODLE-style "
        "padding oracles) and fail PCI DSS and most compliance baselines."
    ),
    remediation=(
        "Allow TLS 1.2 and 1.3 only. nginx: `ssl_protocols TLSv1.2 TLSv1.3;`; Apache: "
        "`SSLProtocol -all +TLSv1.2 +TLSv1.3`; Python `ssl`: "
        "`ctx.minimum_version = ssl.TLSVersion.TLSv1_2`; cloud load balancers: a "
        "TLS 1.2+ security policy."
    ),
    references=("https://datatracker.ietf.org/doc/html/rfc8996",),
)
finding_kind(
    id="tls.weak-cipher",
    title="Server accepts a weak TLS cipher suite",
    category="encryption",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=327,
    owasp="API8:2023",
    description=(
        "A handshake that offered only broken suites (no encryption, no authentication, "
        "export-grade, DES, 3DES, RC4 or MD5) succeeded. A man in the middle can read or "
        "alter the traffic of any client that ends up with that suite."
    ),
    remediation=(
        "Offer only AEAD suites with forward secrecy. nginx: `ssl_ciphers "
        "ECDHE+AESGCM:ECDHE+CHACHA20; ssl_prefer_server_ciphers off;` (Mozilla's "
        "'intermediate' profile); Python `ssl`: leave the default cipher list "
        "(`ssl.create_default_context`)."
    ),
    references=(
        "https://ssl-config.mozilla.org/",
        "https://cwe.mitre.org/data/definitions/327.html",
    ),
)


@active(
    id="tls.invalid-certificate",
    title="TLS certificate is not valid for this site",
    category="encryption",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=295,
    owasp="API8:2023",
    description=(
        "The certificate does not verify: expired or not yet valid, issued for another "
        "name, self-signed or from an unknown CA. Clients either fail, or are told to "
        "skip verification (`verify=False`, `curl -k`), which lets anyone on the path "
        "intercept them. Also runs the protocol and cipher handshakes (tls.legacy-protocol, "
        "tls.weak-cipher). Bound: at most 7 TLS handshakes with the target's host and "
        "port, no HTTP."
    ),
    remediation=(
        "Serve a certificate from a public CA for every name clients use, with the full "
        "chain (`fullchain.pem` in nginx's `ssl_certificate`), and renew it automatically "
        "(certbot / ACME, or your cloud's managed certificates). Monitor expiry."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/295.html",
        "https://letsencrypt.org/getting-started/",
    ),
)
async def tls_handshakes(ctx: CheckContext) -> None:
    target = ctx.target
    if not target.is_https or in_process(ctx):
        return
    facts = await asyncio.to_thread(inspect, target.host, target.port)
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
def http_port(target: Target) -> int | None:
    """The cleartext port to try: 80 for an HTTPS site on 443, else none."""
    return 80 if target.is_https and target.port == 443 else None


async def cleartext_answer(host: str, port: int, path: str) -> tuple[int, str | None] | None:
    """(status, Location) of one GET over plain HTTP; None when nothing answers."""
    try:
        async with asyncio.timeout(TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: apigrade\r\n"
                             "Connection: close\r\n\r\n".encode("latin-1"))  # fmt: skip
                await writer.drain()
                head = await reader.read(16384)
            finally:
                writer.close()
    except (OSError, TimeoutError, UnicodeEncodeError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return None
    location = next((ln.split(":", 1)[1].strip() for ln in lines[1:]
                     if ln.lower().startswith("location:")), None)  # fmt: skip
    return int(parts[1]), location


@active(
    id="tls.no-https-redirect",
    title="HTTPS site also serves content over plain HTTP",
    category="encryption",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=319,
    owasp="API8:2023",
    description=(
        "Port 80 of the same host answers with content instead of a redirect to HTTPS. "
        "Clients that type the bare name, old links and misconfigured SDKs talk to the "
        "API in cleartext, tokens included. Bound: one GET to port 80, only for an "
        "HTTPS target on port 443."
    ),
    remediation=(
        "Answer every plain-HTTP request with a permanent redirect: nginx "
        "`server { listen 80; return 301 https://$host$request_uri; }`; and send HSTS "
        "from the HTTPS site so browsers stop trying HTTP. APIs may refuse HTTP outright "
        "(close port 80) instead."
    ),
    references=("https://cwe.mitre.org/data/definitions/319.html",),
)
async def no_https_redirect(ctx: CheckContext) -> None:
    target = ctx.target
    port = http_port(target)
    if port is None or in_process(ctx):
        return
    path = "/" + target.url.split("://", 1)[1].partition("/")[2]
    answer = await cleartext_answer(target.host, port, path)
    if answer is None:
        return
    status, location = answer
    if not 200 <= status < 300:
        return  # a redirect, or a refusal: nothing served in cleartext
    ctx.report(Hit(
        url=target.url,
        evidence=f"GET http://{target.host}:{port}{path} -> {status}"
        + (f" (Location: {location})" if location else "") + ", no redirect to HTTPS",
        severity=Severity.INFO if target.is_local else None,
    ))  # fmt: skip
