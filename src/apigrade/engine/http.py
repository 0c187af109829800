"""Typed value objects: the probe a check asks for, and the exchange it gets back."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Probe:
    """One request a check asks the engine to send.

    ``raw_target`` is sent on the request line byte for byte (no dot-segment or
    percent normalisation); ``url`` still names the origin.
    """

    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    raw_target: str | None = None
    follow_redirects: bool = True
    #: send without the user's own -H headers and -b cookies (an unauthenticated caller)
    anonymous: bool = False

    def key(self) -> tuple[object, ...]:
        """Identity used by the response cache."""
        return (
            self.method.upper(),
            self.url,
            self.raw_target,
            tuple(sorted((k.lower(), v) for k, v in self.headers)),
            self.body,
            self.follow_redirects,
            self.anonymous,
        )

    @property
    def display_url(self) -> str:
        """The URL as the server saw it (raw target where one was given)."""
        if self.raw_target is None:
            return self.url
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}{self.raw_target}"


@dataclass(frozen=True)
class SetCookie:
    """One parsed Set-Cookie header."""

    name: str
    value: str
    attrs: dict[str, str]
    raw: str

    def has(self, attr: str) -> bool:
        return attr.lower() in self.attrs

    def get(self, attr: str) -> str | None:
        return self.attrs.get(attr.lower())


def parse_set_cookie(raw: str) -> SetCookie | None:
    """Parse one Set-Cookie value leniently; None when it names no cookie."""
    parts = raw.split(";")
    name, sep, value = parts[0].partition("=")
    name = name.strip()
    if not sep or not name:
        return None
    attrs: dict[str, str] = {}
    for piece in parts[1:]:
        k, _, v = piece.partition("=")
        k = k.strip().lower()
        if k:
            attrs[k] = v.strip()
    return SetCookie(name=name, value=value.strip().strip('"'), attrs=attrs, raw=raw)


@dataclass(frozen=True)
class Response:
    """What came back, capped: ``body`` holds at most the engine's body cap."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    truncated: bool = False
    http_version: str = "HTTP/1.1"
    elapsed: float = 0.0

    def header(self, name: str) -> str | None:
        """The first value of a header, case-insensitively."""
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    @cached_property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @cached_property
    def text(self) -> str:
        """The body decoded leniently (charset from Content-Type, else UTF-8)."""
        charset = "utf-8"
        ctype = self.header("content-type") or ""
        for piece in ctype.split(";")[1:]:
            k, _, v = piece.partition("=")
            if k.strip().lower() == "charset" and v.strip():
                charset = v.strip().strip('"')
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    @cached_property
    def cookies(self) -> list[SetCookie]:
        out = []
        for raw in self.header_all("set-cookie"):
            parsed = parse_set_cookie(raw)
            if parsed is not None:
                out.append(parsed)
        return out


@dataclass(frozen=True)
class Exchange:
    """A probe and its final response (after in-scope redirects)."""

    probe: Probe
    response: Response
    url: str
    redirects: tuple[str, ...] = field(default=())

    @property
    def status(self) -> int:
        return self.response.status

    def trimmed(self, limit: int) -> Exchange:
        """This exchange with at most ``limit`` body bytes (marked truncated)."""
        if len(self.response.body) <= limit:
            return self
        resp = replace(self.response, body=self.response.body[:limit], truncated=True)
        return replace(self, response=resp)

    @property
    def text(self) -> str:
        return self.response.text


def request_cookies(header: str) -> dict[str, str]:
    """Parse a Cookie request header ("a=1; b=2")."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # noqa: BLE001 - lenient by design
        out = {}
        for piece in header.split(";"):
            k, sep, v = piece.partition("=")
            if sep and k.strip():
                out[k.strip()] = v.strip()
        return out
    return {k: m.value for k, m in jar.items()}
