"""Flask-DebugToolbar: the toolbar injected into pages, its config panel, its assets.

Facts (flask-debugtoolbar 0.10 to 0.16, templates/base.html and panels/config_vars.html):
the extension registers ``/_debug_toolbar/static/<path>`` (``css/toolbar.css``,
``js/toolbar.js``) whenever ``DEBUG_TB_ENABLED`` (default: ``app.debug``), and injects
``<div id="flDebug">`` with ``var DEBUG_TOOLBAR_STATIC_PATH`` and the panels' HTML
before ``</body>`` of HTML responses (also on Flask's HTML error pages) unless
``DEBUG_TB_HOSTS`` excludes the client. The Config panel is rendered inline and prints
every config value with ``repr()``, autoescaped: ``<td>SECRET_KEY</td>
<td><code>&#39;...&#39;</code></td>``. The Pyramid debug toolbar also lives under
``/_debug_toolbar/`` but uses ``pDebug`` ids and ``static/toolbar/toolbar.css``; it never
matches here.
"""

from __future__ import annotations

import ast
import html
import secrets
from collections.abc import Iterator

from apigrade import rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind, passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity
from apigrade.redact import mask

TOOLBAR_CSS_PATH = "/_debug_toolbar/static/css/toolbar.css"
_ROOT = rx.compile(r'<div\s+id="flDebug"[\s>]')
_PARTS = ('id="flDebugToolbar"', 'id="flDebugPanelList"', 'id="flDebugToolbarHandle"',
          'id="flDebugWindow"', "flDebugPanelContentParent")  # fmt: skip
_PANEL = rx.compile(r'<li id="flDebug(\w+?)Panel">')
_CONFIG_ROW = rx.compile(
    r"<td>\s*([A-Z][A-Z0-9_]{1,80})\s*</td>\s*<td>\s*<code>(.*?)</code>", rx.S  # values: see config_rows
)
_SENSITIVE = rx.compile(
    r"SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE|CREDENTIAL|SALT|DATABASE_UR[IL]"
)
#: Config keys that sign things: handed to the session / JWT checks.
SIGNING_KEYS = ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "JWT_SECRET_KEY")



def is_toolbar_page(text: str) -> bool:
    """True when an HTML page carries the injected Flask-DebugToolbar markup."""
    if not _ROOT.search(text) or "DEBUG_TOOLBAR_STATIC_PATH" not in text:
        return False
    return sum(1 for p in _PARTS if p in text) >= 2


def is_toolbar_css(text: str) -> bool:
    """True for Flask-DebugToolbar's own ``toolbar.css``."""
    if "<html" in text[:500].lower():
        return False
    return text.count("#flDebug") >= 10 and "#flDebugToolbar" in text


