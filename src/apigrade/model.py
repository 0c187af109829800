"""The scan result model: exactly the JSON report of the contract."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """4 for critical down to 0 for info."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Confidence(StrEnum):
    CERTAIN = "certain"
    FIRM = "firm"
    TENTATIVE = "tentative"


class Category(StrEnum):
    AUTHENTICATION = "authentication"
    BOLA = "bola"
    BFLA = "bfla"
    PROPERTY_AUTHORIZATION = "property-authorization"
    INPUT_VALIDATION = "input-validation"
    RATE_LIMITING = "rate-limiting"
    DATA_EXPOSURE = "data-exposure"
    ENCRYPTION = "encryption"
    SSRF = "ssrf"
    INVENTORY = "inventory"
    UNSAFE_CONSUMPTION = "unsafe-consumption"
    LLM = "llm"
    MISCONFIGURATION = "misconfiguration"


#: OWASP ids allowed per category (contract, "Categories").
CATEGORY_OWASP: dict[Category, tuple[str, ...]] = {
    Category.AUTHENTICATION: ("API2:2023",),
    Category.BOLA: ("API1:2023",),
    Category.BFLA: ("API5:2023",),
    Category.PROPERTY_AUTHORIZATION: ("API3:2023",),
    Category.INPUT_VALIDATION: ("API8:2023",),
    Category.RATE_LIMITING: ("API4:2023",),
    Category.DATA_EXPOSURE: ("API3:2023", "API8:2023"),
    Category.ENCRYPTION: ("API8:2023",),
    Category.SSRF: ("API7:2023",),
    Category.INVENTORY: ("API9:2023",),
    Category.UNSAFE_CONSUMPTION: ("API10:2023",),
    Category.LLM: (
        "LLM01:2025",
        "LLM02:2025",
        "LLM03:2025",
        "LLM04:2025",
        "LLM05:2025",
        "LLM06:2025",
        "LLM07:2025",
        "LLM08:2025",
        "LLM09:2025",
        "LLM10:2025",
    ),
    Category.MISCONFIGURATION: ("API8:2023",),
}


class SourceLocation(BaseModel):
    """Where in the scanned project's source a finding comes from (in-process scans)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="file path relative to the project root, '/'-separated")
    line: int = Field(ge=1, description="1-based line: the route handler or config assignment")


class Finding(BaseModel):
    """One problem, with its proof and its fix."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable fingerprint: hash of check_id + normalised URL + parameter")
    check_id: str
    title: str
    severity: Severity
    confidence: Confidence
    category: Category
    owasp: str
    cwe: int
    url: str
    method: str = "GET"
    parameter: str | None = None
    evidence: str = ""
    description: str = ""
    remediation: str = ""
    #: absent for black-box findings; set by in-process scans that know the source line
    location: SourceLocation | None = None


class RuleInfo(BaseModel):
    """A check's metadata as reporters show it (SARIF rules, JUnit testcases, docs).

    Callers pass these in (``apigrade.checks.rule_infos()``); renderers never load checks.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    category: Category
    severity: Severity
    confidence: Confidence = Confidence.FIRM
    cwe: int
    owasp: str
    description: str
    remediation: str
    references: tuple[str, ...] = ()

    @classmethod
    def of_finding(cls, f: Finding) -> RuleInfo:
        """The rule a finding implies (a check this version does not know, say)."""
        return cls(id=f.check_id, title=f.title, category=f.category, severity=f.severity,
                   confidence=f.confidence, cwe=f.cwe, owasp=f.owasp,
                   description=f.description, remediation=f.remediation)  # fmt: skip


class CategoryScore(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=0, le=100)
    findings: int = Field(ge=0)


class ToolInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "apigrade"
    version: str


class Fingerprint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server: str | None = None
    frameworks: list[str] = Field(default_factory=list)


class Discovery(BaseModel):
    """What discovery learned: the spec documents it found, and how many endpoints."""

    model_config = ConfigDict(extra="forbid")

    specs: list[str] = Field(
        default_factory=list, description="URLs of the OpenAPI documents found (credentials masked)"
    )
    endpoints: int = Field(default=0, ge=0, description="endpoints discovered")
    app_routes: int | None = Field(
        default=None, ge=0, description="routes read from the app object (in-process scans)"
    )
    discovered: int | None = Field(
        default=None, ge=0,
        description="endpoints found without the app's routes (crawl, robots, sitemaps, specs)",
    )  # fmt: skip


class IdentityUse(BaseModel):
    """One declared identity (``--auth``) of a scan: never a secret."""

    model_config = ConfigDict(extra="forbid")

    name: str
    role: str
    login: Literal["ok", "failed", "static"] = Field(
        description="ok: logged in; failed: its login failed; static: given headers/cookies"
    )
    requests: int = Field(ge=0, description="requests sent as this identity (logins included)")


class ScanReport(BaseModel):
    """The JSON report (`--format json`)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    tool: ToolInfo
    target: str
    started_at: str
    duration_s: float
    requests_sent: int
    score: int = Field(ge=0, le=100)
    grade: str = Field(pattern="^[ABCDF]$")
    categories: dict[str, CategoryScore]
    fingerprint: Fingerprint
    findings: list[Finding]
    scan_id: str | None = None
    complete: bool = True
    errors: list[str] = Field(default_factory=list)
    #: absent in reports written before it existed
    discovery: Discovery | None = None
    #: the declared identities (``--auth``); None when none were declared
    identities: list[IdentityUse] | None = None


def normalise_url(url: str) -> str:
    """Path and sorted query names, without origin or values: stable across hosts and runs."""
    parts = urlsplit(url)
    path = unquote(parts.path) or "/"
    names = sorted({name for name, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(names) if names else "")


def finding_id(check_id: str, url: str, parameter: str | None) -> str:
    """The stable fingerprint of a finding."""
    key = "\x1f".join((check_id, normalise_url(url), parameter or ""))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
