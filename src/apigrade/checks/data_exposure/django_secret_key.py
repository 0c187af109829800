"""A Django ``SECRET_KEY`` disclosed in a served file: settings.py, a dotenv file, a dump.

Passive, no requests: it reads every non-HTML response the scan gets (the exposed-file
signatures already ask for ``/settings.py``, ``/.env`` and their copies). A response counts
only when it is Django configuration: a ``SECRET_KEY = '…'`` assignment next to Django's own
settings (``INSTALLED_APPS``, ``ROOT_URLCONF``, ``MIDDLEWARE``, ``django.``), or a
``DJANGO_SECRET_KEY=…`` environment line. The key goes to the knowledge base, so the
phase-2 key check verifies the site's signed cookies with it ("disclosed by the target");
so does a ``SECRET_KEY`` of any other served configuration (a Flask ``.env`` or config.py),
without a finding of its own (the exposed-file checks report those files).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from apigrade import rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity
from apigrade.redact import mask

MAX_TEXT = 300_000
_ASSIGN = rx.compile(
    r"(?m)^[ \t]*SECRET_KEY[ \t]*=[ \t]*(?:os\.(?:environ\.get|getenv)\([ \t]*['\"]\w{1,60}['\"][ \t]*,[ \t]*)?"
    r"[rbuRBU]?(['\"])([^'\"\n\\]{4,200})['\"]"
)
_ENV = rx.compile(r"(?m)^[ \t]*(?:export[ \t]+)?(DJANGO_SECRET_KEY|DJANGO_SECRET)[ \t]*=[ \t]*['\"]?([^'\"\s#]{4,200})")
_ENV_ANY = rx.compile(
    r"(?m)^[ \t]*(?:export[ \t]+)?((?:[A-Z][A-Z0-9]*_)?SECRET_KEY)[ \t]*=[ \t]*['\"]?([^'\"\s#]{4,200})"
)
_DJANGO = rx.compile(
    r"(?m)^[ \t]*(?:INSTALLED_APPS|ROOT_URLCONF|MIDDLEWARE|WSGI_APPLICATION|AUTH_PASSWORD_VALIDATORS)[ \t]*="
    r"|\bdjango\.(?:contrib|middleware|db\.backends|core)\b"
)
_SKIP_TYPES = ("html", "image/", "font/", "audio/", "video/", "css")
#: placeholders that are not a key anyone uses
_PLACEHOLDER = rx.compile(r"^(?:<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|x{8,}|\*{8,}|\.\.\.|changeme-in-env)$", rx.I)


def find_key(text: str) -> tuple[str, str] | None:
    """(how it was written, the key) when ``text`` is Django configuration with its key."""
    text = text[:MAX_TEXT]
    env = _ENV.search(text)
    if env is not None and not _PLACEHOLDER.match(env.group(2)):
        return f"environment line {env.group(1)}", env.group(2)
    m = _ASSIGN.search(text)
    if m is None or _PLACEHOLDER.match(m.group(2)) or _DJANGO.search(text) is None:
        return None
    return "Django settings assign SECRET_KEY", m.group(2)


def other_key(text: str) -> str | None:
    """A signing key in any other served configuration (a Flask config.py or ``.env``):
    not a finding of this check (the exposed-file checks report the file), only handed to
    the key check so it can prove the site's cookies are signed with it."""
    text = text[:MAX_TEXT]
    for m in (_ENV_ANY.search(text), _ASSIGN.search(text)):
        if m is not None and not _PLACEHOLDER.match(m.group(2)):
            return m.group(2)
    return None


@passive(
    id="django.secret-key-exposed",
    writes=("secret_keys",),
    title="Django SECRET_KEY is disclosed in a served file",
    category="data-exposure",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=538,
    owasp="API8:2023",
)
def secret_key_exposed(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """One finding per URL path; the key is handed to auth.weak-signing-key."""
    resp = exchange.response
    if resp.status != 200 or any(t in resp.content_type for t in _SKIP_TYPES) or not resp.body:
        return
    text = resp.text
    if "SECRET" not in text[:MAX_TEXT]:
        return
    found = find_key(text)
    path = urlsplit(exchange.url).path or "/"
    key = found[1] if found else other_key(text)
    if key is not None and key not in {k for k, _ in ctx.kb.secret_keys}:
        ctx.kb.secret_keys.append((key, path))
    if found is None:
        return
    how, key = found
    yield Hit(
        url=exchange.url.split("?", 1)[0],
        evidence=(
            f"GET {path} -> 200 ({resp.content_type or 'no content type'}): {how} = "
            f"{mask(key)!r} ({len(key)} characters); signed cookies are checked against it"
        ),
    )
