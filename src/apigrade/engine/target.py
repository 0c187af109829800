"""The scan target and its scope."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from apigrade.errors import UsageError


@dataclass(frozen=True)
class Target:
    """A base URL; its origin is the scope the scanner keeps to."""

    url: str
    scheme: str
    host: str
    port: int
    extra_hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, url: str, extra_hosts: frozenset[str] = frozenset()) -> Target:
        """Validate a user-given URL; raise UsageError with one clear line."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise UsageError(f"invalid URL {url!r}: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise UsageError(f"invalid URL {url!r}: scheme must be http or https")
        host = (parts.hostname or "").lower()
        if not host or any(c in host for c in " !\"'<>\\^`{|}"):
            raise UsageError(f"invalid URL {url!r}: no valid host")
        if port is None:
            port = 443 if parts.scheme == "https" else 80
        path = parts.path or "/"
        netloc = parts.netloc.rsplit("@", 1)[-1]
        base = f"{parts.scheme}://{netloc}{path}"
        if parts.query:
            base += "?" + parts.query
        return cls(url=base, scheme=parts.scheme, host=host, port=port, extra_hosts=extra_hosts)

    @property
    def origin(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")

    @property
    def is_https(self) -> bool:
        return self.scheme == "https"

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
        """Same origin (scheme, host, port), or a host the user named."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        if host in self.extra_hosts:
            return parts.scheme in ("http", "https")
        if port is None:
            port = 443 if parts.scheme == "https" else 80
        return parts.scheme == self.scheme and host == self.host and port == self.port
