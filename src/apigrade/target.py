"""The scan target and its scope (a URL value: no I/O, used by the engine and the store)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

from apigrade.errors import UsageError
from apigrade.redact import shown_url

#: An origin as (scheme, host, port).
Origin = tuple[str, str, int]


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def origin_url(origin: Origin) -> str:
    """``http://host:8080`` (no port when it is the scheme's default)."""
    scheme, host, port = origin
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + ("" if port == _default_port(scheme) else f":{port}")


def parse_origin(text: str) -> Origin:
    """A user-given origin (``--scope http://host:80``); UsageError with one line."""
    bad = f"invalid origin {shown_url(text)!r}"
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{bad}: {exc}") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise UsageError(f"{bad}: give scheme://host[:port], e.g. http://example.com:80")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise UsageError(f"{bad}: only scheme://host[:port], no path, query or user")
    if any(c in host for c in " !\"'<>\\^`{|}"):
        raise UsageError(f"{bad}: no valid host")
    return parts.scheme, host, port if port is not None else _default_port(parts.scheme)


def _check_engine_parses(given: str, base: str) -> None:
    """The engine's own URL parser (httpx) must take the URL: IDNA hosts, control characters."""
    import httpx

    try:
        _ = httpx.URL(base).host  # .host decodes punycode (xn--) labels
    except UnicodeError:  # idna.IDNAError and friends
        raise UsageError(
            f"invalid URL {shown_url(given)!r}: the host is not a valid internationalised domain name"
        ) from None
    except (httpx.InvalidURL, ValueError) as exc:
        raise UsageError(f"invalid URL {shown_url(given)!r}: {exc}") from None


@dataclass(frozen=True)
class Target:
    """A base URL; its origin is the scope the scanner keeps to.

    ``extra_origins`` are other origins the user allowed explicitly (``--scope``); nothing
    else is ever contacted.
    """

    url: str
    scheme: str
    host: str
    port: int
    extra_hosts: frozenset[str] = frozenset()
    extra_origins: frozenset[Origin] = frozenset()

    @classmethod
    def parse(cls, url: str, extra_hosts: frozenset[str] = frozenset()) -> Target:
        """Validate a user-given URL; raise UsageError with one clear line."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise UsageError(f"invalid URL {shown_url(url)!r}: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise UsageError(f"invalid URL {shown_url(url)!r}: scheme must be http or https")
        host = (parts.hostname or "").lower()
        if not host or any(c in host for c in " !\"'<>\\^`{|}"):
            raise UsageError(f"invalid URL {shown_url(url)!r}: no valid host")
        if port is None:
            port = 443 if parts.scheme == "https" else 80
        path = parts.path or "/"
        netloc = parts.netloc.rsplit("@", 1)[-1]
        base = f"{parts.scheme}://{netloc}{path}"
        if parts.query:
            base += "?" + parts.query
        _check_engine_parses(url, base)
        return cls(url=base, scheme=parts.scheme, host=host, port=port, extra_hosts=extra_hosts)

    def with_origins(self, origins: Iterable[str]) -> Target:
        """This target with more origins in scope (``--scope``); UsageError on a bad one."""
        extra = frozenset(parse_origin(o) for o in origins)
        return replace(self, extra_origins=self.extra_origins | extra)

    @property
    def origin(self) -> str:
        return origin_url((self.scheme, self.host, self.port))

    @property
    def is_https(self) -> bool:
        return self.scheme == "https"

    @property
    def is_loopback(self) -> bool:
        """A loopback address or name: the target runs on this machine."""
        if self.host == "localhost" or self.host.endswith(".localhost"):
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def is_local(self) -> bool:
        """Loopback or private address: local development or behind a TLS proxy."""
        if self.host in ("localhost", "testserver") or self.host.endswith(".localhost"):
            return True
        try:
            ip = ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return ip.is_loopback or ip.is_private or ip.is_link_local

    def url_for(self, path: str) -> str:
        """An absolute URL on the target's origin for a path ("/x") or a relative one."""
        if path.startswith("/"):
            return self.origin + path
        return urljoin(self.url, path)

    def in_scope(self, url: str) -> bool:
        """Same origin (scheme, host, port), an origin or a host the user named."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        if host in self.extra_hosts:
            return parts.scheme in ("http", "https")
        if port is None:
            port = _default_port(parts.scheme)
        here = (parts.scheme, host, port)
        return here == (self.scheme, self.host, self.port) or here in self.extra_origins
