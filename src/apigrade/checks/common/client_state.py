"""Unsigned session state kept by the client: decode a cookie value, find its identity
fields, and forge another identity in the same encoding.

A value counts as *client state* when it decodes, with no key, to a mapping (plain JSON,
URL-encoded JSON, base64/base64url JSON, ``a=1&b=2`` pairs, possibly base64-wrapped) or
when the cookie's own name is an identity field with a short plain value (``role=user``).
Signed shapes are never client state: Flask/itsdangerous, Django signing and JWT
(``apigrade.crack.parse_token``), Rails signed/encrypted cookies (``data--digest``),
cookie-session's ``NAME.sig`` sibling, and mappings that carry their own signature field.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

from apigrade import rx
from apigrade.crack import parse_token

MAX_VALUE = 4096
#: identity fields: who the caller is
_IDENTITY = rx.compile(
    r"^(?:user|user_?name|user_?id|uid|login|e_?mail|account|account_?id|sub|"
    r"customer_?id|member_?id)$",
    rx.I,
)
#: privilege fields: what the caller may do
_PRIVILEGE = rx.compile(
    r"^(?:role|roles|user_?role|is_?admin|admin|is_?staff|is_?superuser|superuser|is_?root|"
    r"permissions?|privileges?|user_?type|account_?type|access_?level|user_?level|"
    r"is_?authenticated|authenticated|is_?logged_?in|logged_?in)$",
    rx.I,
)
_SIGNATURE_FIELD = rx.compile(r"^(?:sig|signature|hmac|mac|hash|digest)$", rx.I)
_RAILS = rx.compile(r"^[A-Za-z0-9+/=%_-]{8,}--[A-Za-z0-9+/=%_-]{20,}$")
_B64 = rx.compile(r"^[A-Za-z0-9+/_-]{8,}={0,2}$")
_SCALAR = rx.compile(r"^[\w@.+-]{1,40}$")
#: a random-looking id (a session key, not a name): long and mixed letters and digits
_OPAQUE = rx.compile(r"^(?:[A-Za-z]+[0-9]|[0-9]+[A-Za-z])[\w-]{14,}$")
_TRUE = {"true": "false", "1": "0", "yes": "no", "on": "off", "y": "n", "t": "f"}


@dataclass(frozen=True)
class ClientState:
    """A cookie value decoded without a key."""

    encoding: str  # "json", "url-encoded json", "base64 json", "pairs", "base64 pairs", "plain"
    data: dict[str, Any]  # the decoded mapping ({name: value} for a plain cookie)
    identity: tuple[str, ...]  # identity field names found (top level or one below)
    privilege: tuple[str, ...]  # privilege field names found

    @property
    def fields(self) -> tuple[str, ...]:
        return self.privilege + self.identity


def _b64(text: str) -> bytes | None:
    if not _B64.match(text):
        return None
    padded = text.replace("-", "+").replace("_", "/").rstrip("=")
    padded += "=" * (-len(padded) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _mapping(text: str) -> tuple[str, dict[str, Any]] | None:
    """("json"|"pairs", mapping) when ``text`` is a JSON object or ``k=v&k=v`` pairs."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return ("json", data) if isinstance(data, dict) else None
    if "=" in text and _SCALAR.match(text.split("=", 1)[0]):
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=50)
        if pairs and all(_SCALAR.match(k) for k, _ in pairs):
            return "pairs", dict(pairs)
    return None


