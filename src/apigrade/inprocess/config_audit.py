"""The live configuration of an app object, judged without a request.

Flask (``app.config`` and the registered extensions), Django (``django.conf.settings``,
as ``manage.py check --deploy`` judges it, and more) and Starlette/FastAPI (``debug``, the
docs URLs, the middleware stack). Each :class:`Issue` names a finding kind of
``checks/misconfiguration/app_config.py``; secret values appear only masked. The signing
key's wordlist lookup is :func:`known_key` (the check offloads it).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from apigrade.inprocess import config_django, config_flask, config_starlette
from apigrade.inprocess.config_model import MAX_SESSION_SECONDS, Audit, Issue, module_path
from apigrade.inprocess.frameworks import AppKind, identify
from apigrade.model import Severity
from apigrade.redact import mask

__all__ = [
    "MAX_SESSION_SECONDS",
    "Audit",
    "Issue",
    "audit",
    "key_issue",
    "key_weakness",
    "known_key",
]

#: keys shorter than this are guessable by brute force alone
MIN_KEY_LENGTH = 24
#: fewer bits than this (length x Shannon entropy per character) is a low-entropy key
MIN_KEY_BITS = 96
#: user wordlist lines compared with the key, at most
MAX_WORDLIST_LINES = 5_000_000


# -- the signing key ----------------------------------------------------------------------
def key_weakness(key: Any) -> str | None:
    """Why a signing key is weak without any wordlist (empty, short, low entropy), or None."""
    if key is None or key == "" or key == b"":
        return "not set"
    text = key.decode("latin-1") if isinstance(key, bytes) else str(key)
    if text.startswith("django-insecure-"):
        return "the key `django-admin startproject` generated (committed with the project)"
    if len(text) < MIN_KEY_LENGTH:
        return f"only {len(text)} characters"
    counts = Counter(text)
    per_char = -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())
    if per_char * len(text) < MIN_KEY_BITS or len(counts) < 8:
        return f"low entropy (about {int(per_char * len(text))} bits)"
    return None


def known_key(key: str, wordlist: str | None = None) -> str | None:
    """The name of the candidate list holding ``key`` (built-in defaults, the
    flask-unsign-wordlist package, the user's ``--wordlist``), or None. No request."""
    from apigrade.crack.candidates import builtin_defaults, package_wordlist
    from apigrade.crack.candidates import wordlist as user_list

    raw = key.encode("utf-8", "surrogatepass")
    sources = [builtin_defaults(), package_wordlist()]
    if wordlist:
        sources.append(user_list(wordlist))  # type: ignore[arg-type]
    for source in sources:
        seen = 0
        for chunk in source.chunks(50_000):
            words = chunk.split(b"\n") if isinstance(chunk, bytes) else chunk
            if any((w.encode() if isinstance(w, str) else w).rstrip(b"\r") == raw for w in words):
                return source.name
            seen += len(words)
            if seen >= MAX_WORDLIST_LINES:
                break
    return None


def audit(app: Any) -> Audit | None:
    """The configuration issues of ``app``; None for an app of an unknown framework."""
    kind: AppKind = identify(app)
    obj = kind.obj
    if kind.kind == "flask":
        issues = tuple(config_flask.issues(obj))
        values = tuple(
            (i.key, obj.config.get(i.key)) for i in issues if i.key and i.key in obj.config
        )
        files, guessed = config_flask.config_files(obj)
        return Audit("flask", issues, _key_text(obj.config.get("SECRET_KEY")), tuple(files),
                     tuple(guessed), values)  # fmt: skip
    if kind.kind == "django":
        from django.conf import settings

        files = [p for p in (module_path(getattr(settings, "SETTINGS_MODULE", None)),) if p]
        issues = tuple(config_django.issues(settings))
        values = tuple((i.key, getattr(settings, i.key)) for i in issues
                       if i.key and i.key.isupper() and hasattr(settings, i.key))  # fmt: skip
        return Audit("django", issues, _key_text(settings.SECRET_KEY), tuple(files), (), values)
    if kind.kind == "starlette":
        from apigrade.inprocess.locations import defining_module, module_file
        from apigrade.inprocess.routes import route_table

        files = [p for p in (defining_module(app, obj),) if p]
        files += [p for r in route_table(obj).routes if (p := module_file(r.handler))]
        live: list[tuple[str, Any]] = [("debug", bool(obj.debug))]
        live += [(k, getattr(obj, k, None)) for k in ("docs_url", "redoc_url", "openapi_url")]
        for name, kw in config_starlette.middleware(
            obj
        ):  # live values, Starlette's defaults included
            defaults = config_starlette.SESSION_DEFAULTS if name == "SessionMiddleware" else {}
            live += [(k, v) for k, v in {**defaults, **kw}.items() if k != "secret_key"]
        return Audit("starlette", tuple(config_starlette.issues(obj)), config_starlette.session_key(obj),
                     tuple(dict.fromkeys(files)), (), tuple(live))  # fmt: skip
    return None


def _key_text(key: Any) -> str | None:
    if key is None:
        return ""
    return key.decode("latin-1") if isinstance(key, bytes) else str(key)


def key_issue(framework: str, key: str, why: str, listed: str | None) -> Issue:
    """The weak-key finding for ``key`` (masked), critical when a wordlist holds it."""
    setting = {"starlette": "SessionMiddleware.secret_key"}.get(framework, "SECRET_KEY")
    reason = f"found in the {listed} list" if listed else why
    shown = f"{setting} = {mask(key)!r}" if key else f"{setting} is empty"
    fix = {
        "flask": "`app.config['SECRET_KEY'] = os.environ['SECRET_KEY']`, generated with "
        "`python -c 'import secrets; print(secrets.token_hex(32))'`; rotating it logs every "
        "user out.",
        "django": "`SECRET_KEY = os.environ['DJANGO_SECRET_KEY']` from "
        "`django.core.management.utils.get_random_secret_key()`; keep the old one in "
        "`SECRET_KEY_FALLBACKS` while sessions roll over.",
        "starlette": "`SessionMiddleware(secret_key=os.environ['SESSION_SECRET'])` with "
        "`secrets.token_urlsafe(32)`.",
    }[framework]
    severity = Severity.CRITICAL if listed else Severity.HIGH
    return Issue("app-config.weak-secret-key", setting, f"{shown}: {reason}", fix,
                 severity=severity, key="secret_key" if framework == "starlette" else "SECRET_KEY")  # fmt: skip
