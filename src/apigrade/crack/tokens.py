"""Recognise and decode signed cookies and tokens: itsdangerous (Flask session, Flask-WTF),
Django ``signing``, JWT HS256/384/512 and Flask-Login remember cookies."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from apigrade import rx
from apigrade.crack import schemes as sch
from apigrade.crack.schemes import Scheme

#: itsdangerous < 1.0 counted timestamps from 2011-01-01 instead of the Unix epoch.
LEGACY_EPOCH = 1293840000
#: Largest decompressed payload we decode (a cookie is at most ~4 KiB compressed).
MAX_PAYLOAD = 1 << 20
MAX_TOKEN = 16 * 1024

_B64URL = rx.compile(r"^[A-Za-z0-9_-]*$")
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_COOKIE_NAME = rx.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_HEX40 = rx.compile(r"^[0-9a-f]{40}$")
_LOGIN = rx.compile(r"^(.*)\|([0-9a-fA-F]{128})$", rx.S)
_HS = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}
STARLETTE_SESSION = "Starlette session cookie"


class TokenKind(StrEnum):
    """Format family of a signed artefact."""

    ITSDANGEROUS = "itsdangerous"
    DJANGO = "django"
    JWT = "jwt"
    FLASK_LOGIN = "flask-login"


@dataclass(frozen=True)
class SignedToken:
    """A decoded signed artefact, with the ``schemes`` that can check a secret offline."""

    kind: TokenKind
    label: str
    raw: str
    payload: Any = field(compare=False)
    payload_bytes: bytes
    schemes: tuple[Scheme, ...]
    name: str | None = None
    compressed: bool = False
    timestamp: datetime | None = None
    legacy_epoch: bool = False
    header: dict[str, Any] | None = field(default=None, compare=False)
    algorithm: str = "sha1"
    #: payload in standard, padded base64 of ``json.dumps`` (Starlette's SessionMiddleware)
    standard_b64: bool = False

    @property
    def pickled(self) -> bool:
        """True when the payload is a pickle (loading a forged one runs code)."""
        return looks_like_pickle(self.payload_bytes)


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; raises ValueError on bad input."""
    if not _B64URL.match(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError(str(exc)) from None


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b62_decode(text: str) -> int:
    """Django's base62 (digits, upper, lower)."""
    value = 0
    for ch in text:
        value = value * 62 + _B62.index(ch)
    return value


def b62_encode(value: int) -> str:
    """Inverse of :func:`b62_decode` for non-negative integers."""
    out = ""
    while True:
        value, rem = divmod(value, 62)
        out = _B62[rem] + out
        if not value:
            return out


def looks_like_pickle(value: str | bytes) -> bool:
    """True for raw pickle bytes (protocol 2-5) or base64 / base64url text decoding to them."""
    if isinstance(value, bytes) and value[:1] == b"\x80" and value[1:2] in b"\x02\x03\x04\x05":
        return len(value) > 2
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip().lstrip(".")
    # b"\x80\x02".."\x80\x05" in base64 is "gA" then one of I-X ("gAJ", "gAN", "gAS", ...)
    if len(text) < 4 or not text.startswith("gA") or not "I" <= text[2] <= "X":
        return False
    head = text[:64].rstrip("=")
    head = head[: len(head) - len(head) % 4]
    try:
        raw = base64.b64decode(head.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return False
    return raw[:1] == b"\x80" and raw[1:2] in b"\x02\x03\x04\x05"


def split_cookie(text: str) -> tuple[str | None, str]:
    """``"session=abc; Path=/"`` or ``"Cookie: session=abc"`` -> ``("session", "abc")``;
    a bare value -> ``(None, value)``."""
    text = text.strip()
    for prefix in ("set-cookie:", "cookie:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix):].strip()
    first = text.split(";", 1)[0].strip()
    name, sep, value = first.partition("=")
    if sep and _COOKIE_NAME.match(name) and value and "=" not in value.rstrip("="):
        return name, value.strip().strip('"')
    return None, first.strip('"')


def _decode_payload(segment: str) -> tuple[bytes, bool]:
    """base64url payload, zlib-inflated when it starts with '.'."""
    compressed = segment.startswith(".")
    raw = b64url_decode(segment[1:] if compressed else segment)
    if compressed:
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(raw, MAX_PAYLOAD)
        except zlib.error as exc:
            raise ValueError(str(exc)) from None
    return raw, compressed


def _as_json(raw: bytes) -> Any:
    """The JSON value in ``raw``, or ``raw`` itself when it is not JSON."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return raw


def _ts(seconds: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def itsdangerous_time(raw: bytes) -> tuple[datetime | None, bool]:
    """Decode an itsdangerous timestamp; values before 2011 are read as legacy-epoch ones."""
    seconds = int.from_bytes(raw, "big")
    if seconds < LEGACY_EPOCH:
        return _ts(seconds + LEGACY_EPOCH), True
    return _ts(seconds), False


def _parse_jwt(value: str) -> SignedToken | None:
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].startswith("eyJ"):
        return None
    try:
        header = json.loads(b64url_decode(parts[0]))
        body = b64url_decode(parts[1])
        sig = b64url_decode(parts[2])
    except ValueError:
        return None
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        return None
    digest = _HS.get(header["alg"])
    if digest is None or len(sig) != hashlib.new(digest).digest_size:
        return None  # not an HMAC-signed JWT: nothing to crack
    msg = f"{parts[0]}.{parts[1]}".encode()
    scheme = sch.plain_hmac_scheme(f"JWT {header['alg']}", digest, msg, sig)
    return SignedToken(
        TokenKind.JWT, f"JWT ({header['alg']})", value, _as_json(body), body, (scheme,),
        header=header, algorithm=header["alg"],
    )


def _parse_flask_login(value: str, name: str | None) -> SignedToken | None:
    if "%7C" in value or "%7c" in value:
        value = unquote(value)
    m = _LOGIN.match(value)
    if not m:
        return None
    user_id = m.group(1)
    sig = bytes.fromhex(m.group(2))
    scheme = sch.plain_hmac_scheme("Flask-Login remember cookie, HMAC-SHA512", "sha512",
                                   user_id.encode(), sig)
    return SignedToken(TokenKind.FLASK_LOGIN, "Flask-Login remember cookie", value, user_id,
                       user_id.encode(), (scheme,), name=name, algorithm="sha512")


def _django_schemes(
    name: str | None, salts: Sequence[str] | None, digest: str, msg: bytes, sig: bytes
) -> list[Scheme]:
    pairs: list[tuple[str, bool]]
    if salts is not None:
        pairs = [(s, c) for s in salts for c in (False, True)]
        if name:
            pairs += [(name + s, True) for s in salts]
    elif name == "sessionid":
        pairs = [sch.DJANGO_SALTS[0]]
    elif name == "messages":
        pairs = [sch.DJANGO_SALTS[2]]
    else:
        pairs = list(sch.DJANGO_SALTS) + ([(name, True)] if name else [])
    return [sch.django_scheme(s, c, digest, msg, sig) for s, c in pairs]


def _parse_django(value: str, name: str | None, salts: Sequence[str] | None) -> SignedToken | None:
    if ":" not in value:
        return None
    signed, _, sig_text = value.rpartition(":")
    try:
        sig = b64url_decode(sig_text)
    except ValueError:
        return None
    digest = sch.DIGEST_BY_SIZE.get(len(sig))
    if digest is None or not sig_text or len(sig_text) != len(b64url_encode(sig)):
        return None
    body, _, ts_text = signed.rpartition(":")
    timestamp = None
    if body and ts_text and ts_text.isalnum() and ts_text.isascii() and len(ts_text) <= 8:
        timestamp = _ts(b62_decode(ts_text))
    else:
        body = signed
    payload: Any = body
    payload_bytes = body.encode()
    compressed = False
    try:
        decoded, compressed = _decode_payload(body)
        as_json = _as_json(decoded)
        if not isinstance(as_json, bytes) or compressed:
            payload, payload_bytes = as_json, decoded
    except ValueError:
        pass
    label = "Django signed cookie" if name != "sessionid" else "Django signed-cookie session"
    return SignedToken(
        TokenKind.DJANGO, label, value, payload, payload_bytes,
        tuple(_django_schemes(name, salts, digest, signed.encode(), sig)),
        name=name, compressed=compressed, timestamp=timestamp, algorithm=digest,
    )


def _itsdangerous_schemes(
    payload: Any, timed: bool, salts: Sequence[str] | None, digest: str, msg: bytes,
    sig: bytes,
) -> tuple[str, list[Scheme]]:
    if salts is not None:
        return "itsdangerous token", sch.itsdangerous_schemes(salts, digest, msg, sig, both=True)
    if isinstance(payload, dict) and timed:  # what Flask's session interface writes
        return "Flask session cookie", [sch.flask_session_scheme(msg, sig, digest)]
    if isinstance(payload, str) and _HEX40.match(payload):
        scheme = sch.itsdangerous_scheme(sch.WTF_CSRF_SALT, "django-concat", digest, msg, sig)
        return "Flask-WTF CSRF token", [scheme]
    all_salts = (sch.FLASK_SESSION_SALT, *sch.COMMON_SALTS)
    return "itsdangerous token", sch.itsdangerous_schemes(all_salts, digest, msg, sig)


def _parse_itsdangerous(
    value: str, name: str | None, salts: Sequence[str] | None
) -> SignedToken | None:
    rest, dot, sig_text = value.rpartition(".")
    if not dot or not rest:
        return None
    try:
        sig = b64url_decode(sig_text)
    except ValueError:
        return None
    digest = sch.DIGEST_BY_SIZE.get(len(sig))
    if digest is None:
        return None
    payload_text, dot, ts_text = rest.rpartition(".")
    ts_raw = b""
    if dot and payload_text.strip("."):
        try:
            ts_raw = b64url_decode(ts_text)
        except ValueError:
            ts_raw = b""
    if not 0 < len(ts_raw) <= 8:
        payload_text, ts_raw = rest, b""  # untimed: "payload.signature"
    starlette = _starlette_payload(payload_text) if ts_raw else None
    try:
        raw, compressed = (starlette, False) if starlette else _decode_payload(payload_text)
    except ValueError:
        return None
    if not raw:
        return None
    timestamp, legacy = itsdangerous_time(ts_raw) if ts_raw else (None, False)
    payload = _as_json(raw)
    if starlette is not None and salts is None:
        label, found = STARLETTE_SESSION, [sch.itsdangerous_scheme(
            sch.ITSDANGEROUS_SALT, "django-concat", digest, rest.encode(), sig)]
    else:
        label, found = _itsdangerous_schemes(
            payload, bool(ts_raw), salts, digest, rest.encode(), sig)
    return SignedToken(
        TokenKind.ITSDANGEROUS, label, value, payload, raw, tuple(found), name=name,
        compressed=compressed, timestamp=timestamp, legacy_epoch=legacy, algorithm=digest,
        standard_b64=starlette is not None,
    )


def _starlette_payload(text: str) -> bytes | None:
    """The JSON a Starlette session cookie carries: ``b64encode(json.dumps(session))``
    (standard alphabet, padded, ``": "`` separators; Flask writes compact base64url)."""
    if text.startswith(".") or len(text) % 4:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(b"{") or (b'": ' not in raw and raw != b"{}"):
        return None
    return raw if isinstance(_as_json(raw), dict) else None


def parse_token(
    value: str, *, name: str | None = None, salts: Sequence[str] | None = None
) -> SignedToken | None:
    """Recognise a signed cookie value or token; None when it is none of the known formats.

    ``name`` is the cookie name when known (Django signed cookies use it as salt, and
    ``sessionid`` / ``messages`` pin Django's own salts). ``salts`` overrides the guessed
    itsdangerous / Django salts (every salt is then tried with every key derivation).
    A Flask session cookie (timed, JSON object payload) is checked with Flask's salt only;
    itsdangerous tokens of unknown purpose are checked with :data:`COMMON_SALTS`.
    """
    value = value.strip().strip('"')
    if not value or len(value) > MAX_TOKEN:
        return None
    return (
        _parse_jwt(value)
        or _parse_flask_login(value, name)
        or _parse_django(value, name, salts)
        or _parse_itsdangerous(value, name, salts)
    )
