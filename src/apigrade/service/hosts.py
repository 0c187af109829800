"""Which ``Host`` headers the service answers: a defence against DNS rebinding.

A page on ``evil.example`` whose name a browser re-resolves to 127.0.0.1 can reach a
service bound there, but its requests carry ``Host: evil.example``. Every request whose
``Host`` is not on the list gets 400 (the value is never echoed).

The list defaults to the bound address and port, plus ``localhost``, ``127.0.0.1`` and
``[::1]`` on that port when the service is bound to a loopback or wildcard address.
``--allowed-host`` adds entries, in the same syntax as ``--allow`` (``name``,
``name:port``, ``*.domain``, a CIDR for IP literals, ``*`` for any).
"""

from __future__ import annotations

import ipaddress
import string

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from apigrade.service.scope import Pattern, parse_pattern

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("", "0.0.0.0", "::")  # noqa: S104 - names of wildcard binds, not a bind
_HOST_CHARS = frozenset(string.ascii_lowercase + string.digits + ".-_:")
_DEFAULT_PORT = {"http": 80, "https": 443, "ws": 80, "wss": 443}
REFUSAL = "this Host header is not allowed here (the operator can add --allowed-host)"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_host(value: str, scheme: str = "http") -> tuple[str, int] | None:
    """``Host`` header -> (lower-case host without brackets, port); None when malformed.
    Without a port the scheme's default port is meant."""
    text = value.strip().lower()
    if not text or len(text) > 300:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:]
    else:
        if text.count(":") > 1:
            return None
        host, _, port_text = text.partition(":")
    if not host or not set(host) <= _HOST_CHARS:
        return None
    if not port_text:
        return host, _DEFAULT_PORT.get(scheme, 80)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return host, int(port_text)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class AllowedHosts:
    """The ``Host`` values the service answers."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns: list[Pattern] = [parse_pattern(p, "--allowed-host") for p in patterns]

    @classmethod
    def for_bind(cls, host: str, port: int, extra: list[str] | None = None) -> AllowedHosts:
        """The default list for a service bound to ``host:port``, plus ``extra``.
        Port 0 (chosen by the system) allows any port on these names."""
        bind = host.strip().strip("[]").lower()
        names = [] if bind in WILDCARD_BINDS else [bind]
        if bind in WILDCARD_BINDS or _is_loopback(bind):
            names += [n for n in LOOPBACK_NAMES if n not in names]
        suffix = "*" if port == 0 else str(port)
        return cls([f"{_bracket(n)}:{suffix}" for n in names] + list(extra or []))

    @classmethod
    def loopback(cls) -> AllowedHosts:
        """Loopback names on any port (an app built in code, port not known)."""
        return cls([f"{_bracket(n)}:*" for n in LOOPBACK_NAMES])

    def allows(self, value: str | None, scheme: str = "http") -> bool:
        parsed = split_host(value, scheme) if value else None
        if parsed is None:
            return False
        host, port = parsed
        return any(p.matches(host, port) for p in self.patterns)

    def describe(self) -> str:
        return ", ".join(p.raw for p in self.patterns)


class HostCheck:
    """ASGI middleware: 400 for a request whose ``Host`` is not allowed (or missing)."""

    def __init__(self, app: ASGIApp, hosts: AllowedHosts) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            values = [v for k, v in scope.get("headers", []) if k == b"host"]
            value = values[0].decode("latin-1") if len(values) == 1 else None
            if not self.hosts.allows(value, str(scope.get("scheme", "http"))):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                else:
                    await JSONResponse({"error": REFUSAL}, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)
