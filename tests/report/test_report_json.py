"""The JSON report is data: target text is JSON-escaped, and it round-trips exactly."""

from __future__ import annotations

import json

from reportdata import EVIL, hostile_report

from apigrade.model import ScanReport
from apigrade.report.json import render_json


def test_hostile_json_round_trips_and_escapes_c0_controls() -> None:
    report = hostile_report()
    out = render_json(report)
    assert ScanReport.model_validate(json.loads(out)) == report  # nothing lost or altered
    assert json.loads(out)["findings"][0]["evidence"] == EVIL
    for ch in ("\x1b", "\x07", "\x00"):
        assert ch not in out  # written as \u001b etc.


def test_json_escapes_c1_controls_and_bidi_overrides() -> None:
    out = render_json(hostile_report())
    assert "\x9b" not in out and "\u202e" not in out
