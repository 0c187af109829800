"""--identity on the command line, the check listing, and look-alikes that must stay quiet."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api as apps  # noqa: E402
from apps_api import ALICE, ALL, BOB, mine, scan_app, scan_url  # noqa: E402

from apigrade.checks.authentication.identities import parse_identities  # noqa: E402
from apigrade.cli import main  # noqa: E402
from apigrade.errors import UsageError  # noqa: E402
from apps.catchall import create_app as catchall_app  # noqa: E402
from apps.hardened import create_app as hardened_app  # noqa: E402


def test_parse_identities() -> None:
    got = parse_identities([
        "alice:Authorization: Bearer aaa", "bob:X-Api-Key: k1", "alice:X-Tenant: t1",
    ])  # fmt: skip
    assert got == {
        "alice": [("Authorization", "Bearer aaa"), ("X-Tenant", "t1")],
        "bob": [("X-Api-Key", "k1")],
    }
    assert parse_identities(None) == {}


@pytest.mark.parametrize(
    "raw", ["alice", "alice:Bearer-only", ":Authorization: x", "al ice:A: b", "a:Bad Name: v"]
)
def test_bad_identity_is_a_usage_error(raw: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_identities([raw])
    assert "\n" not in str(exc.value) and "--identity" in str(exc.value)


def test_cli_rejects_a_bad_identity_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", "http://127.0.0.1:9/", "--identity", "alice:Bearer secret-value"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "secret-value" not in err


def test_cli_scan_with_two_identities(
    serve: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIGRADE_DB", f"sqlite:///{tmp_path / 'scans.db'}")  # if stored
    url = serve(apps.bola_app("authn"))
    out = tmp_path / "report.json"
    code = main([
        "scan", url, "--identity", f"alice:{ALICE[0]}: {ALICE[1]}",
        "--identity", f"bob:{BOB[0]}: {BOB[1]}", "-f", "json", "-o", str(out),
    ])  # fmt: skip
    assert code == 0
    text = out.read_text()
    report = json.loads(text)
    cross = [f for f in report["findings"] if f["check_id"] == "bola.cross-identity"]
    assert cross and cross[0]["cwe"] == 639 and cross[0]["owasp"] == "API1:2023"
    assert ALICE[1].split()[1] not in text and BOB[1].split()[1] not in text


def test_checks_json_lists_category_cwe_and_owasp(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "--format", "json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    owasp = {"inventory": "API9:2023", "authentication": "API2:2023", "bola": "API1:2023",
             "bfla": "API5:2023", "property-authorization": "API3:2023"}  # fmt: skip
    for check_id in ALL:
        row = rows[check_id]
        assert row["owasp"] == owasp[row["category"]] and row["cwe"] > 0, row


def test_catch_all_spa_and_hardened_app_stay_quiet(serve: Callable[..., str]) -> None:
    everything = {
        "active": True,
        "headers": [ALICE],
        "identities": {"alice": [ALICE], "bob": [BOB]},
    }
    for app in (catchall_app(), hardened_app()):
        for report in (
            scan_app(app, **everything),
            scan_app(app),
            scan_url(serve(app), **everything),
        ):
            assert not mine(report, ALL), report.findings
            assert not [e for e in report.errors if e.startswith("check ")], report.errors
