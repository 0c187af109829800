"""Real Django sites, flawed and fixed, for the Django checks (one settings object per process).

Django's settings are process-wide, so both variants share one ``settings.configure`` and each
WSGI app puts its own values back on every request (tests use one variant at a time).

- flawed: ``DEBUG = True``, ``ALLOWED_HOSTS = ['*']``, a guessable ``SECRET_KEY``, the
  signed-cookie session backend holding the visitor's e-mail and role, the cookie message
  storage, the admin at its default ``/admin/``, a view that fails on a non-numeric id (the
  technical 500 page with its settings: ``DATABASE_URL`` is not masked by Django's filter),
  routes that nothing links to (only the DEBUG 404 page lists them), and the project
  folder served as ``/static/`` (its settings.py holds the key as the env default).
- fixed: ``DEBUG = False``, explicit ``ALLOWED_HOSTS``, a long random key, sessions in the
  server-side cache, no admin route at a guessable path; the same views otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
from django.conf import settings

WEAK_KEY = "changeme"
STRONG_KEY = secrets.token_urlsafe(50)
DB_PASSWORD = "Sh0pDbPassw0rd"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

_COMMON: dict[str, Any] = {
    "INSTALLED_APPS": [
        "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
        "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
        "debug_toolbar",  # its middleware only in the toolbar variant
    ],
    "MIDDLEWARE": MIDDLEWARE,
    "TEMPLATES": [{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": [
            "django.template.context_processors.request",
            "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages",
        ]},
    }],
    "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:",
                              "PASSWORD": DB_PASSWORD}},
    "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    "STATIC_URL": "/static/",
    "USE_TZ": True,
    "DEFAULT_AUTO_FIELD": "django.db.models.AutoField",
    "LOGGING_CONFIG": None,
    "DEBUG_TOOLBAR_CONFIG": {"IS_RUNNING_TESTS": False},
}

FLAWED: dict[str, Any] = {
    "DEBUG": True,
    "MIDDLEWARE": MIDDLEWARE,
    "INTERNAL_IPS": [],
    "ALLOWED_HOSTS": ["*"],
    "SECRET_KEY": WEAK_KEY,
    "ROOT_URLCONF": "apps_django_urls_flawed",
    "SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies",
    "MESSAGE_STORAGE": "django.contrib.messages.storage.cookie.CookieStorage",
    # a custom setting whose name Django's SafeExceptionReporterFilter does not hide
    "DATABASE_URL": f"postgres://shop:{DB_PASSWORD}@db.internal:5432/shop",
    "PAYMENTS_CREDENTIALS": "pk_live_4f9c2a7d1e8b6a3f0c5d9e2b7a1f4c8d",
}

FIXED: dict[str, Any] = {
    "DEBUG": False,
    "MIDDLEWARE": MIDDLEWARE,
    "INTERNAL_IPS": [],
    "ALLOWED_HOSTS": ["testserver", "127.0.0.1", "localhost"],
    "SECRET_KEY": STRONG_KEY,
    "ROOT_URLCONF": "apps_django_urls_fixed",
    "SESSION_ENGINE": "django.contrib.sessions.backends.cache",
    "MESSAGE_STORAGE": "django.contrib.messages.storage.session.SessionStorage",
    "DATABASE_URL": "",
    "PAYMENTS_CREDENTIALS": "",
    "SESSION_COOKIE_HTTPONLY": True,
}


#: the flawed site plus django-debug-toolbar, shown to 127.0.0.1 (the tutorials' setup)
TOOLBAR: dict[str, Any] = {
    **FLAWED,
    "MIDDLEWARE": ["debug_toolbar.middleware.DebugToolbarMiddleware", *MIDDLEWARE],
    "INTERNAL_IPS": ["127.0.0.1"],
    "ROOT_URLCONF": "apps_django_urls_toolbar",
}


def _configure() -> None:
    from django.apps import apps as registry

    if settings.configured and "django.contrib.admin" not in settings.INSTALLED_APPS:
        # another test set up a bare Django (signing only): start over with this site's apps
        from django.utils.functional import empty

        settings._wrapped = empty
        registry.app_configs = {}
        registry.apps_ready = registry.models_ready = registry.ready = registry.loading = False
        registry.clear_cache()
    if not settings.configured:
        settings.configure(**{**_COMMON, **FLAWED})
    django.setup()  # once: a no-op when the registry is ready
    _urlconfs()
    logging.getLogger("django").setLevel(logging.CRITICAL)  # no tracebacks on stderr


def _apply(values: dict[str, Any]) -> None:
    for name, value in values.items():
        if getattr(settings, name, object()) != value:
            setattr(settings, name, value)


def _make(values: dict[str, Any]) -> Any:
    _configure()
    _apply(values)
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()  # reads SESSION_ENGINE now (SessionMiddleware.__init__)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        _apply(values)
        return handler(environ, start_response)

    return app


def flawed_app() -> Any:
    """DEBUG on, weak key, readable signed-cookie session, admin at /admin/."""
    return _make(FLAWED)


def toolbar_app() -> Any:
    """The flawed site with django-debug-toolbar shown to local clients."""
    return _make(TOOLBAR)


def fixed_app() -> Any:
    """DEBUG off, strong key, server-side sessions, no admin at a guessable path."""
    return _make(FIXED)


# -- views and URLconfs (modules registered in sys.modules: ROOT_URLCONF names them) --------


def _index(request: Any) -> Any:
    from django.contrib import messages
    from django.http import HttpResponse

    request.session["email"] = "ada@example.com"
    request.session["role"] = "customer"
    messages.info(request, "Welcome back")
    return HttpResponse(
        "<!doctype html><html><head><title>Shop</title></head><body><h1>Shop</h1>"
        '<a href="/api/items/1/">item 1</a></body></html>'
    )


def _item(request: Any, item_id: Any) -> Any:
    from django.http import JsonResponse

    number = int(item_id)  # flawed: a non-numeric id is a ValueError, i.e. a 500
    return JsonResponse({"id": number, "name": f"item {number}"})


def _report(request: Any, year: int) -> Any:
    from django.http import JsonResponse

    return JsonResponse({"year": year, "revenue": 1234})


SETTINGS_PY = f"""\
from pathlib import Path
import os

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "{WEAK_KEY}")
DEBUG = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.sessions"]
ROOT_URLCONF = "shop.urls"
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
"""


def _project_dir() -> str:
    """A folder holding the project's settings.py (what the flawed site serves as /static/)."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="apigrade-django-"))
    atexit.register(shutil.rmtree, folder, True)
    (folder / "settings.py").write_text(SETTINGS_PY)
    (folder / "app.css").write_text("body { margin: 0 }\n")
    return str(folder)


