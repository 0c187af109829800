"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

The caller passes the rules (``apigrade.checks.rule_infos()``: every registered check, fired
or not); without them the log lists the rules its findings imply. A finding is a URL, not a file, and GitHub
resolves every relative ``artifactLocation.uri`` against the repository checkout (it ignores
``uriBaseId``) while it rejects a whole upload that has an absolute ``http(s)`` URI. So the
physical location is a relative reference under a reserved folder that names the URL
(``apigrade-url/http/127.0.0.1:5000/static/config.py``): it never names a repository file, and
no segment of it can climb out of that folder. The URL itself is in ``logicalLocations``
(``GET http://…``), ``webRequest``, the properties and the message. docs/ci.md has the sources.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote, unquote, urlsplit

from apigrade import rx
from apigrade.model import Finding, RuleInfo, ScanReport, Severity
from apigrade.report.escape import one_line, strip_controls

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/apigrade/apigrade"
CWE_URI = "https://cwe.mitre.org/data/definitions/{}.html"
#: First segment of every finding's artifact URI; a URL, never a repository path.
URL_ROOT = "apigrade-url"

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
#: CVSS-like numbers inside GitHub's bands: critical over 9.0, high 7.0-8.9, medium 4.0-6.9,
#: low 0.1-3.9 (0.0 would mean "no security severity"). Info sits low in the low band.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "note": "recommendation"}
PRECISION = {"certain": "very-high", "firm": "high", "tentative": "medium"}
_LINK = rx.compile(r"^https://[^\s<>()\[\]`]+$")
_NON_ALNUM = rx.compile(r"[^A-Za-z0-9]+")
_TIMESTAMP = rx.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def rules_for(report: ScanReport, rules: Sequence[RuleInfo] = ()) -> list[RuleInfo]:
    """``rules`` in their order, then the checks only the report's findings name (a newer
    version's, or every check when no rules are given), sorted by id."""
    out = list(rules)
    known = {r.id for r in out}
    extra: dict[str, Finding] = {}
    for f in report.findings:
        if f.check_id not in known:
            extra.setdefault(f.check_id, f)
    out.extend(RuleInfo.of_finding(extra[check_id]) for check_id in sorted(extra))
    return out


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


def _rule_json(rule: RuleInfo) -> dict[str, object]:
    owasp = _text(rule.owasp, 40)
    category = rule.category.value
    tags = ["security", f"external/cwe/cwe-{rule.cwe}", f"owasp-{owasp.lower()}",
            category]  # fmt: skip
    refs = "\n".join(f"- <{r}>" if _LINK.match(r) else f"- {_md(r)}" for r in rule.references)
    markdown = (
        f"{_md_prose(rule.description)}\n\n**Fix:** {_md_prose(rule.remediation)}\n\n"
        f"CWE-{rule.cwe} · OWASP {_md(owasp)} · category {_md(category)}"
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
            "precision": PRECISION[rule.confidence.value],
            "problem.severity": PROBLEM_SEVERITY[LEVEL[rule.severity]],
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "cwe": f"CWE-{rule.cwe}",
            "owasp": owasp,
            "category": category,
        },
    }
    out["helpUri"] = help_uri(rule)
    return out


def help_uri(rule: RuleInfo) -> str:
    """The rule's first https reference, else its CWE page (every check has a CWE)."""
    link = next((r for r in rule.references if _LINK.match(r)), None)
    if link:
        return link
    return CWE_URI.format(rule.cwe) if rule.cwe > 0 else INFO_URI


# Characters a path segment may carry unescaped (RFC 3986 pchar without "%").
_SEGMENT_SAFE = "!$&'()*+,;=:@-._~"
_DOTS = rx.compile(r"^[. ]+$")


def _decoded(text: str) -> str:
    """Percent-decoded until stable, controls made visible: no escape left to decode later."""
    for _ in range(4):
        plain = unquote(text)
        if plain == text:
            break
        text = plain
    return strip_controls(text)


def _segment(text: str) -> str:
    """One decoded path segment (no separator in it) as URI text; dot names made inert."""
    if _DOTS.match(text):
        text = f"({text})"  # never "this" or "up one folder", however a consumer resolves it
    return quote(text, safe=_SEGMENT_SAFE)


