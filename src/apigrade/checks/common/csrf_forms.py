"""HTML forms and anti-CSRF tokens: which discovered forms change state without one.

A form is protected when one of its fields is an anti-CSRF token: named like the
frameworks name theirs (Flask-WTF ``csrf_token``, Django ``csrfmiddlewaretoken``, Rails
``authenticity_token``, ASP.NET ``__RequestVerificationToken``, Laravel ``_token``,
Express/Spring ``_csrf``, WordPress ``_wpnonce``, Drupal ``form_token``, Joomla's field
named by 32 hex digits) or a field whose value looks random (16+ characters mixing letters
and digits, as any per-session token does). Not state-changing: GET forms, a POST search box
(its only field named q/query/search...) and a logout button without fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from apigrade import rx
from apigrade.discovery.model import Endpoint, Param, is_logout

_TOKEN_NAME = rx.compile(
    r"csrf|xsrf|authenticity|verification|antiforgery|anti_forgery|nonce|^_?token$|"
    r"form_?token|form_?key|^__?requestverificationtoken$|\[_token\]$|^[0-9a-f]{32}$",
    rx.I,
)
_RANDOM = rx.compile(r"^[A-Za-z0-9+/=_.:-]{16,}$")
_HAS_DIGIT = rx.compile(r"[0-9]")
_HAS_LETTER = rx.compile(r"[A-Za-z]")
_PASSWORD = rx.compile(r"pass|pwd|secret", rx.I)
_CHANGE = rx.compile(r"new|old|current", rx.I)  # a change-password form acts as the user
_USER = rx.compile(r"user|login|e_?mail|name|account|ident", rx.I)
_SEARCH = rx.compile(r"^(?:q|s|query|search|keywords?|term|filter)$", rx.I)


def is_token(param: Param) -> bool:
    """A field that carries an anti-CSRF token."""
    if _TOKEN_NAME.search(param.name):
        return True
    value = param.example or ""
    return bool(_RANDOM.match(value) and _HAS_DIGIT.search(value) and _HAS_LETTER.search(value))


@dataclass(frozen=True)
class FormKind:
    """What a POST form without a token does: ``login`` (sign-in or sign-up, where no
    session is needed for the forgery) or ``state`` (acts as the signed-in user)."""

    kind: str
    fields: tuple[str, ...]


def unprotected(endpoint: Endpoint) -> FormKind | None:
    """The kind of a state-changing HTML form without an anti-CSRF token, or None."""
    if endpoint.source != "form" or endpoint.method != "POST":
        return None
    params = [p for p in endpoint.params if p.location in ("form", "body")]
    if any(is_token(p) for p in params):
        return None
    names = tuple(p.name for p in params)
    if not names:  # a lone button ("delete my account"); a logout button is harmless
        return None if is_logout(endpoint.url) else FormKind("state", names)
    if all(_SEARCH.match(n) for n in names):
        return None  # a search box that happens to POST changes nothing
    passwords = [n for n in names if _PASSWORD.search(n)]
    if passwords and not any(_CHANGE.search(n) for n in passwords):
        if any(_USER.search(n) for n in names if n not in passwords):
            return FormKind("login", names)
    return FormKind("state", names)
