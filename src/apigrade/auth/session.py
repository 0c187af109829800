"""Staying logged in: the engine's session hook for the declared identities.

:class:`Sessions` logs every identity in before discovery, fills
``ScanState.identities`` (name -> headers, cookies as one ``Cookie`` header) and
``ScanState.identity_roles``, and is installed as the engine's ``session`` hook:

- ``prepare``: a probe carrying an identity's older credentials gets its current ones;
  a token past its ``expires_in`` is renewed first.
- ``after``: a response that says the session ended (401; 403 where the same method and
  path succeeded before for that identity; a redirect to its login page; the identity's
  ``logged_out_marker``) is confirmed with the identity's last good request; when that
  fails too, the identity logs in again (at most ``MAX_RELOGINS`` times) and the probe is
  sent once more.
- without ``--active``, a request as an identity to a logout, account-deletion or
  password-change URL is refused (the engine counts it as refused).
- a request a check sends to a logout URL (``discovery/model.is_logout``; only the
  revocation check does, with ``--active``) ends that session on purpose: probes that
  carry its credentials are left alone (the check must see the ended session) and the
  identity logs in afresh for every other probe.
- ``default_headers``: the identity marked ``default = true`` rides on every ordinary
  (non-anonymous) probe.

It counts the requests each identity sent, for the report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import urljoin, urlsplit

from apigrade import rx
from apigrade.auth.config import Declared, IdentitySpec
from apigrade.auth.flows import Credentials, LoginFailed, login
from apigrade.discovery.model import is_logout
from apigrade.engine.http import Exchange, Probe

if TYPE_CHECKING:
    from apigrade.checks.context import ScanState
    from apigrade.engine.client import Engine

#: Re-logins in a row whose retry still failed (a target or check that keeps ending the
#: session cannot make the scan loop); a retry that works resets the count.
MAX_RELOGINS = 3
#: Logins of one identity in a whole scan (renewals of short-lived tokens included).
MAX_LOGINS = 100
#: A token is renewed this share of its ``expires_in`` (at most 1 s) before it runs out.
EXPIRY_MARGIN = 0.2

Header = tuple[str, str]
#: Paths that end a session or an account: never requested as an identity without --active
_ENDS = rx.compile(
    r"(delete|remove|close|deactivate|cancel)[-_/]?(my[-_]?)?(account|profile|user)"
    r"|(account|profile|user)s?[-_/](delete|remove|close|deactivate)"
    r"|(change|update|set|new)[-_/]?password|password[-_/](change|update)",
    rx.I,
)


def ends_session(url: str) -> bool:
    """A logout, account-deletion or password-change URL (by its path)."""
    path = urlsplit(url).path
    return is_logout(url) or bool(_ENDS.search(path))


@dataclass
class Identity:
    spec: IdentitySpec
    headers: tuple[Header, ...] = ()
    expires_at: float | None = None
    login_path: str | None = None
    login: Literal["ok", "failed", "static"] = "static"
    requests: int = 0
    relogins: int = 0
    logins: int = 0
    #: header values of earlier logins (a probe built with them is brought up to date)
    stale: set[str] = field(default_factory=set)
    #: (method, path) that succeeded as this identity, and the last good probe
    good: set[tuple[str, str]] = field(default_factory=set)
    last_good: Probe | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: header values a check sent to a logout URL: probes carrying them are left alone
    #: (a revocation check must see the ended session), the identity logs in afresh
    revoked: set[str] = field(default_factory=set)
    marker: rx.Pattern | None = None


class Sessions:
    """The identities of one scan and their sessions (see the module docstring)."""

    def __init__(self, declared: Declared, state: ScanState, engine: Engine) -> None:
        self.declared = declared
        self.state = state
        self.engine = engine
        self.ids: dict[str, Identity] = {}
        for spec in declared.identities:
            marker = rx.compile(spec.logged_out_marker) if spec.logged_out_marker else None
            self.ids[spec.name] = Identity(spec, marker=marker)
        self.default = next((s.name for s in declared.identities if s.default), None)
        self.secrets: list[str] = []
        #: told every new secret (a re-login's token), so that findings mask it
        self.on_secrets: Callable[[list[str]], None] | None = None

    # -- logging in --------------------------------------------------------------------
    async def _login(self, ident: Identity) -> None:
        ident.logins += 1
        creds: Credentials = await login(
            ident.spec, self.declared, self.state.target, self._send_login(ident)
        )
        ident.stale.update(v for _, v in ident.headers)
        ident.headers = creds.headers
        ident.expires_at = creds.expires_at
        if creds.expires_at is not None:  # renewed a little before it runs out
            ttl = creds.expires_at - time.monotonic()
            ident.expires_at = creds.expires_at - min(1.0, ttl * EXPIRY_MARGIN)
        ident.login_path = creds.login_path
        ident.login = "static" if ident.spec.kind == "static" else "ok"
        self.secrets += creds.secrets
        if self.on_secrets is not None:
            self.on_secrets(creds.secrets)
        self.state.identities[ident.spec.name] = creds.headers
        self.state.identity_roles[ident.spec.name] = ident.spec.role

    def _send_login(self, ident: Identity) -> Callable[[Probe], Awaitable[Exchange | None]]:
        async def send(probe: Probe) -> Exchange | None:
            ex = await self.engine.send_login(probe)
            if ex is not None:
                ident.requests += 1 + len(ex.redirects)
            return ex

        return send

    async def login_all(self) -> None:
        """Log every identity in, in file order; LoginFailed (exit 3) at the first failure.
        Every secret is read first: a missing one is a usage error before any request."""
        self.declared.check_secrets()
        for ident in self.ids.values():
            try:
                await self._login(ident)
            except LoginFailed:
                ident.login = "failed"
                raise

    async def _relogin(
        self, ident: Identity, seen: tuple[Header, ...], *, expired: bool = False
    ) -> bool:
        """Log in again unless another probe already did; False when no longer allowed.
        ``expired``: a renewal before the token runs out (not a session that ended)."""
        async with ident.lock:
            if ident.headers != seen:
                return True  # renewed meanwhile
            if ident.spec.kind == "static" or ident.logins >= MAX_LOGINS:
                return False
            if not expired:
                if ident.relogins >= MAX_RELOGINS:
                    return False
                ident.relogins += 1
            try:
                await self._login(ident)
            except LoginFailed as exc:
                self.state.errors.append(f"re-login failed: {exc}"[:300])
                return False
            return True

    # -- the engine hook ---------------------------------------------------------------
    def default_headers(self) -> tuple[Header, ...]:
        """The default identity's current headers (for every non-anonymous probe)."""
        return self.ids[self.default].headers if self.default else ()

    def owner(self, probe: Probe) -> Identity | None:
        """The identity a probe is sent as: by its header values, else the default."""
        values = {v for _, v in probe.headers}
        for ident in self.ids.values():
            if ident.headers and (values & {v for _, v in ident.headers} or values & ident.stale):
                return ident
        if not probe.anonymous and self.default:
            return self.ids[self.default]
        return None

    def _current(self, probe: Probe, ident: Identity) -> Probe:
        """``probe`` with ``ident``'s current credentials in place of older ones."""
        names = {k.lower() for k, v in probe.headers if v in ident.stale}
        names |= {k.lower() for k, v in probe.headers if (k, v) in ident.headers}
        if not names:
            return probe
        kept = tuple(h for h in probe.headers if h[0].lower() not in names)
        ours = tuple(h for h in ident.headers if h[0].lower() not in {k.lower() for k, _ in kept})
        return replace(probe, headers=kept + ours)

    async def prepare(self, probe: Probe) -> Probe | None:
        """Renew an expiring token, then bring the probe's credentials up to date; None
        (refused) for a request as an identity to a logout, account-deletion or
        password-change URL without ``--active``."""
        ident = self.owner(probe)
        if ident is None or self._revoked(ident, probe):
            return probe
        if not self.state.active and ends_session(probe.url):
            return None
        if ident.expires_at is not None and time.monotonic() > ident.expires_at:
            await self._relogin(ident, ident.headers, expired=True)
        if not probe.anonymous and ident.spec.name == self.default:
            # the default identity's headers travel in the probe itself: the cache key and
            # the retry logic then see which credentials were sent
            own = {k.lower() for k, _ in probe.headers}
            extra = tuple(h for h in ident.headers if h[0].lower() not in own)
            probe = replace(probe, headers=probe.headers + extra)
        return self._current(probe, ident)

    def _ended(self, ident: Identity, probe: Probe, ex: Exchange) -> bool:
        status = ex.status
        key = (probe.method.upper(), urlsplit(probe.url).path)
        if status == 401:
            return True
        if status == 403 and key in ident.good:
            return True
        if ident.login_path and (ex.redirects or status in (301, 302, 303, 307, 308)):
            loc = ex.response.header("location") or ""
            final = ex.url if ex.redirects else urljoin(ex.url, loc)
            if urlsplit(final).path == ident.login_path and key[1] != ident.login_path:
                return True
        if ident.marker is not None and ident.marker.search(ex.text[:200_000]):
            return True
        return False

    async def after(self, probe: Probe, ex: Exchange, *, retried: bool = False) -> Probe | None:
        """Count the exchange; the probe to send once more when the session had ended."""
        ident = self.owner(probe)
        if ident is None:
            return None
        ident.requests += 1 + len(ex.redirects)
        if is_logout(probe.url):  # a check logged this session out on purpose
            sent = {v for _, v in probe.headers} & {v for _, v in ident.headers}
            if sent or (not probe.anonymous and ident.spec.name == self.default):
                ident.revoked.update(sent or {v for _, v in ident.headers})
                ident.expires_at = 0.0  # every other probe gets a fresh session
            return None
        if self._revoked(ident, probe):
            return None
        if retried or not self._ended(ident, probe, ex):
            if retried and not self._ended(ident, probe, ex):
                ident.relogins = 0  # the re-login helped
            if 200 <= ex.status < 300:
                ident.good.add((probe.method.upper(), urlsplit(probe.url).path))
                if probe.method.upper() == "GET":
                    ident.last_good = probe
            return None
        seen = ident.headers
        if not any(v in {x for _, x in seen} for _, v in probe.headers):
            return self._current(probe, ident)  # sent with older credentials: just retry
        if ident.spec.kind == "static" or ident.relogins >= MAX_RELOGINS:
            return None  # no re-login possible: no request spent on confirming
        if await self._still_valid(ident, probe):
            return None  # the session is alive: this answer is the target's decision
        if not await self._relogin(ident, seen):
            return None
        return self._current(probe, ident)

    @staticmethod
    def _revoked(ident: Identity, probe: Probe) -> bool:
        return bool(ident.revoked) and any(v in ident.revoked for _, v in probe.headers)

    async def _still_valid(self, ident: Identity, probe: Probe) -> bool:
        """Re-send the identity's last good request: still good means the session lives."""
        good = ident.last_good
        if good is None or good.key() == probe.key():
            return False
        ex = await self.engine.send_login(self._current(good, ident))
        if ex is None:
            return False
        ident.requests += 1
        return 200 <= ex.status < 300 and not self._ended(ident, good, ex)

    # -- the report --------------------------------------------------------------------
    def summary(self) -> list[dict[str, object]]:
        """One entry per identity: name, role, login outcome, requests sent."""
        return [
            {"name": i.spec.name, "role": i.spec.role, "login": i.login, "requests": i.requests}
            for i in self.ids.values()
        ]
