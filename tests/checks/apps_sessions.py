"""Flask fixture apps for CSRF, client-trusted session state and logout revocation.

Each flaw is written the way the Flask documentation's defaults or a hand-rolled tutorial
produce it, and each has its fixed twin written the way the docs recommend: Flask-WTF's
``CSRFProtect`` with ``SESSION_COOKIE_SAMESITE='Lax'``, Flask's signed session, and a
server-side session (Flask-Session) that logout really deletes.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets as _secrets
import time
from collections.abc import Iterator
from typing import Annotated, Any

import jwt
from cachelib import SimpleCache
from fastapi import Depends, FastAPI, Header, HTTPException
from flask import Flask, abort, make_response, redirect, request, session
from flask_session import Session
from flask_wtf.csrf import CSRFProtect, generate_csrf

KEY = "k3y-for-tests-only-0123456789abcdef"


def _page(title: str, body: str) -> str:
    return f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"


# -- CSRF ------------------------------------------------------------------------------


def csrf_app(
    *, protected: bool = False, samesite: str | None = None, login: bool = True, eager: bool = True
) -> Flask:
    """A small bank: a session cookie on every page, a transfer and an e-mail form.

    ``protected``: Flask-WTF's CSRFProtect and a token in every form. ``samesite``: the
    session cookie's SameSite (Flask's default is none at all). ``eager``: every page sets
    the session cookie (else only a login does, which a default scan never sends).
    """
    app = Flask("csrf_bank")
    app.config.update(SECRET_KEY=KEY, SESSION_COOKIE_SAMESITE=samesite)
    if protected:
        CSRFProtect(app)

    def token() -> str:
        return (
            f'<input type="hidden" name="csrf_token" value="{generate_csrf()}">'
            if protected
            else ""
        )

    @app.before_request
    def visit() -> None:
        if eager:
            session["visits"] = session.get("visits", 0) + 1

    @app.route("/")
    def index() -> str:
        links = '<a href="/account">account</a> <a href="/search">search</a>'
        if login:
            links += ' <a href="/login">login</a>'
        return _page("Bank", links)

    @app.route("/account")
    def account() -> str:
        return _page("Account", f"""
            <form method="post" action="/account/email">{token()}
              <input type="email" name="email"><button>save</button></form>
            <form method="post" action="/transfer">{token()}
              <input name="to"><input type="number" name="amount">
              <input type="hidden" name="currency" value="EUR"><button>send</button></form>
        """)  # fmt: skip

    @app.route("/search")
    def search() -> str:
        return _page("Search", '<form method="get" action="/search"><input name="q"></form>')

    @app.route("/login", methods=["GET", "POST"])
    def login_view() -> Any:
        if request.method == "POST":
            session["user"] = request.form.get("username", "")
            return redirect("/account")
        return _page("Login", f"""<form method="post" action="/login">{token()}
            <input name="username"><input type="password" name="password"><button>go</button>
            </form>""")  # fmt: skip

    @app.post("/account/email")
    def email() -> str:
        return "saved"

    @app.post("/transfer")
    def transfer() -> str:
        return "sent"

    return app


# -- client-trusted session state ---------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def state_app(*, signed: bool = False, plain: bool = False) -> Flask:
    """Who the user is lives in a cookie; /admin trusts its ``role``.

    Flawed: base64 JSON ``user`` cookie (or, ``plain``, cookies ``role=user``); fixed
    (``signed``): Flask's signed session, the role read back from it.
    """
    app = Flask("client_state")
    app.config["SECRET_KEY"] = KEY

    def who() -> dict[str, Any]:
        if signed:
            return {
                "username": session.get("username", "guest"),
                "role": session.get("role", "user"),
            }
        if plain:
            return {"username": "guest", "role": request.cookies.get("role", "user")}
        raw = request.cookies.get("user")
        try:
            return json.loads(base64.b64decode(raw or ""))
        except ValueError:
            return {"username": "guest", "role": "user"}

    @app.route("/")
    def index() -> Any:
        me = who()
        resp = make_response(_page("Shop", f'Hello {me["username"]} <a href="/admin">admin</a> '
                                           '<a href="/profile">profile</a>'))  # fmt: skip
        if signed:
            session.setdefault("username", "guest")
            session.setdefault("role", "user")
        elif plain:
            resp.set_cookie("role", "user", httponly=True, samesite="Lax")
        else:
            resp.set_cookie("user", _b64({"username": "guest", "role": "user"}), httponly=True,
                            samesite="Lax")  # fmt: skip
        return resp

    @app.route("/profile")
    def profile() -> str:
        return _page("Profile", f"signed in as {who()['username']}")

    @app.route("/admin")
    def admin() -> Any:
        if who().get("role") != "admin":
            abort(403)
        return _page("Admin", "Admin panel: 3 users, delete, export")

    return app


# -- revocation at logout --------------------------------------------------------------


def revocation_app(
    *, server_side: bool = False, post_logout: bool = False, guest: bool = False
) -> Flask:
    """A login, a private /profile and a logout.

    Flawed: Flask's default cookie session, which ``session.clear()`` cannot revoke.
    Fixed (``server_side``): Flask-Session keeps sessions on the server; logout deletes it.
    ``guest``: the home page signs the visitor in (the scan's session is one the app issued).
    """
    app = Flask("revocation")
    app.config["SECRET_KEY"] = KEY
    if server_side:
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=SimpleCache())
        Session(app)

    @app.route("/")
    def index() -> str:
        if guest:  # a shop that signs every visitor in as a guest account
            session.setdefault("user", "guest")
        out = '<a href="/profile">profile</a> '
        if post_logout:
            out += '<form method="post" action="/logout"><button>log out</button></form>'
        else:
            out += '<a href="/logout">log out</a>'
        return _page("Home", out)

    @app.route("/login", methods=["POST"])
    def login() -> Any:
        session["user"] = request.form.get("username", "alice")
        return redirect("/profile")

    @app.route("/profile")
    def profile() -> Any:
        if "user" not in session:
            return redirect("/login-page")
        return _page("Profile", f"Welcome back {session['user']}: balance 1200 EUR, 3 orders")

    @app.route("/login-page")
    def login_page() -> str:
        return _page("Login", "please sign in")

    @app.route("/logout", methods=["GET", "POST"])
    def logout() -> Any:
        session.clear()
        return redirect("/")

    return app


def login_cookie(app: Flask) -> str:
    """A fresh ``session=...`` cookie of a signed-in user (each call a new session)."""
    client = app.test_client()
    resp = client.post("/login", data={"username": "alice"})
    for header in resp.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        if name == "session":
            return f"session={rest.split(';', 1)[0]}"
    raise AssertionError("the app set no session cookie")


# -- bearer tokens and logout (FastAPI) ------------------------------------------------


def token_api(*, denylist: bool = False, guest: bool = False) -> FastAPI:
    """A FastAPI API with HS256 JWTs: POST /api/login issues one, GET /api/me needs it,
    POST /api/logout. Flawed: logout does nothing (a stateless JWT lives on until ``exp``).
    Fixed (``denylist``): logout records the token's ``jti`` and every request checks the
    list. ``guest``: GET / hands out a guest token (the scan's credential is one the app
    issued)."""
    app = FastAPI(title="Token API")
    revoked: set[str] = set()

    def issue(sub: str = "alice") -> str:
        claims = {"sub": sub, "jti": _secrets.token_hex(8), "exp": int(time.time()) + 900}
        return jwt.encode(claims, KEY, algorithm="HS256")

    def claims(authorization: Annotated[str, Header()] = "") -> dict[str, Any]:
        try:
            data = jwt.decode(authorization.removeprefix("Bearer ").strip(), KEY, ["HS256"])
        except jwt.InvalidTokenError:
            raise HTTPException(401, "invalid token") from None
        if denylist and data["jti"] in revoked:
            raise HTTPException(401, "token revoked")
        return dict(data)

    if guest:

        @app.get("/")
        def index() -> dict[str, str]:
            return {"guest_token": issue("guest"), "docs": "/openapi.json"}

    @app.post("/api/login")
    def login() -> dict[str, str]:
        return {"access_token": issue()}

    @app.get("/api/me")
    # Depends in a default: the annotation cannot name the local ``claims`` (postponed annotations)
    def me(user: dict[str, Any] = Depends(claims)) -> dict[str, Any]:  # noqa: B008
        return {"user": user["sub"], "email": f"{user['sub']}@example.com", "orders": [1, 2, 3]}

    @app.post("/api/logout")
    def logout(user: dict[str, Any] = Depends(claims)) -> dict[str, str]:  # noqa: B008
        if denylist:
            revoked.add(user["jti"])
        return {"status": "logged out"}

    app.state.issue = issue
    return app


# -- CSRF on Django --------------------------------------------------------------------

_DJANGO_FORMS = """<!doctype html><html><head><title>Shop</title></head><body>
<form method="post" action="/profile/email/">{% csrf_token %}<input name="email"><button>save</button></form>
<form method="post" action="/cart/clear/">{% csrf_token %}<input name="reason"><button>clear</button></form>
</body></html>"""


def django_csrf_app(*, protected: bool) -> Any:
    """A Django site with two POST forms. Fixed (``protected``): CsrfViewMiddleware, the
    ``{% csrf_token %}`` tag and Django's default ``SESSION_COOKIE_SAMESITE = 'Lax'``.
    Flawed: the views are ``@csrf_exempt``, the forms have no tag, and the session cookie
    is set with ``SameSite=None`` (an embedding widget's usual "fix")."""
    import sys
    import types

    import apps_django
    from django.http import HttpResponse
    from django.template import engines
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    apps_django._configure()
    html = _DJANGO_FORMS if protected else _DJANGO_FORMS.replace("{% csrf_token %}", "")

    def index(request: Any) -> Any:
        request.session["cart"] = [1, 2]
        return HttpResponse(engines["django"].from_string(html).render(request=request))

    def done(request: Any) -> Any:
        return HttpResponse("done")

    name = f"apps_sessions_django_urls_{'fixed' if protected else 'flawed'}"
    urls = types.ModuleType(name)
    view = done if protected else csrf_exempt(done)
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("", index), path("profile/email/", view), path("cart/clear/", view),
    ]  # fmt: skip
    sys.modules[name] = urls
    values = {**apps_django.FIXED, "ROOT_URLCONF": name}
    values["SESSION_COOKIE_SAMESITE"] = "Lax" if protected else "None"
    return apps_django._make(values)


# -- revocation at logout on Django ----------------------------------------------------

_DJANGO_HOME = """<!doctype html><html><head><title>Home</title></head><body>
<a href="/profile/">profile</a>
<form method="post" action="/logout/">{% csrf_token %}<button>log out</button></form>
</body></html>"""


def django_revocation_app(*, signed_cookies: bool) -> Any:
    """Django with a POST logout form (Django 5's way) whose view flushes the session.

    Fixed: the server-side cache session backend, which ``flush()`` deletes. Flawed:
    ``SESSION_ENGINE = 'django.contrib.sessions.backends.signed_cookies'``, where the
    session is the cookie itself and logout cannot revoke a copy."""
    import sys
    import types

    import apps_django
    from django.http import HttpResponse, HttpResponseRedirect
    from django.template import engines
    from django.urls import path

    apps_django._configure()

    def home(request: Any) -> Any:
        return HttpResponse(engines["django"].from_string(_DJANGO_HOME).render(request=request))

    def sign_in(request: Any) -> Any:
        request.session["user"] = "alice"
        return HttpResponse(
            engines["django"].from_string("{% csrf_token %}ok").render(request=request)
        )

    def profile(request: Any) -> Any:
        if "user" not in request.session:
            return HttpResponseRedirect("/sign-in-page/")
        return HttpResponse(f"<title>Profile</title>Welcome {request.session['user']}: 3 orders")

    def sign_in_page(request: Any) -> Any:
        return HttpResponse("<title>Sign in</title>please sign in")

    def logout(request: Any) -> Any:
        request.session.flush()  # what django.contrib.auth.logout() does
        return HttpResponseRedirect("/")

    engine = "signed_cookies" if signed_cookies else "cache"
    name = f"apps_sessions_django_logout_{engine}"
    urls = types.ModuleType(name)
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("", home), path("sign-in/", sign_in), path("profile/", profile),
        path("sign-in-page/", sign_in_page), path("logout/", logout),
    ]  # fmt: skip
    sys.modules[name] = urls
    values = {
        **apps_django.FIXED,
        "ROOT_URLCONF": name,
        "SESSION_ENGINE": f"django.contrib.sessions.backends.{engine}",
    }
    return apps_django._make(values)


def django_login_cookie(app: Any) -> str:
    """``sessionid=…; csrftoken=…`` of a fresh signed-in session."""
    from werkzeug.test import Client

    resp = Client(app).get("/sign-in/", headers={"Host": "127.0.0.1"})
    jar = {}
    for header in resp.headers.getlist("Set-Cookie"):
        name, _, rest = header.strip().partition("=")
        jar[name] = rest.split(";", 1)[0]
    return f"sessionid={jar['sessionid']}; csrftoken={jar['csrftoken']}"


@contextlib.contextmanager
def django_settings_kept() -> Iterator[None]:
    """Put back the process-wide Django settings these apps change (tests/checks/apps_django.py
    re-applies its own on every request, but not SameSite)."""
    from django.conf import settings

    names = ("SESSION_COOKIE_SAMESITE", "SESSION_ENGINE", "ROOT_URLCONF")
    before = {n: getattr(settings, n) for n in names} if settings.configured else {}
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(settings, name, value)
        if not before and settings.configured:
            settings.SESSION_COOKIE_SAMESITE = "Lax"  # Django's default