def _literal(raw: str) -> object:
    """The Python literal a config cell shows (its repr, HTML-escaped)."""
    try:
        return ast.literal_eval(html.unescape(raw).strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _as_text(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, bytes) and value:
        return value.decode("latin-1")  # byte-for-byte; keys are usually ASCII
    return None


_MAX_VALUE = 4000  # characters of one config value


def config_rows(text: str) -> dict[str, object]:
    """Config name -> value from the toolbar's Config panel (first value wins)."""
    out: dict[str, object] = {}
    for name, raw in _CONFIG_ROW.findall(text):
        if len(raw) <= _MAX_VALUE:
            out.setdefault(name, _literal(raw))
    return out


def signing_keys(rows: dict[str, object]) -> list[tuple[str, str]]:
    """(config name, key) for every signing key the panel shows."""
    keys: list[tuple[str, str]] = []
    for name in SIGNING_KEYS:
        value = rows.get(name)
        values = list(value) if isinstance(value, list | tuple) else [value]
        for v in values:
            key = _as_text(v)
            if key:
                keys.append((name, key))
    return keys


def _other_secrets(rows: dict[str, object]) -> list[str]:
    out = []
    for name, value in rows.items():
        text = _as_text(value)
        if name not in SIGNING_KEYS and text and _SENSITIVE.search(name):
            out.append(f"{name}={mask(text)}")
    return out[:8]


finding_kind(
    id="flask.debug-toolbar-secret-key",
    parent=("flask.debug-toolbar", "flask.debug-toolbar-assets"),
    title="Flask SECRET_KEY disclosed by the debug toolbar's Config panel",
    category="data-exposure",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    # CWE-538 (sensitive information in an externally reachable place): the contract's
    # entry for reachable config/secrets. The key is not guessed here (that is CWE-1391),
    # it is printed by a page anyone can load.
    cwe=538,
    owasp="API8:2023",
)


def _record_keys(ctx: CheckContext, keys: list[tuple[str, str]], url: str) -> None:
    """Hand disclosed signing keys to the session and JWT checks (phase 2)."""
    known = {k for k, _ in ctx.kb.secret_keys}
    for _, key in keys:
        if key not in known:
            ctx.kb.secret_keys.append((key, url))
            known.add(key)


@passive(
    id="flask.debug-toolbar",
    writes=("secret_keys",),
    title="Flask-DebugToolbar is shown to visitors",
    category="misconfiguration",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=489,
    owasp="API8:2023",
)
def debug_toolbar(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """Report the toolbar once per target, and the signing keys its Config panel shows.

    Not pure: disclosed keys are also appended to ``ctx.kb.secret_keys`` here, because
    only this check sees every page before the phase-2 session checks run.
    """
    if "html" not in exchange.response.content_type or not is_toolbar_page(exchange.text):
        return
    panels = ", ".join(dict.fromkeys(_PANEL.findall(exchange.text))) or "none listed"
    yield Hit(
        url=ctx.target.url,
        evidence=f"toolbar markup (div#flDebug) in {exchange.url}; panels: {panels}",
    )
    rows = config_rows(exchange.text)
    keys = signing_keys(rows)
    if not keys:
        return
    _record_keys(ctx, keys, exchange.url)
    shown = ", ".join(f"{name}={mask(key)}" for name, key in keys)
    others = _other_secrets(rows)
    extra = f"; other secrets in the panel: {', '.join(others)}" if others else ""
    first = keys[0][0]
    yield Hit(
        url=ctx.target.url,
        parameter=first,
        evidence=f"Config panel in {exchange.url} shows {shown}{extra}",
        check="flask.debug-toolbar-secret-key",
        title=None if first == "SECRET_KEY" else f"{first} disclosed by the debug toolbar",
    )


def _toolbar_seen(ctx: CheckContext) -> bool:
    return any(
        "html" in ex.response.content_type and is_toolbar_page(ex.text) for ex in ctx.exchanges
    )


@active(
    id="flask.debug-toolbar-assets",
    title="Flask-DebugToolbar is enabled (its assets are served)",
    category="misconfiguration",
    severity=Severity.MEDIUM,
    confidence=Confidence.FIRM,
    cwe=489,
    owasp="API8:2023",
)
async def debug_toolbar_assets(ctx: CheckContext) -> None:
    """Confirm the extension by its CSS; look at an HTML error page for the toolbar."""
    ex = await ctx.get(TOOLBAR_CSS_PATH)
    if ex is None or ex.status != 200 or not is_toolbar_css(ex.text):
        return
    if _toolbar_seen(ctx):
        return  # pages show it: flask.debug-toolbar reports (and reads the Config panel)
    # Flask's HTML 404 page gets the toolbar too: an API with JSON-only pages shows it there.
    await ctx.get(f"/apigrade-{secrets.token_hex(4)}")
    if _toolbar_seen(ctx):
        return
    ctx.report(
        Hit(
            url=ex.url,
            evidence=f"GET {ex.url} -> 200, Flask-DebugToolbar toolbar.css (#flDebug rules)",
        )
    )
