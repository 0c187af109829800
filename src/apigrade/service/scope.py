"""Which targets a service (or the MCP server) may scan: ``--allow`` host patterns.

Patterns, matched against the target URL's host and port:

* ``api.example.com`` — that host, any port;
* ``*.example.com`` — any subdomain (not ``example.com`` itself);
* ``api.example.com:8443``, ``127.0.0.1:*`` — with a port (``*`` for any);
* ``10.0.0.0/8``, ``::1/128`` — IP-literal hosts inside a network;
* ``*`` — everything (explicit opt-in; think twice on a shared network).

Names are matched as written: the allow list trusts DNS for the names it allows.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from apigrade.engine.target import Target
from apigrade.errors import UsageError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Pattern:
    """One parsed ``--allow`` pattern."""

    raw: str
    host: str | None = None  # exact host or "*.suffix"
    network: IPNetwork | None = None
    port: int | None = None  # None: any port

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.network is not None:
            try:
                return ipaddress.ip_address(host) in self.network
            except ValueError:
                return False
        assert self.host is not None
        if self.host == "*":
            return True
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host


def parse_pattern(raw: str, option: str = "--allow") -> Pattern:
    """Parse one pattern; UsageError with one line when it is malformed."""
    text = raw.strip().lower()
    if not text:
        raise UsageError(f"bad {option}: empty pattern")
    if "://" in text:
        raise UsageError(f"bad {option} {raw!r}: give a host pattern, not a URL")
    if "/" in text:
        try:
            return Pattern(raw, network=ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise UsageError(f"bad {option} {raw!r}: not a network such as 10.0.0.0/8") from None
    host, port = text, None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise UsageError(f"bad {option} {raw!r}: unclosed [")
        host, rest = text[1:end], text[end + 1 :]
        port = _port(raw, rest[1:], option) if rest.startswith(":") else None
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(raw, port_text, option)
    if not host or any(c in host for c in " @?#\\[]") or "*" in host.lstrip("*."):
        raise UsageError(f"bad {option} {raw!r}: expected host, *.domain, host:port or a CIDR")
    if host != "*" and "*" in host and not host.startswith("*."):
        raise UsageError(f"bad {option} {raw!r}: '*' only as '*' or a leading '*.'")
    return Pattern(raw, host=host, port=port)


def _port(raw: str, text: str, option: str) -> int | None:
    if text == "*":
        return None
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"bad {option} {raw!r}: bad port {text!r}")
    return int(text)


class AllowList:
    """The service's scope: a URL is allowed when any pattern matches its host and port."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = [parse_pattern(p) for p in patterns]

    def check(self, url: str) -> Target:
        """The parsed target, or UsageError saying why it is refused."""
        target = Target.parse(url)
        if not any(p.matches(target.host, target.port) for p in self.patterns):
            raise UsageError(
                f"target {target.host}:{target.port} is not allowed on this server "
                "(its operator can add an --allow pattern)"
            )
        return target

    def allows(self, url: str) -> bool:
        try:
            self.check(url)
        except UsageError:
            return False
        return True
