"""Role labels of the named identities, for the function- and property-level checks.

An identity is admin-labelled when its role (``ctx.identity_roles``, filled from an auth
file) or, without one, its name says admin, root, staff, super or owner
(``apigrade.identities.role_of``); every other identity is user-labelled.

``bfla.admin-function`` asks each user-labelled identity (at most two) for the admin
candidates; when an admin-labelled identity exists it sends one more GET as that
identity per hit (at most ``MAX_CANDIDATES`` more requests, only GET, with or without
``--active``): a user answer with the same JSON shape as the administrator's is the
administrator's function itself, and the finding becomes certain.
"""

from __future__ import annotations

from typing import Any

from apigrade.checks.common.apiutil import get_as, has_data, json_body, norm_key
from apigrade.checks.context import CheckContext
from apigrade.engine.http import Exchange
from apigrade.identities import is_privileged


def admin_identities(ctx: CheckContext) -> list[str]:
    return [n for n in ctx.identities if is_privileged(n, ctx.identity_roles)]


def user_identities(ctx: CheckContext) -> list[str]:
    return [n for n in ctx.identities if not is_privileged(n, ctx.identity_roles)]


def shape(body: Any) -> frozenset[str]:
    """The field names of a JSON answer: a record's keys, or its list items' keys."""
    if isinstance(body, dict):
        keys = {norm_key(str(k)) for k in body}
        for value in body.values():  # {"users": [...]}: the items' keys too
            if isinstance(value, list):
                keys |= shape(value)
        return frozenset(keys)
    if isinstance(body, list):
        out: set[str] = set()
        for item in body[:20]:
            if isinstance(item, dict):
                out |= {norm_key(str(k)) for k in item}
        return frozenset(out)
    return frozenset()


def same_shape(a: Any, b: Any) -> bool:
    """Both answers carry data and the user's has most of the administrator's fields."""
    sa, sb = shape(a), shape(b)
    return bool(sa) and has_data(a) and has_data(b) and len(sa & sb) >= 0.8 * len(sa)


async def admin_sees_same(ctx: CheckContext, url: str, user_answer: Exchange | None) -> str | None:
    """The admin identity whose answer to ``url`` has the user's answer's shape, or None."""
    user_body = json_body(user_answer)
    if user_body is None:
        return None
    for name in admin_identities(ctx)[:1]:
        admin = await get_as(ctx, url, name, follow_redirects=False)
        if admin is not None and admin.status == 200 and same_shape(json_body(admin), user_body):
            return name
    return None