def _decodings(value: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every way ``value`` reads as a mapping without a key, most direct first."""
    found = _mapping(value)
    if found:
        yield found
    if "%" in value:
        found = _mapping(unquote(value))
        if found:
            yield f"url-encoded {found[0]}", found[1]
    raw = _b64(unquote(value))
    if raw is None:
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    found = _mapping(text) or _mapping(unquote(text))
    if found:
        yield f"base64 {found[0]}", found[1]


def _names(data: dict[str, Any], pattern: rx.Pattern) -> tuple[str, ...]:
    out = [k for k, v in data.items() if pattern.match(str(k)) and _scalar(v)]
    for k, v in data.items():
        if isinstance(v, dict):
            out += [f"{k}.{n}" for n, w in v.items() if pattern.match(str(n)) and _scalar(w)]
    return tuple(out[:8])


def _scalar(v: Any) -> bool:
    return v is not None and v != "" and (isinstance(v, str | int | float | bool) or (
        isinstance(v, list) and all(isinstance(x, str) for x in v)))  # fmt: skip


def signed_shape(name: str, value: str, siblings: frozenset[str] = frozenset()) -> bool:
    """A value a key protects (or that a sibling ``NAME.sig`` cookie signs)."""
    if f"{name}.sig".lower() in siblings or f"{name}.sig" in siblings:
        return True
    return parse_token(value, name=name) is not None or bool(_RAILS.match(value))


def unslash(value: str) -> str:
    """A cookie value as the app meant it: RFC 2109 quoting undone (``\\"``, ``\\054``)."""
    if "\\" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        octal = value[i + 1 : i + 4]
        if ch == "\\" and len(octal) == 3 and all(c in "01234567" for c in octal):
            out.append(chr(int(octal, 8)))
            i += 4
        elif ch == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


_COOKIE_SAFE = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~:/?=@[]{}<>()"
)


def wire(value: str) -> str:
    """``value`` ready for a Cookie header: quoted and escaped (the way Werkzeug and
    Python's http.cookies write it) when it holds characters a bare cookie cannot."""
    if all(c in _COOKIE_SAFE for c in value):
        return value
    body = "".join(
        c if c in _COOKIE_SAFE or c == " " else "\\" + c if c in '"\\' else f"\\{ord(c):03o}"
        for c in value
    )
    return f'"{body}"'


def decode_state(
    name: str, value: str, siblings: frozenset[str] = frozenset()
) -> ClientState | None:
    """The unsigned client state in a cookie, or None (signed, opaque, or nothing to trust)."""
    value = unslash(value.strip().strip('"'))
    if not value or len(value) > MAX_VALUE or signed_shape(name, value, siblings):
        return None
    for encoding, data in _decodings(value):
        if any(_SIGNATURE_FIELD.match(str(k)) for k in data):
            return None
        state = ClientState(encoding, data, _names(data, _IDENTITY), _names(data, _PRIVILEGE))
        if state.fields:
            return state
    # a plain cookie named like the field it carries: role=user, is_admin=false, uid=7
    plain = unquote(value)
    if not _SCALAR.match(plain) or _OPAQUE.match(plain) or len(plain) > 24:
        return None
    if _PRIVILEGE.match(name):
        return ClientState("plain", {name: plain}, (), (name,))
    if _IDENTITY.match(name):
        return ClientState("plain", {name: plain}, (name,), ())
    return None


# -- forging another identity ----------------------------------------------------------


def _other(field: str, value: Any) -> Any | None:
    """A more privileged / different identity for one field, in the same type."""
    low = field.rsplit(".", 1)[-1].lower()
    if isinstance(value, bool):
        return None if value else True
    if isinstance(value, int | float):
        if _PRIVILEGE.match(low):
            return None if value else 1
        return 1 if value != 1 else 2
    if isinstance(value, list):
        return None if "admin" in value else [*value, "admin"]
    text = str(value)
    if text.lower() in _TRUE.values() and _PRIVILEGE.match(low):
        flip = {v: k for k, v in _TRUE.items()}[text.lower()]
        return flip.upper() if text.isupper() else flip.capitalize() if text[:1].isupper() else flip
    if text.isdigit():
        return "1" if text != "1" else "2"
    if "@" in text and "mail" in low:
        return "admin@" + text.split("@", 1)[1]
    if text.lower() in _TRUE:
        return None  # already true / yes
    return None if text.lower() == "admin" else "admin"


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = dict(data)
    head, _, rest = path.partition(".")
    if rest:
        out[head] = _set(dict(out[head]), rest, value)
    else:
        out[head] = value
    return out


def _get(data: dict[str, Any], path: str) -> Any:
    head, _, rest = path.partition(".")
    return _get(data[head], rest) if rest else data[head]


def _encode(encoding: str, data: dict[str, Any]) -> str:
    if encoding.endswith("json"):
        text = json.dumps(data, separators=(",", ":"))
    else:
        text = urlencode({k: str(v) for k, v in data.items()})
    if encoding.startswith("base64"):
        return base64.b64encode(text.encode()).decode()
    if encoding.startswith("url-encoded"):
        return quote(text, safe="")
    return text


@dataclass(frozen=True)
class Forgery:
    """One forged value: which field changed, from what to what."""

    field: str
    old: str
    new: str
    value: str  # the whole cookie value, encoded like the original


def forgeries(state: ClientState, limit: int = 2) -> list[Forgery]:
    """Up to ``limit`` forged values: privilege fields first, then identity fields."""
    out = []
    for field in state.fields:
        old = _get(state.data, field)
        new = _other(field, old)
        if new is None:
            continue
        if state.encoding == "plain":
            value = quote(str(new), safe="@.+-_")
        else:
            value = _encode(state.encoding, _set(state.data, field, new))
        out.append(Forgery(field, _show(old), _show(new), value))
        if len(out) >= limit:
            break
    return out


def _show(v: Any) -> str:
    return json.dumps(v) if not isinstance(v, str) else v
