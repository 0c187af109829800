"""A Django project with include()d URLconfs and path converters, flawed and fixed.

Django's settings are process-wide. ``create_app(variant)`` configures Django the way
``tests/checks/apps_django.py`` does (so both fixtures can run in one process), then puts
the variant's settings module values in place, with ``SETTINGS_MODULE`` naming it as
``DJANGO_SETTINGS_MODULE`` would; the handler puts them back on every request.
:func:`restore` undoes all of it (tests call it when they are done).

- flawed (``settings_flawed.py``): DEBUG on, ``ALLOWED_HOSTS = ['*']``, the startproject
  key, insecure cookies, 90-day sessions, no HSTS, no CSRF or clickjacking middleware and
  SecurityMiddleware after CommonMiddleware; unlinked ``/internal/users/<int:pk>/`` shows
  a password hash and ``/internal/exports/<uuid:export_id>/`` a live AWS key.
- fixed (``settings_fixed.py``): all of that set right; the internal routes need the staff
  token. Scan it at ``https://testserver/`` (it redirects plain HTTP, as it should).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

_MISSING = object()
_saved: dict[str, Any] = {}
#: settings Django reads only once (at setup), never changed here
_FIXED_AT_SETUP = {"INSTALLED_APPS"}


def _values(variant: str) -> dict[str, Any]:
    mod = importlib.import_module(f"grey_django.settings_{variant}")
    values = {k: getattr(mod, k) for k in dir(mod) if k.isupper() and k not in _FIXED_AT_SETUP}
    values["SETTINGS_MODULE"] = mod.__name__
    return values


def _configure() -> None:
    checks = str(Path(__file__).resolve().parents[3] / "checks")
    if checks not in sys.path:
        sys.path.insert(0, checks)
    import apps_django  # configures Django once for every fixture of the test suite

    apps_django._configure()


def _apply(values: dict[str, Any]) -> None:
    from django.conf import settings

    for name, value in values.items():
        if name not in _saved:
            _saved[name] = getattr(settings, name, _MISSING)
        if getattr(settings, name, _MISSING) != value:
            setattr(settings, name, value)


def override(**values: Any) -> None:
    """Change settings for one test; :func:`restore` puts them back."""
    _apply(values)


def restore() -> None:
    """Put every setting a variant changed back as it was."""
    from django.conf import settings

    for name, value in _saved.items():
        if value is _MISSING:
            try:
                delattr(settings, name)
            except AttributeError:
                pass
        else:
            setattr(settings, name, value)
    _saved.clear()


def create_app(variant: str = "flawed") -> Any:
    _configure()
    values = _values(variant)
    _apply(values)
    from django.core.handlers.wsgi import WSGIHandler

    class Handler(WSGIHandler):
        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            _apply(values)
            return super().__call__(environ, start_response)

    return Handler()
