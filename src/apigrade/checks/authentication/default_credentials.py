"""Default credentials: a login accepts a product's documented default user and password.

With ``--active`` only (it POSTs). Login endpoints come from the scan: HTML forms with one
password field (the page is fetched again and its hidden fields, such as a CSRF token, and
cookies are sent back), JSON login operations of the spec, and the well-known JSON login
paths (``/login``, ``/api/login``, ``/auth/login``, ``/api/auth/login``, ``/token``). At
most one login endpoint per path and ``MAX_ENDPOINTS`` in all.

Per endpoint: one control with a random wrong password, then the pairs of
``data/default_credentials.toml`` in file order (at most ``MAX_ATTEMPTS`` distinct pairs),
stopping at the first success. Success is never a status alone: the answer must differ
from the wrong password's in a way that means "logged in" (a session cookie or a token the
control did not get, a redirect away from the login page, 2xx where the control got 401 or
403 with another body), and a second wrong password for the same user must still fail.

CWE: the contract's table has no row for CWE-1392 (use of default credentials); its row for
guessable secrets, "defaults" included, is CWE-1391, the parent of 1392, so 1391 is used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Final
from urllib.parse import urldefrag, urlencode, urljoin, urlsplit

from apigrade import knowledge
from apigrade.checks.common.apiutil import is_login_page, json_body, path_of
from apigrade.checks.common.cookies import is_session_cookie, set_cookies
from apigrade.checks.common.fanout import fan_out
from apigrade.checks.common.slots import token
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity
from apigrade.redact import mask

CHECK: Final = "authentication.default-credentials"
MAX_ATTEMPTS = 8
MAX_ENDPOINTS = 4
MAX_PAGES = 6  # login pages parsed
WELL_KNOWN = ("/login", "/api/login", "/auth/login", "/api/auth/login", "/token")
_USER_NAMES = ("username", "user", "login", "email", "user_name", "username_or_email", "name")
_PASSWORD_NAMES = ("password", "pass", "passwd", "pwd")
_TOKEN_KEYS = frozenset(
    {"token", "access_token", "accesstoken", "id_token", "jwt", "auth_token", "authtoken",
     "session", "sessionid", "session_id", "refresh_token", "api_key", "apikey"}
)  # fmt: skip
_NOT_A_LOGIN = (404, 405, 410, 501)


# -- login endpoints --------------------------------------------------------------------
@dataclass(frozen=True)
class Login:
    """Where to send a pair and how: a form (``page`` set) or a JSON body."""

    url: str
    user_field: str
    password_field: str
    page: str | None = None  # the form's page, fetched for fresh hidden fields and cookies

    @property
    def kind(self) -> str:
        return "form" if self.page else "JSON"


@dataclass(frozen=True)
class Form:
    """A login form as found on a page: where it posts and every field's value."""

    action: str
    user_field: str
    password_field: str
    fields: tuple[tuple[str, str], ...]  # the other named fields (hidden, submit, ...)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[dict[str, str], list[dict[str, str]]]] = []
        self._open: tuple[dict[str, str], list[dict[str, str]]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "form" and self._open is None and len(self.forms) < 20:
            self._open = (a, [])
            self.forms.append(self._open)
        elif tag in ("input", "button") and self._open is not None and a.get("name"):
            if len(self._open[1]) < 50:
                self._open[1].append(a | {"type": a.get("type", "text").lower(), "_tag": tag})

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def _user_field(inputs: list[dict[str, str]]) -> str | None:
    texts = [
        i["name"] for i in inputs if i["type"] in ("text", "email", "") and i["_tag"] == "input"
    ]
    for wanted in _USER_NAMES:
        for name in texts:
            if name.lower() == wanted:
                return name
    return texts[0] if texts else None


def parse_login_forms(page_url: str, text: str) -> list[Form]:
    """The forms of a page that log in: POST, one password field and a user field."""
    parser = _FormParser()
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # noqa: BLE001, S110 - a hostile page: keep what was parsed so far
        pass
    out = []
    for attrs, inputs in parser.forms:
        passwords = [i["name"] for i in inputs if i["type"] == "password"]
        user = _user_field(inputs)
        if attrs.get("method", "get").lower() != "post" or len(passwords) != 1 or not user:
            continue
        action = urldefrag(urljoin(page_url, attrs.get("action") or page_url))[0]
        others = tuple(
            (i["name"], i.get("value", ""))
            for i in inputs
            if i["name"] not in (user, passwords[0])
            and i["type"] not in ("checkbox", "radio", "reset", "file", "image")
            and (i["_tag"] == "input" or i.get("value"))
        )
        out.append(Form(action, user, passwords[0], others))
    return out


def _json_logins(ctx: CheckContext) -> Iterator[Login]:
    """JSON login operations of the spec (a user and a password field in the body)."""
    for ep in ctx.endpoints:
        names = [p.name for p in ep.params_in("body")]
        password = next((n for n in names if n.lower() in _PASSWORD_NAMES), None)
        user = next((n for w in _USER_NAMES for n in names if n.lower() == w), None)
        if ep.method.upper() == "POST" and password and user and "{" not in ep.url:
            yield Login(ep.url, user, password)


async def _form_logins(ctx: CheckContext) -> list[Login]:
    pages = [
        ex.url for ex in ctx.exchanges
        if "html" in ex.response.content_type and ex.status == 200 and is_login_page(ex.text)
    ]  # fmt: skip
    out = []
    for page in list(dict.fromkeys(pages))[:MAX_PAGES]:
        ex = next(e for e in ctx.exchanges if e.url == page)
        forms = await ctx.offload(parse_login_forms, page, ex.text) or []
        out += [Login(f.action, f.user_field, f.password_field, page=page) for f in forms]
    return out


async def login_endpoints(ctx: CheckContext) -> list[Login]:
    """Forms first, then JSON operations, then well-known paths; one per path."""
    found = [*await _form_logins(ctx), *_json_logins(ctx)]
    found += [Login(ctx.target.url_for(p), "username", "password") for p in WELL_KNOWN]
    out: dict[str, Login] = {}
    for login in found:
        if ctx.target.in_scope(login.url):
            out.setdefault(path_of(login.url), login)
    return list(out.values())[:MAX_ENDPOINTS]


# -- attempts -------------------------------------------------------------------------------
async def _form_state(ctx: CheckContext, login: Login) -> tuple[Form, str] | None:
    """The form's fields as the page gives them now, and the page's cookies."""
    page = await ctx.get(login.page or login.url, anonymous=True)
    if page is None or page.status != 200:
        return None
    forms = await ctx.offload(parse_login_forms, page.url, page.text) or []
    form = next((f for f in forms if f.action == login.url), None)
    cookies = "; ".join(f"{c.name}={c.value}" for c in set_cookies(page))
    return (form, cookies) if form else None


def _probe(login: Login, user: str, password: str, state: tuple[Form, str] | None) -> Probe:
    headers: list[tuple[str, str]] = []
    if state is not None:
        form, cookies = state
        body = urlencode([*form.fields, (login.user_field, user), (login.password_field, password)])
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        headers.append(("Referer", login.page or login.url))
        if cookies:
            headers.append(("Cookie", cookies))
    else:
        body = json.dumps({login.user_field: user, login.password_field: password})
        headers.append(("Content-Type", "application/json"))
    return Probe(url=login.url, method="POST", headers=tuple(headers), body=body.encode(),
                 follow_redirects=False, anonymous=True)  # fmt: skip


def _session_cookies(ex: Exchange) -> set[str]:
    return {c.name for c in set_cookies(ex) if is_session_cookie(c)}


def _tokens(ex: Exchange) -> set[str]:
    body = json_body(ex)
    if not isinstance(body, dict):
        return set()
    data = body.get("data")
    inner: dict[str, Any] = data if isinstance(data, dict) else {}
    items = [*body.items(), *inner.items()]
    return {k for k, v in items if k.lower() in _TOKEN_KEYS and isinstance(v, str) and len(v) >= 8}


def _location_path(ex: Exchange) -> str | None:
    where = ex.response.header("location")
    return urlsplit(urljoin(ex.url, where)).path or "/" if where else None


def _loginish(path: str, login_path: str) -> bool:
    low = path.lower()
    return path == login_path or any(w in low for w in ("login", "signin", "sign-in", "auth"))


def success_signs(control: Exchange, attempt: Exchange, login_url: str) -> list[str]:
    """What in ``attempt`` means "logged in" compared with the wrong password's answer."""
    signs = []
    new_cookies = _session_cookies(attempt) - _session_cookies(control)
    if new_cookies:
        signs.append(f"sets session cookie {', '.join(sorted(new_cookies))}")
    new_tokens = _tokens(attempt) - _tokens(control)
    if new_tokens:
        signs.append(f"answers with {', '.join(sorted(new_tokens))}")
    login_path = path_of(login_url)
    went, was = _location_path(attempt), _location_path(control)
    if 300 <= attempt.status < 400 and went and not _loginish(went, login_path) and went != was:
        signs.append(f"redirects to {went}")
    if (
        control.status in (401, 403)
        and 200 <= attempt.status < 300
        and attempt.response.body != control.response.body
    ):
        signs.append(f"{attempt.status} with another body")
    return signs


def _describe(ex: Exchange) -> str:
    where = _location_path(ex)
    return f"{ex.status}" + (f" to {where}" if where and 300 <= ex.status < 400 else "")


async def try_login(ctx: CheckContext, login: Login) -> Hit | None:
    """The control, then each pair until one is accepted (and confirmed)."""
    pairs = list(
        dict.fromkeys((c.username, c.password) for c in knowledge.default_credentials(CHECK))
    )
    if not pairs:
        return None
    state = await _form_state(ctx, login) if login.page else None
    if login.page and state is None:
        return None
    control = await ctx.send(_probe(login, pairs[0][0], "x" + token(14), state))
    if control is None or control.status in _NOT_A_LOGIN or await ctx.is_soft404(control):
        return None
    for user, password in pairs[:MAX_ATTEMPTS]:
        attempt = await ctx.send(_probe(login, user, password, state))
        if attempt is None:
            return None
        signs = success_signs(control, attempt, login.url)
        if not signs:
            continue
        again = await ctx.send(_probe(login, user, "x" + token(14), state))
        if again is None or success_signs(control, again, login.url):
            return None  # any password gets in, or the answer changes by itself
        return _hit(login, user, password, signs, control)
    return None


def _hit(login: Login, user: str, password: str, signs: list[str], control: Exchange) -> Hit:
    products = sorted(
        {c.product for c in knowledge.default_credentials(CHECK)
         if (c.username, c.password) == (user, password)}
    )  # fmt: skip
    extra = " (form, with its hidden fields and cookies)" if login.page else " (JSON)"
    return Hit(
        url=login.url,
        method="POST",
        parameter=login.password_field,
        evidence=(
            f"POST {path_of(login.url)}{extra} as {user!r} / {mask(password)!r}: "
            f"{'; '.join(signs)}; a wrong password got {_describe(control)}. "
            f"Documented default of {', '.join(products)}"
        ),
    )


@active(
    id=CHECK,
    title="Login accepts a default username and password",
    category="authentication",
    severity=Severity.CRITICAL,
    confidence=Confidence.FIRM,
    cwe=1391,
    owasp="API2:2023",
)
async def default_credentials(ctx: CheckContext) -> None:
    if not ctx.active:
        return  # it POSTs credentials: --active only
    await fan_out(ctx, await login_endpoints(ctx), try_login)
