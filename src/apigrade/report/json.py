"""The JSON report of the contract, and its JSON Schema."""

from __future__ import annotations

import json

from apigrade.model import ScanReport


def render_json(report: ScanReport) -> str:
    """The report as pretty JSON (target text is JSON-escaped by construction)."""
    return report.model_dump_json(indent=2) + "\n"


def json_schema() -> str:
    """The JSON Schema that every JSON report validates against."""
    schema = ScanReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "apigrade scan report"
    return json.dumps(schema, indent=2) + "\n"
