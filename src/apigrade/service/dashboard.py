"""The web dashboard: login, targets with their latest grade and trends, scan pages, and a
form to start a scan. Session cookie (HttpOnly, SameSite=Strict) plus a CSRF token on
every form; no script at all."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined

from apigrade.errors import UsageError
from apigrade.service.api import client_of
from apigrade.service.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_TTL_S
from apigrade.service.charts import grade_colour, sparkline, trend_chart
from apigrade.service.jobs import ScanRequestData
from apigrade.service.render import REPORT_CSP, report_html

router = APIRouter(include_in_schema=False)
MAX_FORM = 16 * 1024


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("apigrade.service", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(grade_colour=grade_colour, quote=quote)
    return env


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env().get_template(name).render(**context), status_code=status)


def _session(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token if request.app.state.svc.auth.session_ok(token) else None


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form body (bounded); a cross-origin POST is refused."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin is not None and origin != own:
        raise HTTPException(403, "cross-origin form post refused")
    body = await request.body()
    if len(body) > MAX_FORM:
        raise HTTPException(413, "form too large")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )


# -- login ------------------------------------------------------------------------------
@router.get("/login")
async def login_form(request: Request) -> Response:
    import secrets

    token = secrets.token_urlsafe(24)
    response = page("login.html", csrf=token, error=None)
    _cookie(request, response, LOGIN_CSRF_COOKIE, token, 3600)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    svc = request.app.state.svc
    form = await _form(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or form.get("csrf") != expected:
        return page("login.html", 400, csrf=expected or "", error="session expired; try again")
    verdict = svc.auth.authenticate(form.get("api_key"), client_of(request))
    if verdict == "throttled":
        return page("login.html", 429, csrf=expected, error="too many attempts; wait a minute")
    if verdict != "ok":
        return page("login.html", 401, csrf=expected, error="wrong API key")
    response = RedirectResponse("/", status_code=303)
    _cookie(request, response, SESSION_COOKIE, svc.auth.new_session(), SESSION_TTL_S)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = _session(request)
    form = await _form(request)
    if session and request.app.state.svc.auth.csrf_ok(session, form.get("csrf")):
        request.app.state.svc.auth.end_session(session)
    response = _login_redirect()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- pages --------------------------------------------------------------------------------
def _common(request: Request, session: str) -> dict[str, Any]:
    return {"csrf": request.app.state.svc.auth.csrf_token(session)}


@router.get("/")
async def index(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _login_redirect()
    return _index(request, session)


def _index(request: Request, session: str, error: str | None = None, status: int = 200) -> Response:
    results = request.app.state.svc.results
    rows = []
    for rec in results.latest_by_target():
        scores = [r.score for r in results.history(rec.target, 20) if r.score is not None]
        rows.append({"rec": rec, "spark": sparkline(scores)})
    return page("index.html", status, targets=rows, recent=results.scans(limit=15), error=error,
                allow=[p.raw for p in request.app.state.svc.allow.patterns],
                **_common(request, session))


@router.post("/scans")
async def start_scan(request: Request) -> Response:
    svc = request.app.state.svc
    session = _session(request)
    if session is None:
        return _login_redirect()
    form = await _form(request)
    if not svc.auth.csrf_ok(session, form.get("csrf")):
        raise HTTPException(403, "bad or missing CSRF token; reload the page")
    try:
        target = svc.allow.check(form.get("url", ""))
    except UsageError as exc:
        return _index(request, session, error=str(exc), status=400)
    scan_id = await svc.jobs.submit(ScanRequestData(target.url))
    return RedirectResponse(f"/scans/{scan_id}", status_code=303)


@router.get("/target")
async def target_page(request: Request, url: str) -> Response:
    session = _session(request)
    if session is None:
        return _login_redirect()
    results = request.app.state.svc.results
    history = results.history(url, 50)
    points = [(r.created_iso, r.score, r.grade or "F") for r in history if r.score is not None]
    return page("target.html", target=url, chart=trend_chart(points),
                scans=results.scans(url, 50), **_common(request, session))


def _scan_or_404(request: Request, scan_id: str) -> Any:
    if not scan_id.replace("-", "").replace("_", "").isalnum() or len(scan_id) > 64:
        raise HTTPException(404, "no such scan")
    record = request.app.state.svc.results.get(scan_id)
    if record is None:
        raise HTTPException(404, "no such scan")
    return record


@router.get("/scans/{scan_id}")
async def scan_page(request: Request, scan_id: str) -> Response:
    session = _session(request)
    if session is None:
        return _login_redirect()
    record = _scan_or_404(request, scan_id)
    report = request.app.state.svc.results.report(scan_id)
    counts: dict[str, int] = {}
    for f in report.findings if report else []:
        counts[f.severity.value] = counts.get(f.severity.value, 0) + 1
    return page("scan.html", rec=record, report=report, counts=counts,
                **_common(request, session))


@router.get("/scans/{scan_id}/report")
async def scan_report(request: Request, scan_id: str) -> Response:
    if _session(request) is None:
        return _login_redirect()
    _scan_or_404(request, scan_id)
    report = request.app.state.svc.results.report(scan_id)
    if report is None:
        raise HTTPException(409, "this scan has no report")
    return HTMLResponse(report_html(report), headers={"Content-Security-Policy": REPORT_CSP})


@router.get("/static/app.css")
async def stylesheet() -> Response:
    css = files("apigrade.service").joinpath("templates/app.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css")
