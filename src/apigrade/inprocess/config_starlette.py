"""Starlette and FastAPI: ``debug``, the docs URLs and the middleware stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from apigrade.inprocess.config_model import MAX_SESSION_SECONDS, Issue, days, is_wild, seconds
from apigrade.model import Severity


def middleware(app: Any) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for m in getattr(app, "user_middleware", []) or []:
        cls = getattr(m, "cls", None)
        out.append((getattr(cls, "__name__", str(cls)), dict(getattr(m, "kwargs", {}) or {})))
    return out


def issues(app: Any) -> Iterator[Issue]:
    fastapi = hasattr(app, "openapi_url")
    ctor = "FastAPI" if fastapi else "Starlette"
    if app.debug:
        yield Issue("app-config.debug", "debug", f"{ctor}(debug=True)",
                    f"`{ctor}(debug=False)` (the default): debug mode sends tracebacks to "
                    "clients.", key="debug")  # fmt: skip
    if fastapi:
        on = {k: getattr(app, k, None) for k in ("docs_url", "redoc_url", "openapi_url")}
        shown = {k: v for k, v in on.items() if v}
        if shown:
            yield Issue("app-config.docs-exposed", "docs_url",
                        ", ".join(f"{k} = {v!r}" for k, v in shown.items()),
                        "`FastAPI(docs_url=None, redoc_url=None, openapi_url=None)` in "
                        "production, or serve them behind authentication.", key="docs_url")  # fmt: skip
    stack = middleware(app)
    for name, kw in stack:
        if name == "CORSMiddleware":
            wild = is_wild(kw.get("allow_origins", ())) or is_wild(
                kw.get("allow_origin_regex") or ""
            )
            if wild and kw.get("allow_credentials"):
                yield Issue("app-config.cors-credentials", "CORSMiddleware",
                            "CORSMiddleware(allow_origins=['*'], allow_credentials=True): "
                            "Starlette then echoes any Origin",
                            "`app.add_middleware(CORSMiddleware, allow_origins=['https://app."
                            "example.com'], allow_credentials=True)`.",
                            key="allow_credentials")  # fmt: skip
        if name == "SessionMiddleware":
            if not kw.get("https_only"):
                yield Issue("app-config.session-cookie-secure", "SessionMiddleware.https_only",
                            "SessionMiddleware(https_only=False)",
                            "`app.add_middleware(SessionMiddleware, secret_key=..., "
                            "https_only=True)`.", key="https_only")  # fmt: skip
            if str(kw.get("same_site", "lax")).lower() == "none":
                yield Issue("app-config.session-cookie-samesite", "SessionMiddleware.same_site",
                            "SessionMiddleware(same_site='none')",
                            "`SessionMiddleware(..., same_site='lax')` (the default).",
                            key="same_site")  # fmt: skip
            age = seconds(kw.get("max_age", 14 * 24 * 3600))
            if age is not None and age > MAX_SESSION_SECONDS:
                yield Issue("app-config.session-lifetime", "SessionMiddleware.max_age",
                            f"SessionMiddleware max_age = {days(age)}",
                            "`SessionMiddleware(..., max_age=12 * 3600)` (the default is two "
                            "weeks).", key="max_age")  # fmt: skip
    hosts = next((kw.get("allowed_hosts") for n, kw in stack if n == "TrustedHostMiddleware"), None)
    if hosts is None or "*" in list(hosts):
        yield Issue("app-config.allowed-hosts", "TrustedHostMiddleware",
                    "no TrustedHostMiddleware" if hosts is None else
                    f"TrustedHostMiddleware(allowed_hosts={list(hosts)!r})",
                    "`app.add_middleware(TrustedHostMiddleware, allowed_hosts=['api.example."
                    "com'])`, unless the proxy in front rejects unknown Host headers.",
                    severity=Severity.INFO if hosts is None else None)  # fmt: skip


#: Starlette's SessionMiddleware defaults (starlette/middleware/sessions.py)
SESSION_DEFAULTS: dict[str, Any] = {
    "https_only": False,
    "same_site": "lax",
    "max_age": 14 * 24 * 3600,
}


def session_key(app: Any) -> str | None:
    for name, kw in middleware(app):
        if name == "SessionMiddleware" and "secret_key" in kw:
            return str(kw["secret_key"])
    return None
