"""Raw TLS handshakes (no HTTP sent): what the TLS checks ask the engine for.

A check describes the ClientHello it wants with a :class:`TlsHello` (what to verify,
which ciphers and protocol versions to offer) and gets a :class:`TlsResult` back. The
SSL context is built and the connection opened here, never in a check; the engine
(:meth:`apigrade.engine.client.Engine.tls_handshake`) adds the scope rule, the deadline
and the request budget.
"""

from __future__ import annotations

import asyncio
import ssl
import warnings
from dataclasses import dataclass
from typing import Literal

Verify = Literal["none", "system", "pinned"]


class Unsupported(Exception):
    """The local OpenSSL cannot offer this hello (e.g. TLS 1.0 compiled out)."""


@dataclass(frozen=True)
class TlsHello:
    """One handshake to try.

    ``verify``: ``none`` (accept anything), ``system`` (the system's CA store, host name
    checked) or ``pinned`` (``anchor``, a DER certificate, as the only trust anchor,
    partial chains allowed; host name checked when ``check_hostname``). ``versions`` is
    (minimum, maximum) as ``ssl.TLSVersion`` member names ("TLSv1", "TLSv1_2").
    """

    verify: Verify = "none"
    check_hostname: bool = False
    anchor: bytes | None = None
    ciphers: str | None = None
    versions: tuple[str, str] | None = None


@dataclass(frozen=True)
class TlsResult:
    """What one handshake showed. ``ok`` is False when it failed; then ``verify_code``
    and ``verify_message`` say why a certificate was refused, ``error`` anything else."""

    ok: bool
    version: str | None = None
    cipher: str | None = None
    der: bytes | None = None
    #: the certificate's notAfter as epoch seconds (verified handshakes only)
    not_after: float | None = None
    verify_code: int | None = None
    verify_message: str | None = None
    error: str | None = None


def build_context(hello: TlsHello) -> ssl.SSLContext:
    """The client context for ``hello``; raises :class:`Unsupported` when OpenSSL cannot."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 on purpose
            if hello.verify == "system":
                ctx = ssl.create_default_context()
            else:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                if hello.verify == "pinned" and hello.anchor:
                    ctx.load_verify_locations(cadata=hello.anchor)
                    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
                    ctx.check_hostname = hello.check_hostname
                else:
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
            if hello.ciphers:
                ctx.set_ciphers(hello.ciphers)
            if hello.versions:
                ctx.minimum_version = getattr(ssl.TLSVersion, hello.versions[0])
                ctx.maximum_version = getattr(ssl.TLSVersion, hello.versions[1])
    except (ssl.SSLError, ValueError, AttributeError) as exc:
        raise Unsupported(str(exc) or type(exc).__name__) from None
    return ctx


def _one_line(text: object) -> str:
    return " ".join(str(text).split())[:200]


async def handshake(host: str, port: int, ctx: ssl.SSLContext, timeout: float) -> TlsResult:
    """Connect, handshake, read what was negotiated, close; within ``timeout`` in all.

    ``ctx`` comes from :func:`build_context`. Never raises for network or TLS trouble.
    """
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(
                host, port, ssl=ctx, server_hostname=host, ssl_handshake_timeout=timeout
            )
            tls = writer.get_extra_info("ssl_object")
            der = tls.getpeercert(binary_form=True) if tls is not None else None
            info = tls.getpeercert() if tls is not None and ctx.verify_mode != ssl.CERT_NONE else {}
            not_after = (info or {}).get("notAfter")
            cipher = tls.cipher() if tls is not None else None
            return TlsResult(
                ok=True,
                version=tls.version() if tls is not None else None,
                cipher=cipher[0] if cipher else None,
                der=der,
                not_after=ssl.cert_time_to_seconds(not_after) if isinstance(not_after, str) else None,
            )
    except ssl.SSLCertVerificationError as exc:
        return TlsResult(
            ok=False,
            verify_code=exc.verify_code,
            verify_message=_one_line(exc.verify_message or exc.reason or exc).rstrip("."),
        )
    except TimeoutError:
        return TlsResult(ok=False, error=f"no handshake within {timeout:g} s")
    except (OSError, ssl.SSLError, ValueError, EOFError) as exc:
        return TlsResult(ok=False, error=_one_line(exc) or type(exc).__name__)
    finally:
        if writer is not None:
            writer.transport.abort()  # no close_notify wait: the peer may stall
