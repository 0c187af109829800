"""Masking secrets: every value the user supplies, and keys found on the target.

Every value the user gives is a secret, whatever its header's name: each ``-H`` value
(and the credential after a scheme such as ``Bearer``; for ``Basic`` also the decoded
``user:password`` and the password), each ``-b`` cookie value, ``--identity`` headers,
and the userinfo of any URL (target, ``--spec``). The only exception is the handful of
content-negotiation headers in :data:`PUBLIC_HEADERS`, whose values are public vocabulary
(``application/json``) and would otherwise be masked all over every report.

Values shorter than :data:`MIN_SECRET_LEN` characters are not masked in free text: they
carry no entropy worth hiding and masking them would mangle every report (``-H 'X: 1'``
would mask every ``1``). They are still never echoed by apigrade's own messages and never
stored (stored options keep header and cookie *names* only).

Masks are applied before formatting: :func:`describe_error` is the one way to turn an
exception into text (type and redacted message, never its ``repr``).
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus, unquote, urlsplit

from apigrade import rx

if TYPE_CHECKING:
    from apigrade.scan_options import ScanOptions

#: Shortest value masked in free text (see the module docstring).
MIN_SECRET_LEN = 4
#: A cut piece of a longer secret (its start or its end) this long is masked too.
PARTIAL_MIN = 8
#: Headers whose values are public vocabulary (media types, encodings, languages).
PUBLIC_HEADERS = frozenset({"accept", "accept-encoding", "accept-language", "content-type"})
#: Longest exception message kept by :func:`describe_error` before redaction.
_MESSAGE_CAP = 2000
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9_.+-]{0,31}")
# scheme://userinfo@ inside free text (exception messages may quote a target: RE2)
_URL_USERINFO = rx.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,31}://)[^/\s@'\"<>]{1,512}@")


def mask(secret: str) -> str:
    """Keep the first and last character: 'hunter2' -> 'h*****2'."""
    if len(secret) <= 2:
        return "*" * len(secret)
    return secret[0] + "*" * min(len(secret) - 2, 12) + secret[-1]


# -- what counts as a secret ------------------------------------------------------------
def basic_pieces(credential: str) -> list[str]:
    """The decoded ``user:password`` of a Basic credential, and the password alone.

    The user name alone is not a secret: masking it (``admin``) would mangle every path
    and word that contains it.
    """
    try:
        text = base64.b64decode(credential.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return []
    _user, sep, password = text.partition(":")
    return [text, password] if sep else [text]


def header_secrets(name: str, value: str) -> list[str]:
    """The secret strings of one header: its value, the credential after a scheme, and
    for ``Basic`` the decoded pieces; cookie values for a ``Cookie`` header."""
    name, value = name.strip().lower(), value.strip()
    if name in PUBLIC_HEADERS or not value:
        return []
    out = [value]
    scheme, sep, cred = value.partition(" ")
    if sep and _SCHEME.fullmatch(scheme) and cred.strip():
        out.append(cred.strip())
        if scheme.lower() == "basic":
            out += basic_pieces(cred)
    if name == "cookie":
        out += cookie_secrets(value)
    return out


def cookie_secrets(raw: str | None) -> list[str]:
    """Every value of a ``name=value; name2=value2`` cookie string (a piece without
    ``=`` as a whole). Names stay readable: reports say which cookie leaked."""
    out: list[str] = []
    for piece in (raw or "").split(";"):
        _name, sep, val = piece.partition("=")
        val = val.strip() if sep else piece.strip()
        out.append(val)
        if len(val) > 1 and val[0] == val[-1] == '"':
            out.append(val[1:-1])  # a quoted cookie value comes back unquoted
    return [v for v in out if v]


def url_secrets(url: str | None) -> list[str]:
    """The userinfo of a URL: as written, decoded, the password, and the Basic credential
    an HTTP client derives from it."""
    if not url or "@" not in url:
        return []
    try:
        userinfo = urlsplit(url.strip()).netloc.rpartition("@")[0]
    except ValueError:
        userinfo = url.split("://", 1)[-1].split("/", 1)[0].rpartition("@")[0]
    if not userinfo:
        return []
    user, sep, password = userinfo.partition(":")
    plain = f"{unquote(user)}:{unquote(password)}" if sep else unquote(userinfo)
    out = [userinfo, plain, base64.b64encode(plain.encode("utf-8")).decode("ascii")]
    if sep:
        out += [password, unquote(password)]
    return out


def scan_secrets(options: ScanOptions, target_url: str | None = None) -> list[str]:
    """Every secret string of a scan's options: -H, -b, identities, URL userinfo."""
    headers = [*options.headers, *(h for hs in options.identities.values() for h in hs)]
    values = [s for name, value in headers for s in header_secrets(name, value)]
    values += cookie_secrets(options.cookie)
    return values + url_secrets(options.spec) + url_secrets(target_url)


def strip_userinfo(url: str) -> str:
    """The URL with any ``user:password@`` replaced by ``***@`` (for messages and rows)."""
    return _URL_USERINFO.sub(lambda m: str(m.group(1)) + "***@", url)


