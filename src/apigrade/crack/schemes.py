"""How a signature is computed from a secret: one ``Scheme`` per (salt, derivation, digest).

A scheme holds everything that does not depend on the secret (the signed message, the
expected signature, the salt), so checking a candidate is pure hashing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Derivation = Literal["hmac", "concat", "none"]

#: Digest name by signature length in bytes.
DIGEST_BY_SIZE = {20: "sha1", 28: "sha224", 32: "sha256", 48: "sha384", 64: "sha512"}

#: Salt Flask's SecureCookieSessionInterface uses (with HMAC key derivation and SHA-1).
FLASK_SESSION_SALT = "cookie-session"
#: itsdangerous' default salt (``Signer``/``TimestampSigner`` without one: Starlette sessions)
ITSDANGEROUS_SALT = "itsdangerous.Signer"
#: Salt Flask-WTF uses for CSRF tokens (itsdangerous defaults: django-concat, SHA-1).
WTF_CSRF_SALT = "wtf-csrf-token"

#: Salts tried on itsdangerous tokens whose purpose is unknown (itsdangerous and extension
#: defaults, then names seen in tutorials for e-mail confirmation and password reset links).
COMMON_SALTS: tuple[str, ...] = (
    WTF_CSRF_SALT,
    "itsdangerous",
    "itsdangerous.Signer",
    "confirm-salt",
    "reset-salt",
    "login-salt",
    "remember-salt",
    "change-email-salt",
    "email-confirm",
    "email-confirmation",
    "email-confirm-salt",
    "confirm-email",
    "password-reset",
    "password-reset-salt",
    "reset-password",
    "activate",
    "api-token",
    "auth-token",
)

#: Django ``key_salt`` values, and whether the key is the cookie signer's
#: (``b"django.http.cookies" + SECRET_KEY``) rather than the bare ``SECRET_KEY``.
DJANGO_SALTS: tuple[tuple[str, bool], ...] = (
    ("django.contrib.sessions.backends.signed_cookies", False),
    ("django.core.signing", False),
    ("django.contrib.messages", True),
    ("django.core.signing.get_cookie_signer", True),
    ("django.core.signing.TimestampSigner", False),
    ("django.core.signing.Signer", False),
)
DJANGO_COOKIE_KEY_PREFIX = b"django.http.cookies"


@dataclass(frozen=True)
class Scheme:
    """One way the signature may have been made; ``signature == mac(derive(secret), message)``.

    derivation:
      - ``hmac``:   derived = HMAC(secret, derive_data, derive_digest)  (Flask sessions)
      - ``concat``: derived = H(derive_data + secret)                   (itsdangerous
        ``django-concat``, Django ``salted_hmac``)
      - ``none``:   derived = secret                                    (JWT, Flask-Login)
    """

    name: str
    derivation: Derivation
    derive_digest: str
    derive_data: bytes
    digest: str
    message: bytes
    signature: bytes
    salt: str | None = None

    def derive(self, secret: bytes) -> bytes:
        """The HMAC key this scheme uses for ``secret``."""
        if self.derivation == "hmac":
            return hmac.digest(secret, self.derive_data, self.derive_digest)
        if self.derivation == "concat":
            return hashlib.new(self.derive_digest, self.derive_data + secret).digest()
        return secret

    def sign(self, secret: bytes, message: bytes) -> bytes:
        """Raw signature of ``message`` under ``secret``."""
        return hmac.digest(self.derive(secret), message, self.digest)

    def verify(self, secret: bytes) -> bool:
        """True when ``secret`` produced this scheme's signature."""
        return hmac.compare_digest(self.sign(secret, self.message), self.signature)


def itsdangerous_scheme(
    salt: str, derivation: Literal["hmac", "django-concat"], digest: str, message: bytes,
    signature: bytes, label: str | None = None,
) -> Scheme:
    """An itsdangerous ``Signer`` with ``salt``, key derivation and digest method."""
    data = salt.encode() if derivation == "hmac" else salt.encode() + b"signer"
    kind: Derivation = "hmac" if derivation == "hmac" else "concat"
    name = label or f"itsdangerous salt {salt!r}, {derivation} key derivation, {digest}"
    return Scheme(name, kind, digest, data, digest, message, signature, salt)


def flask_session_scheme(message: bytes, signature: bytes, digest: str = "sha1") -> Scheme:
    """Flask's session cookie signer: salt ``cookie-session``, HMAC derivation, SHA-1."""
    return itsdangerous_scheme(
        FLASK_SESSION_SALT, "hmac", digest, message, signature,
        label=f"Flask session (salt 'cookie-session', hmac key derivation, {digest})",
    )


def itsdangerous_schemes(
    salts: Sequence[str], digest: str, message: bytes, signature: bytes, *, both: bool = False
) -> list[Scheme]:
    """Schemes for each salt: ``cookie-session`` with HMAC derivation, others with
    itsdangerous' default ``django-concat`` (``both`` tries both derivations for every salt)."""
    out: list[Scheme] = []
    for salt in salts:
        if salt == FLASK_SESSION_SALT and not both:
            out.append(flask_session_scheme(message, signature, digest))
            continue
        if both:
            out.append(itsdangerous_scheme(salt, "hmac", digest, message, signature))
        out.append(itsdangerous_scheme(salt, "django-concat", digest, message, signature))
    return out


def django_scheme(
    salt: str, cookie_signer: bool, digest: str, message: bytes, signature: bytes
) -> Scheme:
    """Django ``Signer``: key = H(salt + "signer" [+ "django.http.cookies"] + SECRET_KEY)."""
    prefix = salt.encode() + b"signer" + (DJANGO_COOKIE_KEY_PREFIX if cookie_signer else b"")
    how = "cookie signer" if cookie_signer else "signer"
    name = f"Django {how}, salt {salt!r}, {digest}"
    return Scheme(name, "concat", digest, prefix, digest, message, signature, salt)


def plain_hmac_scheme(name: str, digest: str, message: bytes, signature: bytes) -> Scheme:
    """Signature = HMAC(secret, message) with no key derivation (JWT HS*, Flask-Login)."""
    return Scheme(name, "none", digest, b"", digest, message, signature)
