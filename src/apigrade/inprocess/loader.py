"""``MODULE:OBJECT`` to an app object, as ``flask --app`` and uvicorn take it.

- ``pkg.module:app``: an app object (Flask, FastAPI/Starlette, a Django WSGI/ASGI handler
  such as ``mysite.wsgi:application``, any WSGI or ASGI callable);
- ``pkg.module:create_app`` or ``pkg.module:create_app('prod')``: a factory, called with
  no arguments or the literal ones given;
- ``pkg.module``: its ``app`` or ``application``, else a ``create_app``/``make_app``.

A function is a factory when it takes no required argument (a WSGI app takes two, an ASGI
app three). The working directory is importable, as with ``flask --app``. Every failure is
one :class:`~apigrade.errors.UsageError` line, never a traceback.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import sys
from typing import Any

from apigrade import rx
from apigrade.errors import UsageError
from apigrade.redact import describe_error

_REF = rx.compile(r"^([A-Za-z_][\w.]*)(?::([A-Za-z_]\w*)(\(.*\))?)?$", rx.S)
APP_NAMES = ("app", "application")
FACTORY_NAMES = ("create_app", "make_app")


def _why(exc: BaseException) -> str:
    """One safe line: the type and the redacted message (``redact.describe_error``)."""
    return describe_error(exc, limit=300)


def _args(text: str | None, ref: str) -> tuple[list[Any], dict[str, Any]]:
    if not text:
        return [], {}
    try:
        call = ast.parse(f"f{text}", mode="eval").body
        assert isinstance(call, ast.Call)
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    except (SyntaxError, ValueError, AssertionError):
        raise UsageError(f"bad --app {ref!r}: factory arguments must be Python literals") from None
    return args, kwargs


def _is_factory(obj: Any) -> bool:
    if not (inspect.isfunction(obj) or inspect.ismethod(obj)):
        return False
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [p for p in params if p.default is p.empty and
                p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]  # fmt: skip
    return not required


def load_app(ref: str) -> Any:
    """The app object ``ref`` names (see the module docstring)."""
    m = _REF.match(ref.strip())
    if m is None:
        raise UsageError(f"bad --app {ref!r}: expected MODULE:OBJECT, e.g. myapp.main:app")
    module_name, attr, call = m.group(1), m.group(2), m.group(3)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UsageError(f"bad --app {ref!r}: no module named {exc.name!r}") from None
        raise UsageError(f"--app {ref!r}: importing {module_name} failed: {_why(exc)}") from None
    except BaseException as exc:  # noqa: BLE001 - the user's module: one line, any error
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise UsageError(f"--app {ref!r}: importing {module_name} failed: {_why(exc)}") from None
    if attr is None:
        names = [n for n in (*APP_NAMES, *FACTORY_NAMES) if hasattr(module, n)]
        if not names:
            raise UsageError(f"bad --app {ref!r}: {module_name} has no app, application, "
                             "create_app or make_app; name it as MODULE:OBJECT")  # fmt: skip
        attr = names[0]
    if not hasattr(module, attr):
        raise UsageError(f"bad --app {ref!r}: {module_name} has no attribute {attr!r}")
    obj = getattr(module, attr)
    if call is not None or _is_factory(obj):
        args, kwargs = _args(call, ref)
        try:
            obj = obj(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - the user's factory: one line
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise UsageError(f"--app {ref!r}: calling {attr}() failed: {_why(exc)}") from None
    if not callable(obj):
        raise UsageError(
            f"bad --app {ref!r}: {attr} is a {type(obj).__name__}, not a WSGI or ASGI app"
        )
    return obj
