"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

Every registry check becomes a rule (fired or not). A finding's location is its URL written
as a *relative* reference (path and query) against the ``uriBaseId`` of its origin, which
``originalUriBaseIds`` maps to the absolute origin: GitHub code scanning rejects absolute
``http(s)`` URIs ("SARIF URI scheme did not match the checkout URI scheme"), and a relative
one it simply cannot match to a repository file. The full URL is also in the message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from apigrade import rx
from apigrade.model import Finding, ScanReport, Severity
from apigrade.report.escape import one_line, strip_controls

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/apigrade/apigrade"
TARGET_BASE = "TARGET"

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
#: CVSS-like numbers in GitHub's bands: critical >= 9, high >= 7, medium >= 4, low > 0, none 0.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "note": "recommendation"}
PRECISION = {"certain": "very-high", "firm": "high", "tentative": "medium"}
_LINK = rx.compile(r"^https://[^\s<>()\[\]`]+$")
_NON_ALNUM = rx.compile(r"[^A-Za-z0-9]+")
_TIMESTAMP = rx.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@dataclass(frozen=True)
class Rule:
    """A check's metadata, from the registry or (unknown check) from its finding."""

    id: str
    title: str
    category: str
    severity: Severity
    cwe: int
    owasp: str
    description: str
    remediation: str
    confidence: str = "firm"
    references: tuple[str, ...] = ()
    known: bool = True


def rules_for(report: ScanReport) -> list[Rule]:
    """Every registry check sorted by id, then checks only the report knows (newer versions)."""
    from apigrade.checks import load_checks
    from apigrade.checks.registry import REGISTRY

    load_checks()
    rules = [
        Rule(m.id, m.title, m.category.value, m.severity, m.cwe, m.owasp, m.description,
             m.remediation, m.confidence.value, m.references)
        for m in REGISTRY.metas()
    ]  # fmt: skip
    known = {r.id for r in rules}
    extra: dict[str, Finding] = {}
    for f in report.findings:
        if f.check_id not in known:
            extra.setdefault(f.check_id, f)
    for check_id in sorted(extra):
        f = extra[check_id]
        rules.append(
            Rule(check_id, f.title, f.category.value, f.severity, f.cwe, f.owasp,
                 f.description, f.remediation, f.confidence.value, known=False)
        )  # fmt: skip
    return rules


def _text(value: str, limit: int = 2000) -> str:
    """Target-derived text, without control characters, bounded."""
    flat = strip_controls(value)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _rule_id(check_id: str) -> str:
    """A check id as written in ruleId and rules[].id (ids from a saved file are untrusted)."""
    return _text(check_id, 200)


def _md(value: str) -> str:
    from apigrade.report.markdown import md_text

    return md_text(value)


def _md_prose(value: str) -> str:
    from apigrade.report.markdown import md_rich

    return md_rich(value)


def _rule_json(rule: Rule) -> dict[str, object]:
    owasp = _text(rule.owasp, 40)
    tags = ["security", f"external/cwe/cwe-{rule.cwe}", f"owasp-{owasp.lower()}",
            rule.category]  # fmt: skip
    refs = "\n".join(f"- <{r}>" if _LINK.match(r) else f"- {_md(r)}" for r in rule.references)
    markdown = (
        f"{_md_prose(rule.description)}\n\n**Fix:** {_md_prose(rule.remediation)}\n\n"
        f"CWE-{rule.cwe} · OWASP {_md(owasp)} · category {_md(rule.category)}"
        + (f"\n\n**References**\n\n{refs}" if refs else "")
    )
    out: dict[str, object] = {
        "id": _rule_id(rule.id),
        "name": "".join(p.capitalize() for p in _NON_ALNUM.split(rule.id)),
        "shortDescription": {"text": _text(rule.title, 300)},
        "fullDescription": {"text": _text(rule.description)},
        "help": {
            "text": _text(f"{rule.description}\n\nFix: {rule.remediation}"),
            "markdown": markdown,
        },  # fmt: skip
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "tags": tags,
            "precision": PRECISION[rule.confidence],
            "problem.severity": PROBLEM_SEVERITY[LEVEL[rule.severity]],
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "cwe": f"CWE-{rule.cwe}",
            "owasp": owasp,
            "category": rule.category,
        },
    }
    if rule.references and _LINK.match(rule.references[0]):
        out["helpUri"] = rule.references[0]
    return out


