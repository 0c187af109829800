"""Which framework an app object is, looking through common wrappers."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["flask", "starlette", "django", "unknown"]
#: attributes through which a WSGI/ASGI wrapper reaches the app it wraps
_WRAPPED = ("app", "application", "wrapped", "wsgi_app", "_app", "__self__")
MAX_DEPTH = 6


@dataclass(frozen=True)
class AppKind:
    """An app object and its framework; ``obj`` is the framework's own app object."""

    kind: Kind
    obj: Any


def _is_flask(obj: Any) -> bool:
    flask = sys.modules.get("flask")
    return flask is not None and isinstance(obj, flask.Flask)


def _is_starlette(obj: Any) -> bool:
    mod = sys.modules.get("starlette.applications")
    return mod is not None and isinstance(obj, mod.Starlette)


def _is_django(obj: Any) -> bool:
    mod = sys.modules.get("django.core.handlers.base")
    return mod is not None and isinstance(obj, mod.BaseHandler)


def identify(app: Any) -> AppKind:
    """The framework of ``app`` (a Flask app, a Starlette/FastAPI app, a Django WSGI/ASGI
    handler), also when it is wrapped by middleware that keeps it as ``.app``."""
    seen: set[int] = set()
    obj = app
    for _ in range(MAX_DEPTH):
        if obj is None or id(obj) in seen:
            break
        seen.add(id(obj))
        if _is_flask(obj):
            return AppKind("flask", obj)
        if _is_starlette(obj):
            return AppKind("starlette", obj)
        if _is_django(obj):
            return AppKind("django", obj)
        obj = next((getattr(obj, a) for a in _WRAPPED if getattr(obj, a, None) is not None), None)
    return AppKind("unknown", app)
