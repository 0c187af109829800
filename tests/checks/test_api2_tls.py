"""Encryption: certificate, protocol and cipher handshakes, HSTS quality, mixed content,
and the plain-HTTP twin of an HTTPS site. Real HTTPS servers on 127.0.0.1 with
certificates made in the test."""

from __future__ import annotations

import socket
import ssl
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("cryptography")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api2 as apps  # noqa: E402
from apps_api2 import by_check, mine, scan_app, scan_url, serve_https  # noqa: E402

from apigrade.checks.encryption import tls  # noqa: E402
from apigrade.checks.encryption.hsts import hsts_problems  # noqa: E402
from apigrade.checks.encryption.mixed_content import mixed_refs  # noqa: E402
from apigrade.model import Severity  # noqa: E402

CERT, LEGACY, WEAK = "tls.invalid-certificate", "tls.legacy-protocol", "tls.weak-cipher"
HSTS, MIXED, REDIRECT = "tls.weak-hsts", "tls.mixed-content", "tls.no-https-redirect"
ALL = [CERT, LEGACY, WEAK, HSTS, MIXED, REDIRECT]
RUN = [CERT, HSTS, MIXED]  # the runnable ids (LEGACY and WEAK come from CERT)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    d = tmp_path_factory.mktemp("certs")
    ca_cert, _, ca = apps.make_cert(d, "ca", hosts=(), is_ca=True)
    out = {
        "self": apps.make_cert(d, "self")[:2],
        "expired": apps.make_cert(d, "expired", expired=True)[:2],
        "other": apps.make_cert(d, "other", hosts=("other.example",))[:2],
        "trusted": apps.make_cert(d, "trusted", issuer=ca)[:2],
    }
    out["ca"] = (ca_cert, ca_cert)
    return out


def _old_tls_possible() -> bool:
    """Can this OpenSSL still negotiate TLS 1.0 with itself?"""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.set_ciphers("ALL:@SECLEVEL=0")
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
    except (ValueError, ssl.SSLError, AttributeError):
        return False
    return True


@pytest.fixture
def https(certs: dict[str, tuple[Path, Path]]) -> Iterator[Callable[..., str]]:
    import contextlib

    with contextlib.ExitStack() as stack:

        def _serve(app: object, cert: str = "self", legacy: bool = False) -> str:
            c, k = certs[cert]
            return stack.enter_context(serve_https(app, c, k, legacy=legacy))

        yield _serve


def test_weak_tls_site_over_a_socket(https: Callable[..., str]) -> None:
    url = https(apps.https_app(weak=True), legacy=True)
    report = scan_url(url, insecure=True, only=RUN)
    [cert] = by_check(report, CERT)
    assert "self-signed certificate" in cert.evidence and cert.cwe == 295
    assert cert.severity == "info"  # a loopback target: local development
    [hsts] = by_check(report, HSTS)
    assert hsts.severity == "low" and "under 180 days" in hsts.evidence
    assert "no includeSubDomains" in hsts.evidence and hsts.cwe == 319
    [mixed] = by_check(report, MIXED)
    assert mixed.severity == "medium" and "http://cdn.example.com/lib.js" in mixed.evidence
    if _old_tls_possible():
        [legacy] = by_check(report, LEGACY)
        assert "TLS 1.0" in legacy.evidence and legacy.cwe == 327
        [weak] = by_check(report, WEAK)
        assert weak.severity == "medium"


def test_trusted_modern_site_is_clean(
    https: Callable[..., str], certs: dict[str, tuple[Path, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certs["ca"][0]))  # the test CA as the trust store
    url = https(apps.https_app(weak=False), cert="trusted")
    assert mine(scan_url(url, insecure=True, only=RUN), ALL) == []


@pytest.mark.parametrize(
    "cert, words",
    [
        ("expired", "certificate has expired"),
        ("other", "mismatch"),
        ("trusted", "issuer not trusted"),  # signed by a CA the system does not know
    ],
)
def test_certificate_problems(https: Callable[..., str], cert: str, words: str) -> None:
    report = scan_url(https(apps.https_app(weak=False), cert=cert), insecure=True, only=[CERT])
    [f] = by_check(report, CERT)
    assert words in f.evidence


def test_in_process_https_reads_headers_and_pages_without_sockets() -> None:
    report = scan_app(apps.https_app(weak=True), base_url="https://api.example.test/", only=RUN)
    assert {f.check_id for f in mine(report, ALL)} == {HSTS, MIXED}  # no handshake attempted
    assert not report.errors
    clean = scan_app(apps.https_app(weak=False), base_url="https://api.example.test/", only=RUN)
    assert mine(clean, ALL) == []


def test_cleartext_twin(https: Callable[..., str], serve: Callable[..., str]) -> None:
    url = https(apps.https_app(weak=False), cert="self")
    for redirects, expected in ((False, 1), (True, 0)):
        port = int(serve(apps.cleartext_app(redirects)).rsplit(":", 1)[1].strip("/"))
        scope = [f"http://127.0.0.1:{port}"]  # stands in for port 80, named explicitly
        found = by_check(scan_url(url, insecure=True, only=[REDIRECT], scope=scope), REDIRECT)
        assert len(found) == expected
        if found:
            assert "no redirect to HTTPS" in found[0].evidence and found[0].severity == "info"


def test_cleartext_twin_is_only_tried_when_named_with_scope() -> None:
    from apigrade.engine.target import Target

    assert tls.cleartext_twins(Target.parse("https://api.example.com/")) == []
    named = Target.parse("https://api.example.com/").with_origins(["http://api.example.com"])
    assert tls.cleartext_twins(named) == [("http", "api.example.com", 80)]
    other = Target.parse("https://api.example.com/").with_origins(["http://other.example"])
    assert tls.cleartext_twins(other) == []
    plain = Target.parse("http://api.example.com:8080/").with_origins(["http://api.example.com"])
    assert tls.cleartext_twins(plain) == []


def test_plain_http_targets_get_no_handshake(serve: Callable[..., str]) -> None:
    url = serve(apps.https_app(weak=True))
    assert mine(scan_url(url, only=RUN + [REDIRECT]), ALL) == []


def test_nothing_listening_means_no_verdict() -> None:
    import asyncio

    from apigrade.engine.client import Engine
    from apigrade.engine.target import Target

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def go() -> tls.TlsFacts | None:
        async with Engine(Target.parse(f"https://127.0.0.1:{port}/")) as engine:
            return await tls.inspect(engine.tls_handshake)

    assert asyncio.run(go()) is None


def test_hsts_and_mixed_content_rules() -> None:
    assert hsts_problems("max-age=31536000; includeSubDomains") == []
    assert hsts_problems("max-age=0; includeSubDomains")[0][0] is Severity.MEDIUM
    assert hsts_problems("includeSubDomains")[0][0] is Severity.LOW
    refs = mixed_refs('<link rel="stylesheet" href="http://x/a.css"><img src="http://x/i.png">'
                      '<a href="http://x/page">link</a><form action="http://x/post"></form>')  # fmt: skip
    assert len(refs.active) == 2 and len(refs.passive) == 1  # plain links are not mixed content
    meta = '<meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests">'
    assert mixed_refs(meta).upgrades
