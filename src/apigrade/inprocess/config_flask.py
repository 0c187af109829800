"""Flask's live configuration: ``app.config`` and the registered extensions."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from apigrade.inprocess.config_model import (
    MAX_SESSION_SECONDS,
    Issue,
    days,
    is_wild,
    module_path,
    seconds,
)


def _flask_cors(app: Any) -> Iterator[dict[str, Any]]:
    """The option dicts flask-cors resolved per resource (read from its after_request)."""
    for fn in app.after_request_funcs.get(None, []):
        if not getattr(fn, "__module__", "").startswith("flask_cors"):
            continue
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, tuple) and len(item) == 2:
                        options = _options(item[1])
                        if options is not None:
                            yield options


def _options(value: Any) -> dict[str, Any] | None:
    """flask-cors's per-resource options: a dict (before 6.0) or a named tuple/dataclass."""
    if isinstance(value, dict):
        return value
    if hasattr(value, "_asdict"):
        return dict(value._asdict())
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    return None


def _has_owner(app: Any, module: str) -> bool:
    """True when a request hook of ``app`` is a method of an object from ``module``."""
    hooks = [*app.before_request_funcs.get(None, []), *app.after_request_funcs.get(None, [])]
    return any(type(getattr(h, "__self__", None)).__module__.startswith(module) for h in hooks)


def _flask_session(cfg: Any) -> Iterator[Issue]:
    """The session cookie's settings (an app with a SECRET_KEY, so with sessions)."""
    if cfg.get("SESSION_COOKIE_SECURE") is not True:
        yield Issue("app-config.session-cookie-secure", "SESSION_COOKIE_SECURE",
                    f"SESSION_COOKIE_SECURE = {cfg.get('SESSION_COOKIE_SECURE')!r}",
                    "`app.config['SESSION_COOKIE_SECURE'] = True` so the session cookie "
                    "never travels over plain HTTP.", key="SESSION_COOKIE_SECURE")  # fmt: skip
    if cfg.get("SESSION_COOKIE_HTTPONLY") is False:
        yield Issue("app-config.session-cookie-httponly", "SESSION_COOKIE_HTTPONLY",
                    "SESSION_COOKIE_HTTPONLY = False",
                    "`app.config['SESSION_COOKIE_HTTPONLY'] = True` (Flask's default): "
                    "scripts must not read the session cookie.",
                    key="SESSION_COOKIE_HTTPONLY")  # fmt: skip
    if not cfg.get("SESSION_COOKIE_SAMESITE"):
        yield Issue("app-config.session-cookie-samesite", "SESSION_COOKIE_SAMESITE",
                    f"SESSION_COOKIE_SAMESITE = {cfg.get('SESSION_COOKIE_SAMESITE')!r}",
                    "`app.config['SESSION_COOKIE_SAMESITE'] = 'Lax'` (or 'Strict').",
                    key="SESSION_COOKIE_SAMESITE")  # fmt: skip
    lifetime = seconds(cfg.get("PERMANENT_SESSION_LIFETIME"))
    if lifetime is not None and lifetime > MAX_SESSION_SECONDS:
        yield Issue("app-config.session-lifetime", "PERMANENT_SESSION_LIFETIME",
                    f"PERMANENT_SESSION_LIFETIME = {days(lifetime)}",
                    "`app.config['PERMANENT_SESSION_LIFETIME'] = timedelta(hours=12)`; a "
                    "Flask session cookie cannot be revoked, so keep it short.",
                    key="PERMANENT_SESSION_LIFETIME")  # fmt: skip


