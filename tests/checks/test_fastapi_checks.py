"""FastAPI as a target: debug tracebacks (Starlette's debugger page) and docs in production."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from starlette.testclient import TestClient

from apigrade.checks.misconfiguration import starlette_debug
from apigrade.discovery.model import Endpoint, Param
from apigrade.engine.http import Exchange, Probe, Response
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import apps_fastapi as apps  # noqa: E402

from apps.catchall import create_app as catchall_app  # noqa: E402
from conftest import by_check, scan_app, scan_url  # noqa: E402

CHECK = "fastapi.debug-mode"
DOCS = ["inventory.api-docs-ui", "inventory.openapi-spec"]


def both(app: Any, **options: Any) -> Iterator[ScanReport]:
    """The app scanned in-process, then under uvicorn over a real socket."""
    yield scan_app(app, **options)
    with apps.serve_asgi(app) as url:
        yield scan_url(url, **options)


def _get(app: Any, path: str, accept: str) -> Any:
    client = TestClient(app, raise_server_exceptions=False)
    return client.get(path, headers={"Accept": accept})


def test_starlette_pages_are_recognised() -> None:
    html_page = _get(apps.flawed_app(), "/api/items/x", "text/html")
    assert html_page.status_code == 500
    found = starlette_debug.starlette_page(html_page.text)
    assert found is not None and found[0].startswith("ValueError")
    assert any("apps_fastapi.py" in f for f in found[1])
    plain = _get(apps.flawed_app(), "/api/items/x", "*/*")
    assert plain.headers["content-type"].startswith("text/plain")
    resp = Response(500, tuple(plain.headers.items()), plain.content)
    ex = Exchange(Probe(url="http://t/api/items/x"), resp, "http://t/api/items/x")
    assert starlette_debug.plain_traceback(ex)
    quiet = _get(apps.quiet_errors_app(), "/api/items/x", "text/html")
    assert quiet.status_code == 500 and starlette_debug.starlette_page(quiet.text) is None
    assert starlette_debug.starlette_page("<title>Starlette Debugger</title> a blog post") is None


def test_provoked_urls_are_bounded_and_typed() -> None:
    eps = [
        Endpoint("http://t/a/{x}", params=(Param("x", "path", "string", True),)),
        Endpoint("http://t/b/{n}", params=(Param("n", "path", "integer", True),)),
        Endpoint("http://t/c/{x}", method="POST", params=(Param("x", "path", "string", True),)),
        Endpoint("http://t/d/{x}/{n}", params=(Param("x", "path", None, True),
                                               Param("n", "path", "integer", True))),
        Endpoint("http://t/e/{x}", params=(Param("x", "path", "string", True),)),
    ]  # fmt: skip
    assert starlette_debug.provoke_urls(eps) == ["http://t/a/apigrade'", "http://t/d/apigrade'/1"]


def test_flawed_app_debug_traceback() -> None:
    for report in both(apps.flawed_app(), only=[CHECK]):
        [f] = by_check(report, CHECK)
        assert f.severity == "high" and f.cwe == 489 and f.category == "misconfiguration"
        assert "GET /api/items/apigrade' -> 500" in f.evidence
        assert "Starlette Debugger page, ValueError" in f.evidence
        assert "apps_fastapi.py" in f.evidence


def test_flawed_app_docs_exposed() -> None:
    for report in both(apps.flawed_app(), only=DOCS):
        ui = {f.url.rsplit("/", 1)[-1] for f in by_check(report, "inventory.api-docs-ui")}
        assert ui == {"docs", "redoc"}
        [spec] = by_check(report, "inventory.openapi-spec")
        assert spec.url.endswith("/openapi.json") and "Shop API" in spec.evidence


def test_docs_beside_a_prefixed_spec() -> None:
    for report in both(apps.prefixed_docs_app(), only=DOCS):
        ui = {f.url.split("/", 3)[-1] for f in by_check(report, "inventory.api-docs-ui")}
        assert ui == {"api/v1/docs", "api/v1/redoc"}
        [spec] = by_check(report, "inventory.openapi-spec")
        assert spec.url.endswith("/api/v1/openapi.json")


def test_starlette_session_is_parsed_cracked_and_forged() -> None:
    from apigrade.crack import forge, parse_token, verify_key

    client = TestClient(apps.flawed_app())
    token = parse_token(client.get("/").cookies["session"], name="session")
    assert token is not None and token.label == "Starlette session cookie"
    assert token.payload == {"user_id": 7, "email": "ada@example.com", "role": "customer"}
    assert verify_key(token, apps.WEAK_KEY) is not None and verify_key(token, "nope") is None
    forged = forge(token, apps.WEAK_KEY, {"user_id": 1, "role": "admin"})
    app = apps.flawed_app()

    @app.get("/whoami")
    def whoami(request: Request) -> dict[str, Any]:
        return dict(request.session)

    probe = TestClient(app)
    probe.cookies.set("session", forged)
    assert probe.get("/whoami").json() == {"user_id": 1, "role": "admin"}  # the app accepts it


def test_flawed_app_session_findings() -> None:
    checks = ["session.readable-contents", "auth.weak-signing-key"]
    for report in both(apps.flawed_app(), only=checks):
        [readable] = by_check(report, "session.readable-contents")
        assert readable.parameter == "session" and "email=a" in readable.evidence
        assert "SessionMiddleware" in readable.remediation
        [key] = by_check(report, "auth.weak-signing-key")
        assert "Starlette session cookie" in key.evidence and "'s****t'" in key.evidence
        assert "salt 'itsdangerous.Signer'" in key.evidence


MINE = [CHECK, "django.debug-mode", "django.admin-login", "django.debug-settings",
        "django.debug-toolbar", "django.secret-key-exposed", "django.dev-server"]


@pytest.mark.parametrize("make", [apps.fixed_app, apps.quiet_errors_app], ids=["fixed", "debug-off"])
def test_no_false_positives(make: Any) -> None:
    extra = [*DOCS, "session.readable-contents", "auth.weak-signing-key"]
    only = MINE + (extra if make is apps.fixed_app else [])
    for report in both(make(), only=only):
        assert [f.check_id for f in report.findings if f.check_id in only] == []


def test_catch_all_app_is_clean(scan_both: Callable[..., tuple[ScanReport, ScanReport]]) -> None:
    for report in scan_both(catchall_app(), only=MINE):
        assert [f.check_id for f in report.findings if f.check_id in MINE] == []


def test_request_budget() -> None:
    app = apps.flawed_app()
    discovery = scan_app(app, only=[]).requests_sent
    assert scan_app(app, only=[CHECK]).requests_sent - discovery <= 4  # 2 provoke + 2 confirm


def test_in_process_app_errors_answer_like_uvicorn() -> None:
    """Starlette re-raises after its 500 page, and a bare ASGI error sends nothing: in
    process the scan sees what a client of uvicorn sees, not an exception."""
    import asyncio

    import httpx

    from apigrade.engine.transports import ASGIAppTransport

    async def bare(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    async def get(app: Any, accept: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=ASGIAppTransport(app)) as client:
            return await client.get("http://testserver/api/items/x", headers={"Accept": accept})

    page = asyncio.run(get(apps.flawed_app(), "text/html"))
    assert page.status_code == 500 and "Starlette Debugger" in page.text
    plain = asyncio.run(get(apps.quiet_errors_app(), "*/*"))
    assert (plain.status_code, plain.text) == (500, "Internal Server Error")
    nothing = asyncio.run(get(bare, "*/*"))
    assert (nothing.status_code, nothing.text) == (500, "Internal Server Error")
