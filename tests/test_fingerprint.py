"""Passive fingerprinting: server banners, cookies and default error pages."""

from __future__ import annotations

import json

import httpx
import pytest
from flask import Flask, session
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import InternalServerError, MethodNotAllowed, NotFound
from werkzeug.test import Client
from werkzeug.wrappers import Response

from apigrade.fingerprint import FpInput, fingerprint, itsdangerous_kind


def _werkzeug_input(resp: Response) -> FpInput:
    return FpInput(
        status=resp.status_code,
        headers=list(resp.headers.items()),
        body=resp.get_data(as_text=True),
        cookies=[],
    )


def _flask_app() -> Flask:
    app = Flask("fp")
    app.secret_key = "not-secret"

    @app.route("/login")
    def login() -> str:
        session["user"] = "alice"
        return "ok"

    @app.route("/big")
    def big() -> str:
        session["blob"] = "x" * 400  # compressible: Flask zlib-compresses it
        return "ok"

    return app


def test_werkzeug_dev_server_banner() -> None:
    res = fingerprint([FpInput(200, [("Server", "Werkzeug/3.1.3 Python/3.12.1")], "hi", [])])
    assert res.server == "Werkzeug/3.1.3 Python/3.12.1"
    assert res.frameworks == ["flask", "werkzeug"]
    assert res.versions == {"werkzeug": "3.1.3", "python": "3.12.1"}
    assert "Werkzeug" in res.evidence["flask"]


@pytest.mark.parametrize("exc", [NotFound(), MethodNotAllowed(["GET"]), InternalServerError()])
def test_real_werkzeug_error_pages(exc: NotFound) -> None:
    res = fingerprint([_werkzeug_input(exc.get_response())])
    assert res.frameworks == ["flask", "werkzeug"]
    assert res.server is None
    assert "Werkzeug default HTML error page" in res.evidence["werkzeug"]


def test_old_werkzeug_error_page() -> None:
    body = (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>405 Method Not Allowed'
        "</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested "
        "URL.</p>\n"
    )
    assert fingerprint([FpInput(405, [], body, [])]).frameworks == ["flask", "werkzeug"]


def test_realistic_flask_app_responses() -> None:
    client = Client(_flask_app())
    login = client.get("/login")
    missing = client.get("/nope")
    cookies = [c.split("=", 1)[0] for c in login.headers.getlist("Set-Cookie")]
    res = fingerprint(
        [
            FpInput(200, list(login.headers.items()), login.get_data(as_text=True), cookies),
            _werkzeug_input(missing),
        ]
    )
    assert res.frameworks == ["flask", "werkzeug"]
    assert "itsdangerous-signed flask session" in res.evidence["flask"]


def test_flask_session_cookie_shapes() -> None:
    client = Client(_flask_app())
    plain = client.get("/login").headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    compressed = client.get("/big").headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    assert compressed.startswith(".")
    assert itsdangerous_kind(plain) == "flask"
    assert itsdangerous_kind(compressed) == "flask"
    # Not itsdangerous: a JWT, random ids, garbage.
    jwt = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0."
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    )
    for value in (jwt, "abc123", "", "a.b.c", "..", "x" * 100):
        assert itsdangerous_kind(value) is None, value
    headers = [("Set-Cookie", f"session={jwt}; Path=/")]
    assert fingerprint([FpInput(200, headers, "", ["session"])]).frameworks == []


async def _asgi_get(app: object, *paths: str) -> list[httpx.Response]:
    """GET ``paths`` from an ASGI app in-process (no socket)."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return [await client.get(p) for p in paths]


async def test_starlette_session_cookie() -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def home(request: Request) -> PlainTextResponse:
        request.session["user"] = "alice"
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[Route("/", home)], middleware=[Middleware(SessionMiddleware, secret_key="k")]
    )
    ok, missing = await _asgi_get(app, "/", "/nope")
    value = ok.cookies["session"]
    assert itsdangerous_kind(value) == "starlette"
    res = fingerprint(
        [
            FpInput(200, list(ok.headers.items()) + [("server", "uvicorn")], ok.text, ["session"]),
            FpInput(404, list(missing.headers.items()), missing.text, []),
        ]
    )
    assert res.frameworks == ["starlette", "uvicorn"]
    assert "flask" not in res.frameworks


def test_plain_not_found_needs_an_asgi_server() -> None:
    hdrs = [("content-type", "text/plain; charset=utf-8")]
    assert fingerprint([FpInput(404, hdrs, "Not Found", [])]).frameworks == []
    res = fingerprint([FpInput(404, [*hdrs, ("server", "uvicorn")], "Not Found", [])])
    assert res.frameworks == ["starlette", "uvicorn"]


def test_fastapi_markers() -> None:
    json_hdr = [("content-type", "application/json"), ("server", "uvicorn")]
    res = fingerprint([FpInput(404, json_hdr, '{"detail":"Not Found"}', [])])
    assert res.frameworks == ["fastapi", "starlette", "uvicorn"]
    assert res.server == "uvicorn"
    assert res.versions == {}
    validation = json.dumps(
        {"detail": [{"type": "missing", "loc": ["query", "q"], "msg": "Field required"}]}
    )
    assert "fastapi" in fingerprint([FpInput(422, json_hdr, validation, [])]).frameworks
    # The same JSON on a 200, or another detail, is no evidence.
    assert fingerprint([FpInput(200, json_hdr[:1], '{"detail":"Not Found"}', [])]).frameworks == []
    assert fingerprint([FpInput(404, json_hdr[:1], '{"detail":"gone"}', [])]).frameworks == []


async def test_real_fastapi_docs_and_404() -> None:
    fastapi = pytest.importorskip("fastapi")
    docs, missing = await _asgi_get(fastapi.FastAPI(), "/docs", "/nope")
    res = fingerprint([FpInput(docs.status_code, list(docs.headers.items()), docs.text, [])])
    assert res.frameworks == ["fastapi", "starlette"]
    res = fingerprint([FpInput(404, list(missing.headers.items()), missing.text, [])])
    assert res.frameworks == ["fastapi", "starlette"]


# Django's default texts, from django/views/defaults.py and views/templates.
DJANGO_404 = """
<!doctype html>
<html lang="en">
<head>
  <title>Not Found</title>