def issues(app: Any) -> Iterator[Issue]:
    cfg = app.config
    if app.debug:
        yield Issue("app-config.debug", "DEBUG", "app.config['DEBUG'] = True",
                    "Load the production config without debug: `app.config['DEBUG'] = False` "
                    "(the default); never `app.run(debug=True)` or `FLASK_DEBUG=1` in production.",
                    key="DEBUG")  # fmt: skip
    if cfg.get("TESTING"):
        yield Issue("app-config.testing", "TESTING", "app.config['TESTING'] = True",
                    "Set `TESTING = False` outside the test suite: in testing mode Flask "
                    "propagates exceptions and extensions relax checks (Flask-WTF CSRF, "
                    "Flask-Login's login_required).", key="TESTING")  # fmt: skip
    if cfg.get("SECRET_KEY"):  # without a key Flask writes no session cookie at all
        yield from _flask_session(cfg)
    if cfg.get("MAX_CONTENT_LENGTH") is None:
        yield Issue("app-config.no-body-limit", "MAX_CONTENT_LENGTH", "MAX_CONTENT_LENGTH = None",
                    "`app.config['MAX_CONTENT_LENGTH'] = 16 * 1024 * 1024` (or what your "
                    "largest upload needs): Flask then answers 413 to bigger bodies.",
                    key="MAX_CONTENT_LENGTH")  # fmt: skip
    if str(cfg.get("PREFERRED_URL_SCHEME", "http")).lower() != "https":
        yield Issue("app-config.url-scheme", "PREFERRED_URL_SCHEME",
                    f"PREFERRED_URL_SCHEME = {cfg.get('PREFERRED_URL_SCHEME')!r}",
                    "`app.config['PREFERRED_URL_SCHEME'] = 'https'` so `url_for(..., "
                    "_external=True)` (password-reset links, OAuth callbacks) builds https URLs.",
                    key="PREFERRED_URL_SCHEME")  # fmt: skip
    if "_debug_toolbar.static" in app.view_functions and cfg.get("DEBUG_TB_ENABLED", app.debug):
        hosts = cfg.get("DEBUG_TB_HOSTS") or "every client"
        yield Issue("app-config.debug-toolbar", "DEBUG_TB_ENABLED",
                    f"Flask-DebugToolbar enabled for {hosts}; DEBUG_TB_INTERCEPT_REDIRECTS = "
                    f"{cfg.get('DEBUG_TB_INTERCEPT_REDIRECTS')!r}; "
                    f"{len(cfg.get('DEBUG_TB_PANELS') or ())} panels",
                    "Register `DebugToolbarExtension(app)` only in development, or set "
                    "`DEBUG_TB_ENABLED = False` in production (and `DEBUG_TB_HOSTS` to your "
                    "own address while developing).", key="DEBUG_TB_ENABLED")  # fmt: skip
    for options in _flask_cors(app):
        wild = options.get("allow_all_origins") or is_wild(options.get("origins", "*"))
        if wild and options.get("supports_credentials"):
            yield Issue("app-config.cors-credentials", "CORS",
                        "flask-cors: origins '*' with supports_credentials=True",
                        "`CORS(app, origins=['https://app.example.com'], "
                        "supports_credentials=True)`: name the origins that may send "
                        "credentialed requests.", key="supports_credentials")  # fmt: skip
            break
    if not _has_owner(app, "flask_talisman"):
        yield Issue("app-config.no-security-headers", "Talisman",
                    "no Flask-Talisman (or equivalent extension) registered",
                    "`Talisman(app, content_security_policy={...})` sets HSTS, CSP, "
                    "X-Content-Type-Options and frame options on every response.")  # fmt: skip
    if "limiter" not in app.extensions:
        yield Issue("app-config.no-rate-limiter", "Limiter", "no Flask-Limiter registered",
                    "`Limiter(get_remote_address, app=app, default_limits=['200 per minute'],"
                    " storage_uri='redis://…')` and `@limiter.limit('5 per minute')` on "
                    "login and other expensive routes.")  # fmt: skip


def config_files(app: Any) -> tuple[list[Path], list[Path]]:
    """The app's module and the loaded modules whose UPPER_CASE names all equal the live
    config (``from_object`` sources); then config-like files next to the app (guessed)."""
    files = [p for p in (module_path(app.import_name),) if p]
    package = app.import_name.split(".")[0]
    for name, mod in list(sys.modules.items()):
        if name != package and not name.startswith(package + "."):
            continue
        upper = [k for k in vars(mod) if k.isupper()] if mod is not None else []
        try:
            same = len(upper) >= 2 and all(app.config.get(k) == getattr(mod, k) for k in upper)
        except Exception:  # noqa: BLE001 - a value that cannot be compared
            same = False
        path = getattr(mod, "__file__", None)
        if same and path:
            files.append(Path(path))
    root, instance = Path(app.root_path), Path(app.instance_path)
    guessed = sorted(root.glob("*config*.py")) + sorted(root.glob("*settings*.py"))
    guessed += (
        sorted(instance.glob("*.py")) + sorted(instance.glob("*.cfg")) if instance.is_dir() else []
    )
    return files, guessed
