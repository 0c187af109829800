"""API keys, dashboard sessions, CSRF tokens and a throttle on failed logins.

The throttle counts *failures* per peer (the socket address, see :func:`peer_key`) and
only ever refuses wrong keys: :meth:`Auth.authenticate` checks the key first, so the
right key is accepted however many others failed from the same address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from collections import OrderedDict, deque
from typing import Literal

Verdict = Literal["ok", "missing", "wrong", "throttled"]
#: peers remembered by the throttle (oldest forgotten first)
MAX_PEERS = 10000

SESSION_COOKIE = "apigrade_session"
LOGIN_CSRF_COOKIE = "apigrade_login_csrf"
SESSION_TTL_S = 12 * 3600


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def peer_key(host: str | None) -> str:
    """The throttle's key for a peer address: the address itself, an IPv6 peer's /64
    (one machine usually owns a whole /64)."""
    if not host:
        return "?"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


class Auth:
    """The API key check (constant time), server-side sessions and CSRF tokens."""

    def __init__(self, api_key: str, max_failures: int = 20, window_s: float = 60.0) -> None:
        if len(api_key) < 8:
            from apigrade.errors import UsageError

            raise UsageError("the API key must have at least 8 characters")
        self._key = _digest(api_key)
        self._secret = secrets.token_bytes(32)  # CSRF MAC key, new on every start
        self._sessions: dict[str, float] = {}
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_failures = max_failures
        self.window_s = window_s

    # -- the key ---------------------------------------------------------------------
    def key_ok(self, provided: str | None) -> bool:
        """Constant-time comparison (digests, so the length does not leak either)."""
        if not provided:
            return False
        return hmac.compare_digest(_digest(provided), self._key)

    def authenticate(self, provided: str | None, client: str) -> Verdict:
        """The key first (constant time), then the throttle: ``ok`` for the right key
        whatever others failed; a wrong or missing key from a peer over the limit is
        ``throttled``; a wrong key counts one failure for ``client``."""
        if self.key_ok(provided):
            return "ok"
        if self.throttled(client):
            return "throttled"
        if not provided:
            return "missing"
        self.failed(client)
        return "wrong"

    # -- throttling --------------------------------------------------------------------
    def throttled(self, client: str) -> bool:
        """True when ``client`` failed too often in the last window."""
        now = time.monotonic()
        with self._lock:
            hits = self._failures.get(client)
            if not hits:
                return False
            while hits and hits[0] < now - self.window_s:
                hits.popleft()
            return len(hits) >= self.max_failures

    def failed(self, client: str) -> None:
        with self._lock:
            hits = self._failures.pop(client, None) or deque()
            hits.append(time.monotonic())
            while len(hits) > self.max_failures:
                hits.popleft()
            self._failures[client] = hits  # most recent last
            while len(self._failures) > MAX_PEERS:  # bounded under a spray of addresses
                self._failures.popitem(last=False)

    # -- sessions ------------------------------------------------------------------------
    def new_session(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            self._sessions = {t: e for t, e in self._sessions.items() if e > now}
            self._sessions[token] = now + SESSION_TTL_S
        return token

    def session_ok(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            expiry = self._sessions.get(token)
        return expiry is not None and expiry > time.time()

    def end_session(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    # -- CSRF --------------------------------------------------------------------------
    def csrf_token(self, session: str) -> str:
        """The form token bound to a session."""
        return hmac.new(self._secret, session.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: str | None, token: str | None) -> bool:
        if not session or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)
