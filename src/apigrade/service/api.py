"""The JSON API under /api: every route needs the X-API-Key header."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Security
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field

from apigrade.errors import UsageError
from apigrade.options import parse_cookie, parse_header
from apigrade.service.auth import peer_key
from apigrade.service.jobs import ScanRequestData
from apigrade.service.render import REPORT_CSP, report_html

ScanId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="a scan id")]


def client_of(request: Request) -> str:
    """The throttle key of the peer: its socket address (a forwarded address only when
    ``--trust-proxy`` names the proxy it came through)."""
    return peer_key(request.client.host if request.client else None)


API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False)


async def require_key(
    request: Request, provided: Annotated[str | None, Security(API_KEY)] = None
) -> None:
    """The right key always passes; else 429 after too many failures from this peer,
    401 without a key, 403 with a wrong one."""
    verdict = request.app.state.svc.auth.authenticate(provided, client_of(request))
    if verdict == "throttled":
        raise HTTPException(429, "too many failed authentications; wait a minute",
                            headers={"Retry-After": "60"})
    if verdict == "missing":
        raise HTTPException(401, "missing X-API-Key header",
                            headers={"WWW-Authenticate": 'ApiKey header="X-API-Key"'})
    if verdict == "wrong":
        raise HTTPException(403, "invalid API key")


router = APIRouter(prefix="/api", dependencies=[Depends(require_key)], tags=["scans"])


class ScanRequest(BaseModel):
    """A scan to start. Headers and cookie are sent to the target only."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048, description="base URL of the target")
    headers: list[Annotated[str, Field(max_length=8192)]] = Field(
        default_factory=list, max_length=32, description="'Name: value' strings"
    )
    cookie: str | None = Field(default=None, max_length=8192)
    max_requests: int | None = Field(default=None, ge=1, le=100000)


class ScanAccepted(BaseModel):
    scan_id: str
    status: str
    target: str
    links: dict[str, str]


def validate_request(svc: Any, body: ScanRequest) -> ScanRequestData:
    """Parse headers and apply the allow list; UsageError explains a refusal."""
    target = svc.allow.check(body.url)
    headers = tuple(parse_header(h) for h in body.headers)  # validated, never echoed
    return ScanRequestData(target.url, headers, parse_cookie(body.cookie), body.max_requests)


@router.post("/scans", status_code=202, response_model=ScanAccepted)
async def submit_scan(request: Request, body: ScanRequest) -> Any:
    """Start a scan; poll ``links.self`` until its status is ``completed`` or ``failed``."""
    svc = request.app.state.svc
    try:
        data = validate_request(svc, body)
    except UsageError as exc:
        status = 403 if "not allowed" in str(exc) else 422
        return JSONResponse({"error": str(exc)}, status_code=status)
    scan_id = await svc.jobs.submit(data)
    return ScanAccepted(
        scan_id=scan_id, status="running", target=data.url,
        links={"self": f"/api/scans/{scan_id}", "report": f"/api/scans/{scan_id}/report"},
    )


@router.get("/scans")
async def list_scans(
    request: Request,
    target: Annotated[str | None, Query(max_length=2048)] = None,
    status: Annotated[str | None, Query(pattern="^(running|completed|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Stored scans, newest first."""
    records = request.app.state.svc.results.scans(target, limit, status)
    return {"scans": [r.to_dict() for r in records]}


@router.get("/targets")
async def list_targets(request: Request) -> dict[str, Any]:
    """Every scanned target with its latest scan."""
    return {"targets": [r.to_dict() for r in request.app.state.svc.results.latest_by_target()]}


def _record(request: Request, scan_id: str) -> Any:
    record = request.app.state.svc.results.get(scan_id)
    if record is None:
        raise HTTPException(404, f"no scan {scan_id}")
    return record


@router.get("/scans/{scan_id}")
async def get_scan(request: Request, scan_id: ScanId) -> dict[str, Any]:
    """A scan's status, and its JSON report once completed."""
    record = _record(request, scan_id)
    report = request.app.state.svc.results.report(scan_id)
    return {**record.to_dict(), "report": report.model_dump(mode="json") if report else None}


@router.get("/scans/{scan_id}/report", response_model=None)
async def get_report(
    request: Request,
    scan_id: ScanId,
    format: Annotated[str, Query(pattern="^(json|html)$")] = "json",
) -> Response:
    """The report as JSON (the contract's format) or as an HTML page."""
    _record(request, scan_id)
    report = request.app.state.svc.results.report(scan_id)
    if report is None:
        raise HTTPException(409, f"scan {scan_id} has no report (still running or failed)")
    if format == "html":
        return HTMLResponse(report_html(report), headers={"Content-Security-Policy": REPORT_CSP})
    return Response(report.model_dump_json(indent=2), media_type="application/json")


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> dict[str, Any]:
    """This service's OpenAPI document (FastAPI's)."""
    return request.app.openapi()
