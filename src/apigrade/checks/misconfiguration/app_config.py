"""The live configuration of an app scanned in-process (``apigrade.scan(app)``, ``--app``).

Runs only when the scan has the app object (``ctx.app``), reads it and never changes it:
Flask's ``app.config`` and extensions, Django's settings and middleware, Starlette/FastAPI's
``debug``, docs URLs and middleware (``apigrade/inprocess/config_audit.py``). Requests: none.
CPU: one offloaded lookup of the signing key in the built-in candidate lists, the
flask-unsign wordlist and ``--wordlist`` (at most ``MAX_WORDLIST_LINES`` of it).
Every finding is reported on the target URL with the setting as its parameter, its value
masked, and the line that assigns it when the settings come from a project file.
"""

from __future__ import annotations

from typing import Any

from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.inprocess.config_audit import Audit, Issue, audit, key_issue, key_weakness, known_key
from apigrade.inprocess.locations import Locator
from apigrade.model import Confidence, Severity

_MISCONF = {"category": "misconfiguration", "owasp": "API8:2023", "confidence": Confidence.CERTAIN}
PARENT = "app-config.debug"


def _kind(id: str, title: str, severity: Severity, cwe: int, **kw: Any) -> None:
    meta = {**_MISCONF, **kw}
    finding_kind(id=id, parent=PARENT, title=title, severity=severity, cwe=cwe, **meta)


_kind("app-config.testing", "The app runs in testing mode", Severity.MEDIUM, 16)
_kind("app-config.weak-secret-key", "The app's signing key is weak or publicly known",
      Severity.HIGH, 1391, category="authentication", owasp="API2:2023")  # fmt: skip
_kind("app-config.session-cookie-secure", "Session or CSRF cookie configured without Secure",
      Severity.LOW, 614, category="encryption")  # fmt: skip
_kind("app-config.session-cookie-httponly", "Session cookie configured without HttpOnly",
      Severity.MEDIUM, 1004)  # fmt: skip
_kind("app-config.session-cookie-samesite", "Session cookie configured without SameSite",
      Severity.LOW, 1275)  # fmt: skip
_kind("app-config.session-lifetime", "Sessions are configured to last longer than 30 days",
      Severity.LOW, 613)  # fmt: skip
_kind("app-config.no-body-limit", "No limit on the size of request bodies", Severity.LOW, 770,
      category="rate-limiting", owasp="API4:2023")  # fmt: skip
_kind("app-config.url-scheme", "External URLs are built with http://", Severity.INFO, 319,
      category="encryption")  # fmt: skip
_kind("app-config.debug-toolbar", "A debug toolbar is installed and enabled", Severity.HIGH, 489)
_kind("app-config.cors-credentials", "CORS allows any origin with credentials", Severity.HIGH,
      942, category="unsafe-consumption", owasp="API10:2023")  # fmt: skip
_kind("app-config.no-security-headers", "No security-headers extension is registered",
      Severity.INFO, 693)  # fmt: skip
_kind("app-config.no-rate-limiter", "No rate limiter is registered", Severity.INFO, 770,
      category="rate-limiting", owasp="API4:2023")  # fmt: skip
_kind("app-config.allowed-hosts", "Any Host header is accepted", Severity.MEDIUM, 16)
_kind("app-config.hsts", "HSTS or the HTTPS redirect is not configured", Severity.LOW, 319,
      category="encryption")  # fmt: skip
_kind("app-config.browser-protections", "Browser protections are switched off", Severity.MEDIUM,
      693)  # fmt: skip
_kind("app-config.csrf-middleware", "CSRF protection middleware is not installed",
      Severity.MEDIUM, 352)  # fmt: skip
_kind("app-config.clickjacking-middleware", "Clickjacking protection middleware is not installed",
      Severity.LOW, 1021)  # fmt: skip
_kind("app-config.django-deploy-check", "Django's deployment security check fails",
      Severity.LOW, 16)  # fmt: skip
_kind("app-config.middleware-order", "Security middleware runs in the wrong order",
      Severity.LOW, 16)  # fmt: skip
_kind("app-config.docs-exposed", "Interactive API docs and the OpenAPI schema are switched on",
      Severity.INFO, 200, category="inventory", owasp="API9:2023")  # fmt: skip


@active(
    id=PARENT,
    title="The app's configuration enables debug mode",
    category="misconfiguration",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=489,
    owasp="API8:2023",
)
async def app_config(ctx: CheckContext) -> None:
    """Every configuration issue of the app object; no request."""
    if ctx.app is None:
        return
    result = audit(ctx.app)
    if result is None:
        return
    issues = list(result.issues)
    key = result.secret_key
    if key:  # an empty key signs nothing (Flask refuses sessions, Django refuses to start)
        listed = await ctx.offload(known_key, key, ctx.wordlist, label="signing key lookup")
        why = key_weakness(key)
        if listed or why:
            issues.append(key_issue(result.framework, key, why or "", listed))
    locator = Locator.for_app(ctx.app)
    for issue in issues:
        _report(ctx, issue, locator, result)


def _report(ctx: CheckContext, issue: Issue, locator: Locator, result: Audit) -> None:
    location = None
    if issue.key:
        value = result.value(issue.key)
        location = locator.of_setting(result.files, issue.key, value, result.guessed)
    ctx.report(
        Hit(
            url=ctx.target.url,
            parameter=issue.setting,
            evidence=issue.evidence,
            severity=issue.severity,
            title=issue.title,
            remediation=issue.remediation,
            check=None if issue.kind == PARENT else issue.kind,
            location=location,
        )
    )
