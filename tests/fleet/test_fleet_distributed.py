"""Celery fleet: a real Redis, two worker processes, one killed mid-run, nothing lost or doubled."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_fixtures import *  # noqa: E402,F403
from fleet_fixtures import APIGRADE, Worker, serve_targets, tiny_app, wait_for  # noqa: E402

from apigrade.fleet.results import Results  # noqa: E402

pytestmark = pytest.mark.fleet
N_TARGETS = 20


@pytest.mark.timeout(90)
def test_two_workers_one_killed_every_target_scanned_once(
    redis_url: str, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'fleet.sqlite'}"
    common = ["--concurrency", "2", "--visibility-timeout", "6"]
    with serve_targets(N_TARGETS, lambda i: tiny_app(f"t{i}", delay=0.03)) as urls:
        targets = tmp_path / "targets.txt"
        targets.write_text("# twenty local targets\n" + "\n".join(urls) + "\n")
        w1 = Worker(redis_url, db, "w1@test", tmp_path / "w1.log", *common)
        w2 = Worker(redis_url, db, "w2@test", tmp_path / "w2.log", *common)
        submit = None
        try:
            wait_for(lambda: w1.ready() and w2.ready(), 40, "both workers ready", 0.2)
            out = tmp_path / "out.json"
            submit = subprocess.Popen(
                [APIGRADE, "scan-many", str(targets), "--broker", redis_url, "--per-host", "20",
                 "--max-requests", "40", "--concurrency", "2", "--format", "json",
                 "--output", str(out), "--wait-timeout", "70"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            results = Results(db)

            def running_on_w1() -> list[str]:
                return [r.scan_id for r in results.scans(limit=100, status="running")
                        if r.worker == "w1@test"]

            killed_jobs = wait_for(running_on_w1, 40, "a scan running on w1", 0.02)
            w1.kill()
            t_kill = time.monotonic()
            stdout, stderr = submit.communicate(timeout=75)
            assert submit.returncode == 0, stderr[-2000:]
        finally:
            if submit is not None and submit.poll() is None:
                submit.kill()
            w1.stop()
            w2.stop()

    rows = json.loads(out.read_text())
    assert [r["target"] for r in rows] == urls  # input order
    assert all(r["status"] == "completed" for r in rows), rows
    assert len({r["scan_id"] for r in rows}) == N_TARGETS
    for url, row in zip(urls, rows, strict=True):
        scans = results.scans(url, limit=10)
        assert len(scans) == 1, f"{url}: {scans}"  # nothing duplicated
        assert scans[0].status == "completed" and scans[0].scan_id == row["scan_id"]
        assert results.completed_count(url) == 1
        assert results.report(row["scan_id"]) is not None
    # the scans the dead worker held were re-run by the survivor, in the same rows
    for job in killed_jobs:
        record = results.get(job)
        assert record is not None and record.status == "completed"
        assert record.attempts >= 2 and record.worker == "w2@test", record
    assert time.monotonic() - t_kill < 60
    results.close()