def _urlconfs() -> None:
    import sys
    import types

    from django.contrib import admin
    from django.urls import include, path, re_path
    from django.views.static import serve

    if "apps_django_urls_flawed" in sys.modules:
        return  # registered by an earlier app of this process
    flawed = types.ModuleType("apps_django_urls_flawed")
    flawed.urlpatterns = [  # type: ignore[attr-defined]
        # the classic slip: static files served from the project package itself
        re_path(r"^static/(?P<path>.*)$", serve, {"document_root": _project_dir()}),
        path("", _index, name="index"),
        path("api/items/<item_id>/", _item, name="item"),
        path("internal/reports/<int:year>/", _report, name="report"),
        path("admin/", admin.site.urls),
    ]
    fixed = types.ModuleType("apps_django_urls_fixed")
    fixed.urlpatterns = [  # type: ignore[attr-defined]
        path("", _index, name="index"),
        path("api/items/<int:item_id>/", _item, name="item"),
        path("internal/reports/<int:year>/", _report, name="report"),
        path("staff-7f3a9c/", admin.site.urls),
    ]
    toolbar = types.ModuleType("apps_django_urls_toolbar")
    toolbar.urlpatterns = [  # type: ignore[attr-defined]
        *flawed.urlpatterns, path("__debug__/", include("debug_toolbar.urls")),
    ]
    sys.modules.setdefault(toolbar.__name__, toolbar)
    sys.modules.setdefault(flawed.__name__, flawed)
    sys.modules.setdefault(fixed.__name__, fixed)


@contextlib.contextmanager
def serve_runserver(app: Any) -> Iterator[str]:
    """``app`` under the server ``manage.py runserver`` uses, on a free loopback port."""
    import threading

    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    httpd = WSGIServer(("127.0.0.1", 0), Quiet)
    httpd.set_app(app)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)  # fmt: skip
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
