"""Cross-site request forgery (CWE-352): POST forms without a token, cookie sessions
without SameSite.

Decided from what discovery already holds, with no request of its own: the HTML forms
(``Endpoint.source == "form"``) and the ``Set-Cookie`` headers of every exchange. Only
POST forms count (a GET form that changes state is a different bug). A form is protected
by an anti-CSRF token field (``checks/common/csrf_forms.py``) or by the session cookie's
``SameSite=Lax``/``Strict``:

* ``SameSite=None``: every browser sends the cookie with a forged cross-site POST: medium,
  firm;
* no SameSite: Firefox and Safari send it; Chromium treats it as Lax but still sends it on
  a top-level cross-site POST within two minutes of the cookie being set ("Lax+POST"):
  low, firm;
* no session cookie seen, but a Flask app (``SESSION_COOKIE_SAMESITE`` defaults to None)
  that has a login form or a ``-b`` session cookie, or a ``-b`` session cookie whose
  attributes were never seen: low, tentative.

Login and sign-up forms (a password field next to a user name or e-mail, none named
new/old/current) are a separate, lower case, ``csrf.login-form`` (low, tentative): a
forged login signs the victim into the attacker's account whatever SameSite says, and
needs no session of the victim's. Origin/Referer checks on the server cannot be seen
without submitting a form, which this check never does.

Bound: no requests; at most 10 forms reported per kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from apigrade.checks.common.cookies import is_session_cookie, set_cookies
from apigrade.checks.common.csrf_forms import unprotected
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.engine.http import SetCookie, request_cookies
from apigrade.model import Confidence, Severity

MAX_FORMS = 10
_COMMON: dict[str, Any] = dict(category="misconfiguration", owasp="API8:2023", cwe=352)

finding_kind(
    id="csrf.login-form",
    parent="csrf.missing-token",
    title="Login form without an anti-CSRF token (login CSRF)",
    severity=Severity.LOW,
    confidence=Confidence.TENTATIVE,
    **_COMMON,
)


@dataclass(frozen=True)
class Exposure:
    """Why a forged cross-site POST would carry the victim's session."""

    severity: Severity
    confidence: Confidence
    why: str


def _latest_session_cookies(ctx: CheckContext) -> dict[str, SetCookie]:
    latest: dict[str, SetCookie] = {}
    for ex in ctx.exchanges:
        for cookie in set_cookies(ex):
            if is_session_cookie(cookie):
                latest[cookie.name] = cookie
    return latest


def exposure(ctx: CheckContext, has_login: bool) -> Exposure | None:
    """How the session cookie travels with a cross-site POST; None when SameSite stops it."""
    latest = _latest_session_cookies(ctx)
    for cookie in latest.values():
        if (cookie.get("samesite") or "").strip().lower() == "none":
            return Exposure(Severity.MEDIUM, Confidence.FIRM,
                            f"session cookie {cookie.name!r} is set with SameSite=None")  # fmt: skip
    for cookie in latest.values():
        if cookie.get("samesite") is None:
            return Exposure(Severity.LOW, Confidence.FIRM,
                            f"session cookie {cookie.name!r} is set without SameSite (Firefox and "
                            "Safari send it cross-site; Chromium for 2 minutes after it is set)")  # fmt: skip
    if latest:
        return None  # Lax or Strict on every session cookie
    users = [
        n for n, v in request_cookies(ctx.user_cookie or "").items()
        if is_session_cookie(SetCookie(n, v, {}, ""))
    ]  # fmt: skip
    if "flask" in ctx.frameworks and (users or has_login):
        return Exposure(Severity.LOW, Confidence.TENTATIVE,
                        "no session cookie was set during the scan; Flask sets its session "
                        "cookie without SameSite unless SESSION_COOKIE_SAMESITE is set")  # fmt: skip
    if users:
        return Exposure(Severity.LOW, Confidence.TENTATIVE,
                        f"the session cookie {users[0]!r} (given with -b) was never set during "
                        "the scan, so its SameSite attribute is unknown")  # fmt: skip
    return None


def _fields(names: tuple[str, ...]) -> str:
    if not names:
        return "none, a button only"
    shown = ", ".join(names[:8])
    return shown + (", ..." if len(names) > 8 else "")


@active(
    id="csrf.missing-token",
    title="State-changing form without an anti-CSRF token",
    severity=Severity.MEDIUM,
    confidence=Confidence.FIRM,
    phase=2,
    **_COMMON,
)
async def csrf_forms(ctx: CheckContext) -> None:
    """POST forms without a token, with a session cookie a cross-site POST carries."""
    forms = [(ep, kind) for ep in ctx.endpoints if (kind := unprotected(ep)) is not None]
    logins = [(ep, k) for ep, k in forms if k.kind == "login"]
    states = [(ep, k) for ep, k in forms if k.kind == "state"]
    for ep, kind in logins[:MAX_FORMS]:
        ctx.report(Hit(
            url=ep.url, method="POST", check="csrf.login-form",
            evidence=f"login form posting to {urlsplit(ep.url).path or '/'} "
            f"(fields: {_fields(kind.fields)}) has no anti-CSRF token field",
        ))  # fmt: skip
    if not states:
        return
    how = exposure(ctx, bool(logins))
    if how is None:
        return
    for ep, kind in states[:MAX_FORMS]:
        ctx.report(Hit(
            url=ep.url, method="POST", severity=how.severity, confidence=how.confidence,
            evidence=f"POST form to {urlsplit(ep.url).path or '/'} (fields: "
            f"{_fields(kind.fields)}) has no anti-CSRF token field; {how.why}",
        ))  # fmt: skip
