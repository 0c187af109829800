"""The FastAPI application: settings, security headers, error format, routers."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from apigrade import __version__
from apigrade.auth.config import operator_auth
from apigrade.errors import ApigradeError, UsageError
from apigrade.fleet.results import Results
from apigrade.redact import redact_text
from apigrade.scan_options import ScanOptions
from apigrade.service.auth import Auth
from apigrade.service.hosts import AllowedHosts, HostCheck
from apigrade.service.jobs import ScanJobs
from apigrade.service.scope import AllowList

#: Pages and API answers: nothing external, no script, no framing.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@dataclass
class ServiceSettings:
    """Everything ``apigrade serve`` is configured with."""

    auth: Auth
    allow: AllowList
    results: Results
    base: ScanOptions
    parallel: int = 2
    #: ``Host`` values answered (DNS rebinding); an app built in code: loopback names
    allowed_hosts: AllowedHosts = field(default_factory=AllowedHosts.loopback)
    #: proxies whose X-Forwarded-For/-Proto uvicorn trusts (none by default)
    trust_proxy: tuple[str, ...] = ()

    @classmethod
    def build(
        cls, *, api_key: str, allow: list[str], db_url: str | None = None, parallel: int = 2,
        max_requests: int = 800, timeout: float = 10.0, host: str = "127.0.0.1",
        port: int = 8080, allowed_hosts: list[str] | None = None,
        trust_proxy: list[str] | None = None, auth_file: str | Path | None = None,
    ) -> ServiceSettings:
        hosts = AllowedHosts.for_bind(host, port, allowed_hosts)  # checked before the DB opens
        proxies = trusted_proxies(trust_proxy or [])
        auth_path = operator_auth(auth_file)  # the operator's only: no request sets it
        return cls(
            auth=Auth(api_key),
            allow=AllowList(allow),
            results=Results(db_url),
            base=ScanOptions(max_requests=max_requests, timeout=timeout, auth=auth_path),
            parallel=parallel,
            allowed_hosts=hosts,
            trust_proxy=proxies,
        )


def trusted_proxies(values: list[str]) -> tuple[str, ...]:
    """``--trust-proxy`` values: IP addresses or networks (``*``: any peer, a bad idea)."""
    out: list[str] = []
    for raw in values:
        text = raw.strip()
        if text != "*":
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise UsageError(
                    f"bad --trust-proxy {raw!r}: give the proxy's IP address or network"
                ) from None
        out.append(text)
    return tuple(out)


class Service:
    """Per-app state reachable from routes as ``request.app.state.svc``."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.auth = settings.auth
        self.allow = settings.allow
        self.results = settings.results
        self.jobs = ScanJobs(settings.results, settings.base, settings.parallel)


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    """The service's one error shape: ``{"error": message, ...}``."""
    return JSONResponse({"error": message, **extra}, status_code=status)


def _validation_message(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    # never echo the submitted values back (they may hold credentials)
    details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"] if p != "body") or "request"
    return f"invalid request: {where}: {first['msg']}", details


def create_app(settings: ServiceSettings) -> FastAPI:
    """The service as an ASGI app (``uvicorn`` serves it; tests may too)."""
    from apigrade.service import api, apidocs, dashboard

    svc = Service(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await svc.jobs.close()

    app = FastAPI(
        title="apigrade service",
        version=__version__,
        description="Submit scans, list them and fetch reports. Every /api route needs the "
        "X-API-Key header. Interactive docs: /docs (log in to the dashboard first).",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served at /api/openapi.json, behind the key
        lifespan=lifespan,
    )
    app.state.svc = svc

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"  # no-referrer makes Origin "null"
        response.headers["Cache-Control"] = "no-store"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if request.url.scheme == "https":
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        response = error(exc.status_code, message)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> Response:
        message, details = _validation_message(exc)
        return error(422, message, detail=details)

    @app.exception_handler(ApigradeError)
    async def apigrade_error(_request: Request, exc: ApigradeError) -> Response:
        return error(422, redact_text(str(exc)))  # never a secret the user gave

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(api.router)
    app.include_router(dashboard.router)
    app.include_router(apidocs.router)  # /docs: Swagger UI behind the same key
    app.add_middleware(HostCheck, hosts=settings.allowed_hosts)  # outermost: first check
    return app


#: seconds uvicorn waits for open requests on SIGTERM before closing them
SHUTDOWN_GRACE_S = 2


def uvicorn_config(settings: ServiceSettings, host: str, port: int) -> Any:
    """The uvicorn configuration: no Server banner, proxy headers only from the proxies
    ``--trust-proxy`` names, a bounded graceful shutdown."""
    import uvicorn

    return uvicorn.Config(
        create_app(settings), host=host, port=port, log_level="warning", server_header=False,
        proxy_headers=bool(settings.trust_proxy),
        forwarded_allow_ips=list(settings.trust_proxy) or "",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )


def run_service(settings: ServiceSettings, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM; running scans are killed and marked interrupted."""
    import uvicorn

    uvicorn.Server(uvicorn_config(settings, host, port)).run()
