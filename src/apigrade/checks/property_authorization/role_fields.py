"""Sensitive fields of other people's records served to an ordinary role (CWE-213).

Property-level authorisation (API3:2023): an API that filters fields by role shows an
ordinary user less of each record than an administrator. With two or more identities
(``--identity`` or an auth file) and at least one user-labelled one
(``checks/common/roles.py``), up to ``MAX_URLS`` (6) discovered GET URLs (people-like
collections first: users, accounts, customers, employees...) are fetched as the first
user-labelled identity, without credentials, and as the first admin-labelled identity
when there is one: at most 18 requests, GET only, with or without ``--active``.

A field is reported when the user gets it with a value in the records of two or more
people in one list answer (records told apart by their identity fields: e-mail, user
name, owner...; so at least one is someone else's, and a list of the caller's own
orders or addresses never counts), its name is a secret
(password, hash, token, key, ssn, card...; ``common/session_fields.classify``) or
private personal data (e-mail, phone, address, birth date, salary), and the anonymous
answer to the same URL does not carry it (data every caller gets is not a role problem).
Values are never shown, only field names. High when a secret field is exposed, medium for
personal data alone. The administrator's answer only adds context to the evidence.
"""

from __future__ import annotations

from typing import Any

from apigrade import rx
from apigrade.checks.common.apiutil import (
    TEMPLATE,
    fill,
    get_anonymous,
    get_as,
    get_endpoints,
    identity_values,
    json_body,
    path_of,
    segments,
    uniq,
)
from apigrade.checks.common.roles import admin_identities, user_identities
from apigrade.checks.common.session_fields import classify
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_URLS = 6
MAX_SHOWN = 6
_PEOPLE = frozenset({
    "users", "user", "accounts", "account", "customers", "customer", "members", "member",
    "employees", "employee", "people", "persons", "profiles", "staff", "admin", "clients",
    "patients", "students", "contacts",
})  # fmt: skip
_PRIVATE_PERSONAL = rx.compile(r"(?i)e_?mail|phone|mobile|address|birth|dob|salary|income")


def sensitive_kind(name: str) -> str | None:
    """'secret', 'personal' or None for a field name."""
    kind = classify(name)
    if kind == "secret":
        return kind
    if kind == "personal" and _PRIVATE_PERSONAL.search(name):
        return kind
    return None


def _items(body: Any) -> list[dict[str, Any]]:
    """The records of a list answer (bare, or the one list inside a wrapper)."""
    if isinstance(body, dict):
        lists = [v for v in body.values() if isinstance(v, list)]
        body = lists[0] if len(lists) == 1 else []
    return [i for i in body[:50] if isinstance(i, dict)] if isinstance(body, list) else []


def _filled(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and value != ""


def others_fields(body: Any) -> dict[str, str]:
    """Sensitive field -> kind, for fields filled in records of two or more people of a
    list (records told apart by their identity fields: e-mail, user name, owner...)."""
    owners: dict[str, set[frozenset[tuple[str, str]]]] = {}
    for item in _items(body):
        who = frozenset((k, v.lower()) for k, v in identity_values(item).items())
        if not who:
            continue  # whose record it is cannot be told: the caller's own, maybe
        for key, value in item.items():
            if _filled(value) and sensitive_kind(str(key)):
                owners.setdefault(str(key), set()).add(who)
    return {k: sensitive_kind(k) or "" for k, w in owners.items() if len(w) >= 2}


def candidate_urls(ctx: CheckContext) -> list[str]:
    urls: list[tuple[bool, str]] = []
    for ep in get_endpoints(ctx):
        url = fill(ep.url, ep) if TEMPLATE.search(ep.url) else ep.url
        people = bool(_PEOPLE & {s.lower() for s in segments(path_of(url))})
        urls.append((not people, url))
    return uniq(u for _, u in sorted(urls, key=lambda t: t[0]))[:MAX_URLS]


def _fields(ex: Exchange | None) -> dict[str, str]:
    return others_fields(json_body(ex)) if ex is not None and ex.status == 200 else {}


@active(
    id="props.role-field-exposure",
    title="An ordinary user receives other people's sensitive fields",
    category="property-authorization",
    severity=Severity.MEDIUM,
    confidence=Confidence.FIRM,
    cwe=213,
    owasp="API3:2023",
)
async def role_field_exposure(ctx: CheckContext) -> None:
    users, admins = user_identities(ctx), admin_identities(ctx)
    if len(ctx.identities) < 2 or not users:
        return
    user, admin = users[0], (admins[0] if admins else None)
    for url in candidate_urls(ctx):
        seen = _fields(await get_as(ctx, url, user))
        if not seen:
            continue
        anon = await get_anonymous(ctx, url)
        public = _fields(anon)
        exposed = {k: v for k, v in seen.items() if k not in public}
        if not exposed:
            continue
        names = sorted(exposed, key=lambda k: (exposed[k] != "secret", k))
        shown = ", ".join(names[:MAX_SHOWN])
        refused = f"without credentials: {anon.status}" if anon is not None else ""
        context = ""
        if admin is not None:
            admin_fields = _fields(await get_as(ctx, url, admin))
            same = [k for k in names if k in admin_fields]
            context = f"; admin {admin!r} gets {len(same)} of them too"
        secret = any(v == "secret" for v in exposed.values())
        ctx.report(
            Hit(
                url=url,
                severity=Severity.HIGH if secret else None,
                evidence=(
                    f"as user-labelled {user!r}, GET {path_of(url)} -> 200, other people's "
                    f"{shown} (values withheld); {refused}{context}"
                ),
            )
        )