# Characters a relative URI reference may carry unescaped (RFC 3986), "%" kept as is.
_SAFE = "/!$&'()*+,;=:@-._~%"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme and parts.netloc else ""


def _relative(url: str) -> str:
    """Path and query of a URL as a non-empty relative reference (``./`` for the root)."""
    parts = urlsplit(url)
    path = quote(parts.path.lstrip("/"), safe=_SAFE)
    query = quote(parts.query, safe=_SAFE + "?")
    first = path.split("/", 1)[0]
    if not path or ":" in first:
        path = "./" + path  # a colon in the first segment would read as a scheme
    return path + (f"?{query}" if query else "")


def _bases(report: ScanReport) -> dict[str, str]:
    """uriBaseId for each origin: TARGET for the target's, ORIGIN1… for any other."""
    bases = {_origin(report.target): TARGET_BASE} if _origin(report.target) else {}
    others = sorted({_origin(f.url) for f in report.findings} - set(bases) - {""})
    for i, origin in enumerate(others, 1):
        bases[origin] = f"ORIGIN{i}"
    return bases


def _message(f: Finding) -> str:
    where = f"{f.method} {f.url}" + (f" (parameter {f.parameter})" if f.parameter else "")
    parts = [f"{f.title}: {where}"]
    if f.evidence:
        parts.append(f"Evidence: {f.evidence}")
    fix = f.remediation.strip().splitlines()
    if fix:
        parts.append(f"Fix: {fix[0]}")
    return _text("\n".join(one_line(p, 1000) for p in parts), 3000)


def _result(f: Finding, index: int, bases: dict[str, str]) -> dict[str, object]:
    artifact: dict[str, str] = {"uri": _relative(f.url)}
    base = bases.get(_origin(f.url))
    if base:
        artifact["uriBaseId"] = base
    return {
        "ruleId": _rule_id(f.check_id),
        "ruleIndex": index,
        "level": LEVEL[f.severity],
        "message": {"text": _message(f)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact,
                    "region": {"startLine": 1},  # a URL has no lines; GitHub wants one
                },
                "message": {"text": _text(f"{f.method} {f.url}", 500)},
            }
        ],
        "partialFingerprints": {"apigradeFindingId/v1": f.id},
        "properties": {
            "severity": f.severity.value,
            "confidence": f.confidence.value,
            "category": f.category.value,
            "method": _text(f.method, 20),
            "url": _text(f.url, 2000),
            "parameter": _text(f.parameter, 200) if f.parameter else None,
        },
    }


def _invocation(report: ScanReport) -> dict[str, object]:
    inv: dict[str, object] = {"executionSuccessful": report.complete}
    if _TIMESTAMP.match(report.started_at):
        inv["startTimeUtc"] = report.started_at
    if report.errors:
        inv["toolExecutionNotifications"] = [
            {"level": "warning", "message": {"text": one_line(e, 500)}} for e in report.errors
        ]
    return inv


def render_sarif(report: ScanReport) -> str:
    """The report as a SARIF 2.1.0 log, deterministic for a given report."""
    rules = rules_for(report)
    index = {r.id: i for i, r in enumerate(rules)}
    bases = _bases(report)
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "apigrade",
                "semanticVersion": report.tool.version,
                "version": report.tool.version,
                "informationUri": INFO_URI,
                "rules": [_rule_json(r) for r in rules],
            }
        },
        "originalUriBaseIds": {
            name: {"uri": quote(origin, safe=_SAFE + "[]")} for origin, name in bases.items()
        },
        "invocations": [_invocation(report)],
        "results": [_result(f, index[f.check_id], bases) for f in report.findings],
        "properties": {
            "target": _text(report.target, 2000),
            "score": report.score,
            "grade": report.grade,
            "requestsSent": report.requests_sent,
        },
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    # Lone surrogates (undecodable bytes from the target) cannot be written as UTF-8.
    return rx.replace_surrogates(json.dumps(log, indent=2, ensure_ascii=False)) + "\n"