def shown_url(url: str, marker: str = "***@") -> str:
    """A user-given URL safe to print: any userinfo (even without a scheme) becomes
    ``marker`` (``""`` drops it: the URL to store)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        authority = marker + authority.rpartition("@")[2]
    return (scheme + sep if sep else "") + authority + tail


def _variants(secret: str) -> set[str]:
    """The spellings a secret takes when a target or a formatter reflects it."""
    forms = {
        secret,
        unquote(secret),  # a percent-encoded value, decoded by the target
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        html.escape(secret),
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "backslashreplace"))[2:-1],
    }
    return {f for f in forms if len(f) >= MIN_SECRET_LEN}


#: Header names that carry a credential: for *reporting* an echo (every value is masked).
_CREDENTIAL_NAMES = ("auth", "token", "key", "secret", "pass", "session", "cookie", "cred",
                     "signature", "jwt", "sid")  # fmt: skip


def credential_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers whose name says they carry a credential (``Authorization``,
    ``X-Client-Secret``, ``apikey``…). Masking covers every header; this narrower set is
    for checks that *report* a reflected credential, where ``Accept: …`` or
    ``X-Requested-With: XMLHttpRequest`` found in a page would be a false alarm."""
    return [(n, v) for n, v in headers if any(w in n.lower() for w in _CREDENTIAL_NAMES)]


# -- the redactor -------------------------------------------------------------------------
@dataclass(frozen=True)
class Redactor:
    """Replaces every known secret value in a text by its mask."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> Redactor:
        """A redactor for these secret strings (and their reflected spellings)."""
        forms: set[str] = set()
        for value in values:
            if value and len(value.strip()) >= MIN_SECRET_LEN:
                forms |= _variants(value.strip())
        return cls(tuple(sorted(forms, key=lambda s: (-len(s), s))))

    @classmethod
    def for_options(
        cls,
        headers: Iterable[tuple[str, str]],
        cookie: str | None,
        urls: Iterable[str | None] = (),
    ) -> Redactor:
        """Every header value, cookie value and URL userinfo the user supplied."""
        values = [s for name, value in headers for s in header_secrets(name, value)]
        values += cookie_secrets(cookie)
        values += [s for url in urls for s in url_secrets(url)]
        return cls.of(values)

    @classmethod
    def for_scan(cls, options: ScanOptions, target_url: str | None = None) -> Redactor:
        """The redactor of one scan: -H, -b, identities, the spec's and target's userinfo."""
        return cls.of(scan_secrets(options, target_url))

    def merged(self, other: Redactor) -> Redactor:
        forms = set(self.secrets) | set(other.secrets)
        return Redactor(tuple(sorted(forms, key=lambda s: (-len(s), s))))

    def text(self, text: str) -> str:
        """Mask every secret, then every cut piece of one (a check that shortened a quote
        before it reached the redactor leaves ``…SECRETVAL`` or ``SECRETVA…``)."""
        for s in self.secrets:
            if s in text:
                text = text.replace(s, mask(s))
        for s in self.secrets:
            if len(s) > PARTIAL_MIN:
                text = _mask_pieces(text, s)
        return text


def _mask_pieces(text: str, secret: str) -> str:
    """Mask each run of ``text`` that is a prefix or a suffix of ``secret`` of at least
    PARTIAL_MIN characters (linear: each run is found by its first or last characters)."""
    head, tail = secret[:PARTIAL_MIN], secret[-PARTIAL_MIN:]
    if head not in text and tail not in text:
        return text
    spans: list[tuple[int, int]] = []
    at = text.find(head)
    while at >= 0:
        end = at + PARTIAL_MIN
        while end < len(text) and end - at < len(secret) and text[end] == secret[end - at]:
            end += 1
        spans.append((at, end))
        at = text.find(head, end)
    at = text.find(tail)
    while at >= 0:
        start, end = at, at + PARTIAL_MIN
        k = len(secret) - PARTIAL_MIN  # secret index of text[start]
        while start > 0 and k > 0 and text[start - 1] == secret[k - 1]:
            start, k = start - 1, k - 1
        spans.append((start, end))
        at = text.find(tail, end)
    out, last = [], 0
    for start, end in sorted(spans):
        start = max(start, last)
        if start >= end:
            continue
        out += [text[last:start], mask(text[start:end])]
        last = end
    return "".join(out) + text[last:]


# -- every secret this process was given ------------------------------------------------
_SEEN: deque[str] = deque(maxlen=1024)
_SEEN_LOCK = threading.Lock()
_CACHE: list[Redactor] = []  # the redactor of _SEEN, rebuilt after a change


def remember(values: Iterable[str]) -> None:
    """Note secrets as they are read (header parser, scans), for messages that have no
    scan at hand (the command line's last-resort error handler). Bounded: the oldest go."""
    with _SEEN_LOCK:
        for value in values:
            if value and len(value.strip()) >= MIN_SECRET_LEN and value not in _SEEN:
                _SEEN.append(value)
                _CACHE.clear()


def remembered() -> Redactor:
    """A redactor for every secret :func:`remember` was given (the newest 1024)."""
    with _SEEN_LOCK:
        if not _CACHE:
            _CACHE.append(Redactor.of(_SEEN))
        return _CACHE[0]


def redact_text(text: str, redactor: Redactor | None = None) -> str:
    """``text`` with the scan's (or else every remembered) secret and URL userinfo masked."""
    red = remembered() if redactor is None else redactor.merged(remembered())
    return strip_userinfo(red.text(text)) if "@" in text else red.text(text)


def describe_error(exc: BaseException, redactor: Redactor | None = None, limit: int = 300) -> str:
    """One safe line for an exception: its type and redacted message, never its ``repr``.

    Unicode errors carry the whole offending value in their arguments, so only their
    reason is kept. The message is masked before it is flattened and shortened.
    """
    from apigrade.report.escape import one_line

    name = type(exc).__name__
    if isinstance(exc, UnicodeError):
        message = str(getattr(exc, "reason", "")) or "bad text"
    else:
        try:
            message = str(exc)
        except Exception:  # noqa: BLE001 - a broken __str__ must not hide the error
            message = ""
    message = redact_text(message[:_MESSAGE_CAP], redactor)
    return one_line(f"{name}: {message}" if message.strip() else name, limit)
