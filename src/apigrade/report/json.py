"""The JSON report of the contract, and its JSON Schema."""

from __future__ import annotations

import json

from apigrade import rx
from apigrade.model import ScanReport

# JSON leaves C1 controls and bidi overrides raw; escape them so `cat report.json` is inert.
_UNSAFE = rx.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def render_json(report: ScanReport) -> str:
    """The report as pretty JSON; every control character is a \\u escape."""
    text = report.model_dump_json(indent=2)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def json_schema() -> str:
    """The JSON Schema that every JSON report validates against."""
    schema = ScanReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "apigrade scan report"
    return json.dumps(schema, indent=2) + "\n"