</head>
<body>
  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>
</body>
</html>
"""
DJANGO_500 = """
<!doctype html>
<html lang="en">
<head>
  <title>Server Error (500)</title>
</head>
<body>
  <h1>Server Error (500)</h1><p></p>
</body>
</html>
"""
APACHE_404 = """<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>404 Not Found</title>
</head><body>
<h1>Not Found</h1>
<p>The requested URL was not found on this server.</p>
<hr>
<address>Apache/2.4.57 (Debian) Server at example.test Port 80</address>
</body></html>
"""


def test_django_markers() -> None:
    assert fingerprint([FpInput(404, [], DJANGO_404, [])]).frameworks == ["django"]
    assert fingerprint([FpInput(500, [], DJANGO_500, [])]).frameworks == ["django"]
    old = "<h1>Not Found</h1><p>The requested URL /nope/ was not found on this server.</p>"
    assert fingerprint([FpInput(404, [], old, [])]).frameworks == ["django"]
    res = fingerprint([FpInput(200, [("Set-Cookie", "csrftoken=abc; Path=/")], "", [])])
    assert res.frameworks == ["django"]
    assert fingerprint([FpInput(200, [], "", ["sessionid"])]).frameworks == ["django"]
    debug = (
        "<p>You’re seeing this error because you have <code>DEBUG = True</code> in\n"
        "      your Django settings file."
    )
    assert fingerprint([FpInput(404, [], debug, [])]).frameworks == ["django"]


def test_generic_markers_name_nothing() -> None:
    res = fingerprint(
        [
            FpInput(200, [("X-Frame-Options", "DENY"), ("Vary", "Cookie")], "<html></html>", []),
            FpInput(404, [("Content-Type", "text/html")], "<h1>Not Found</h1>", []),
        ]
    )
    assert res.frameworks == [] and res.server is None and res.evidence == {}


def test_apache_is_not_django() -> None:
    res = fingerprint([FpInput(404, [("Server", "Apache/2.4.57 (Debian)")], APACHE_404, [])])
    assert res.frameworks == ["apache"]
    assert res.versions == {"apache": "2.4.57"}


def test_express_markers() -> None:
    # finalhandler's page for an unmatched route.
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
        "</head>\n<body>\n<pre>Cannot GET /nope</pre>\n</body>\n</html>\n"
    )
    assert fingerprint([FpInput(404, [], page, [])]).frameworks == ["express"]
    assert fingerprint([FpInput(404, [], "Cannot POST /x\n", [])]).frameworks == ["express"]
    res = fingerprint([FpInput(200, [("X-Powered-By", "Express")], "{}", ["connect.sid"])])
    assert res.frameworks == ["express"]
    assert res.evidence["express"] == "X-Powered-By: Express"
    assert fingerprint([FpInput(200, [], "Cannot GET /x", [])]).frameworks == []


def test_banners_and_versions() -> None:
    res = fingerprint(
        [
            FpInput(200, [("Server", "nginx/1.25.3")], "", []),
            FpInput(200, [("server", "gunicorn/21.2.0"), ("X-Powered-By", "PHP/8.1.2")], "", []),
            FpInput(200, [("server", "gunicorn")], "", []),
        ]
    )
    assert res.server == "nginx/1.25.3"
    assert res.frameworks == ["php", "gunicorn", "nginx"]
    assert res.versions == {"nginx": "1.25.3", "gunicorn": "21.2.0", "php": "8.1.2"}
    nginx_page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>"
    res = fingerprint([FpInput(502, [], nginx_page, [])])
    assert res.frameworks == ["nginx"] and res.versions == {"nginx": "1.18.0"}


def test_mapping_headers_and_odd_inputs() -> None:
    res = fingerprint([FpInput(200, {"Server": "Werkzeug/2.3.7 Python/3.11.4"}, "", [])])
    assert res.versions["werkzeug"] == "2.3.7"
    odd = FpInput(200, [("Server",), (1, 2), ("server", "uvicorn")], None, [None])  # type: ignore[arg-type, list-item]
    assert fingerprint([odd]).frameworks == ["uvicorn"]
    assert fingerprint([]).frameworks == []


_header = st.tuples(
    st.sampled_from(["Server", "X-Powered-By", "Set-Cookie", "Content-Type", "X-AspNet-Version"])
    | st.text(max_size=20),
    st.text(max_size=200),
)


@settings(max_examples=200, deadline=None)
@given(
    status=st.integers(min_value=0, max_value=999),
    headers=st.lists(_header, max_size=6),
    body=st.text(max_size=2000),
    cookies=st.lists(st.text(max_size=20), max_size=4),
)
def test_fingerprint_never_raises(
    status: int, headers: list[tuple[str, str]], body: str, cookies: list[str]
) -> None:
    res = fingerprint([FpInput(status, headers, body, cookies)])
    assert isinstance(res.frameworks, list)
    assert set(res.evidence) == set(res.frameworks)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_itsdangerous_kind_never_raises(value: str) -> None:
    assert itsdangerous_kind(value) in (None, "flask", "starlette")