def origin_key(url: str) -> str:
    """``scheme/host[:port]`` of a URL (no user info), safe as a path and as a category."""
    parts = urlsplit(url)
    try:
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a saved report with a bad port
        host, port = parts.hostname or "", None
    host = _decoded(host[:255]).replace("\\", "/").replace("/", "_")
    if not parts.scheme or not host:
        return "unknown"
    host = f"[{host}]" if ":" in host else host  # IPv6
    return f"{parts.scheme.lower()}/{_segment(host)}" + (f":{port}" if port is not None else "")


def artifact_uri(url: str) -> str:
    """``apigrade-url/<scheme>/<host[:port]>/<path>[%3F<query>]``: a relative reference that
    stays inside its reserved folder however often it is decoded and on any runner."""
    parts = urlsplit(url)
    where = parts.path[:1000] + (f"?{parts.query[:1000]}" if parts.query else "")
    plain = _decoded(where).replace("\\", "/")  # "\" separates folders on Windows
    segments = [_segment(s) for s in plain.split("/") if s]
    return "/".join([URL_ROOT, origin_key(url), *segments])


def source_uri(path: str) -> str | None:
    """An in-process finding's source file (relative to the project root) as a relative URI,
    or None when it is not a plain relative path (a hostile saved report)."""
    plain = strip_controls(path[:1000])
    segments = plain.split("/")
    if not plain or plain.startswith("/") or "\\" in plain or ":" in segments[0] \
            or any(_DOTS.match(s) or not s for s in segments):  # fmt: skip
        return None
    return "/".join(quote(s, safe=_SEGMENT_SAFE) for s in segments)


def _physical(f: Finding) -> dict[str, object]:
    """The handler's or setting's file and line (in-process scans), else the URL reference."""
    uri = source_uri(f.location.path) if f.location is not None else None
    if f.location is not None and uri is not None:
        return {"artifactLocation": {"uri": uri}, "region": {"startLine": f.location.line}}
    return {
        "artifactLocation": {"uri": artifact_uri(f.url)},
        "region": {"startLine": 1},  # a URL has no lines; GitHub wants one
    }


def automation_id(report: ScanReport) -> str:
    """``apigrade/<scheme>/<host:port>/``: one code scanning category per target."""
    return f"apigrade/{origin_key(report.target)}/"


def _message(f: Finding) -> str:
    where = f"{f.method} {f.url}" + (f" (parameter {f.parameter})" if f.parameter else "")
    parts = [f"{f.title}: {where}"]
    if f.evidence:
        parts.append(f"Evidence: {f.evidence}")
    fix = f.remediation.strip().splitlines()
    if fix:
        parts.append(f"Fix: {fix[0]}")
    return _text("\n".join(one_line(p, 1000) for p in parts), 3000)


def _result(f: Finding, index: int) -> dict[str, object]:
    where = _text(f"{f.method} {f.url}", 2000)
    return {
        "ruleId": _rule_id(f.check_id),
        "ruleIndex": index,
        "level": LEVEL[f.severity],
        "message": {"text": _message(f)},
        "locations": [
            {
                "physicalLocation": _physical(f),
                "logicalLocations": [
                    {"name": _text(f.url, 2000), "fullyQualifiedName": where, "kind": "resource"}
                ],
                "message": {"text": _text(where, 500)},
            }
        ],
        "webRequest": {"method": _text(f.method, 20), "target": _text(f.url, 2000)},
        # GitHub matches alerts across runs by primaryLocationLineHash only.
        "partialFingerprints": {
            "apigradeFindingId/v1": f.id,
            "primaryLocationLineHash": f"{f.id}:1",
        },
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


def render_sarif(report: ScanReport, rules: Sequence[RuleInfo] = ()) -> str:
    """The report as a SARIF 2.1.0 log, deterministic for a given report and rules."""
    rules = rules_for(report, rules)
    index = {r.id: i for i, r in enumerate(rules)}
    version = _text(report.tool.version, 100)
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "apigrade",
                "fullName": f"apigrade {version}, black-box security scanner for web APIs",
                "semanticVersion": report.tool.version,
                "version": report.tool.version,
                "informationUri": INFO_URI,
                "rules": [_rule_json(r) for r in rules],
            }
        },
        "automationDetails": {"id": automation_id(report)},
        "invocations": [_invocation(report)],
        "results": [_result(f, index[f.check_id]) for f in report.findings],
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
