"""verify: re-check only what a scan found; the fix-the-demo scenario through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from apigrade.checks import load_checks
from apigrade.checks.registry import REGISTRY
from apigrade.engine.scanner import ScanOptions
from apigrade.verify import merge, run_verify
from apigrade.verify.checkmap import emitters
from apigrade.verify.plan import plan

from .conftest import cli, debug_demo_app, fixed_demo_app, free_port, serving
from .test_store_repository import TARGET, finding, report


def test_every_finding_kind_has_a_check_that_emits_it() -> None:
    load_checks()
    assert [m.id for m in REGISTRY.metas() if not emitters(m.id)] == []
    assert [c.id for c in emitters("cookie.missing-samesite")] == ["cookie.missing-httponly"]
    assert [c.id for c in emitters("headers.missing-nosniff")] == ["headers.missing-csp"]
    assert emitters("no.such-check") == []


def test_plan_runs_emitters_narrows_signatures_and_revisits_passive_urls() -> None:
    dotenv = finding("files.dotenv", url=TARGET + "static/.env")
    samesite = finding("cookie.missing-samesite", parameter="session")
    gone = finding("retired.check")
    p = plan(report([dotenv, samesite, gone]))
    assert p.checks == ["cookie.missing-httponly", "files.dotenv"]
    assert [f.id for f in p.unmapped] == [gone.id]
    assert p.passive_only == {samesite.id}
    assert p.revisit == [("GET", TARGET)]
    narrowed = p.narrowed["files.dotenv"].fn.args[0]  # functools.partial(run, signature)
    assert narrowed.paths == ("/static/.env",)


def test_verify_against_a_target_still_broken_keeps_everything_open() -> None:
    with serving(debug_demo_app()) as url:
        from apigrade.engine.scanner import scan_sync

        baseline = scan_sync(url)
        result = run_verify(baseline, ScanOptions())
    cmp = result.comparison
    assert cmp.fixed == [] and cmp.new == []
    assert sorted(f.id for f in cmp.still_open) == sorted(f.id for f in baseline.findings)
    assert cmp.score_delta == 0
    assert cmp.requests_sent <= baseline.requests_sent // 2


def test_unmapped_findings_are_carried_as_still_open() -> None:
    with serving(fixed_demo_app()) as url:
        gone = finding("retired.check", url=url)
        result = run_verify(report([gone], target=url), ScanOptions())
    assert [f.id for f in result.comparison.still_open] == [gone.id]
    assert [f.id for f in result.not_rechecked] == [gone.id]


def test_fix_the_demo_then_verify_and_diff_through_the_cli(tmp_path: Path) -> None:
    """Scan the misconfigured demo, restart it fixed on the same port, verify, diff."""
    db = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    port = free_port()
    with serving(debug_demo_app(), port=port) as url:
        scan = cli("scan", url, "--db", db, "-f", "json", "-o", str(tmp_path / "before.json"))
    assert scan.returncode == 0, scan.stderr
    before = json.loads((tmp_path / "before.json").read_text())
    assert before["grade"] in ("D", "F") and before["scan_id"]
    broken = {f["check_id"] for f in before["findings"]}
    assert {"flask.werkzeug-debugger", "auth.weak-signing-key"} <= broken

    with serving(fixed_demo_app(), port=port) as url2:
        assert url2 == url
        verify = cli("verify", "--db", db, "-f", "json")
    assert verify.returncode == 0, verify.stderr
    cmp = json.loads(verify.stdout)
    assert cmp["baseline"]["scan_id"] == before["scan_id"]
    fixed = {f["check_id"] for f in cmp["fixed"]}
    assert {"flask.werkzeug-debugger", "auth.weak-signing-key", "files.dotenv"} <= fixed
    assert cmp["new"] == []
    assert cmp["current"]["grade"] == "A" and cmp["score_delta"] > 0
    assert all(f["severity"] in ("low", "info") for f in cmp["still_open"])
    assert cmp["requests_sent"] <= before["requests_sent"] * 0.25  # a fraction of a scan

    after_id = cmp["current"]["scan_id"]
    diff = cli("diff", before["scan_id"], after_id, "--db", db, "-f", "json")
    assert diff.returncode == 0, diff.stderr
    d = json.loads(diff.stdout)
    assert d["score_delta"] == cmp["score_delta"] > 0
    assert {f["id"] for f in d["fixed"]} == {f["id"] for f in cmp["fixed"]}

    history = json.loads(cli("history", url, "--db", db, "-f", "json").stdout)
    assert [(h["kind"], h["status"], h["grade"]) for h in history] == [
        ("scan", "complete", before["grade"]),
        ("verify", "complete", "A"),
    ]
    assert history[1]["baseline_id"] == before["scan_id"]
    text = cli("history", "--db", db)
    assert "score trend" in text.stdout and "-> A" in text.stdout
    md = cli("diff", before["scan_id"][:6], after_id[:6], "--db", db, "-f", "markdown")
    assert md.returncode == 0 and "### Fixed" in md.stdout


def test_a_passive_finding_is_fixed_only_where_the_recheck_got_a_response() -> None:
    samesite = finding("cookie.missing-samesite", url=TARGET + "login", parameter="session")
    gone = finding("retired.check")
    baseline = report([samesite, gone])
    the_plan = plan(baseline)
    fresh = report([])
    seen = merge(baseline, fresh, the_plan, {"/login", "/"})
    assert [f.id for f in seen.not_rechecked] == [gone.id]
    assert [f.id for f in seen.comparison.fixed] == [samesite.id]
    unseen = merge(baseline, fresh, the_plan, {"/"})
    assert sorted(f.id for f in unseen.not_rechecked) == sorted([gone.id, samesite.id])
    assert unseen.comparison.fixed == []


def test_verify_builds_its_scan_from_public_parts() -> None:
    """The plan's check set: planned checks, the narrowed signature, the revisit at the end."""
    dotenv = finding("files.dotenv", url=TARGET + "static/.env")
    samesite = finding("cookie.missing-samesite", parameter="session")
    p = plan(report([dotenv, samesite]))
    checks = p.check_set()
    assert checks.ids[-1] == "verify.revisit" and set(checks.ids[:-1]) == set(p.checks)
    assert [c for c in checks.checks if c.id == "files.dotenv"] == [p.narrowed["files.dotenv"]]
    assert checks.progress_total == len(checks.active) + 1
    assert "files.dotenv" not in p.check_set(skip=["files.dotenv"]).ids
