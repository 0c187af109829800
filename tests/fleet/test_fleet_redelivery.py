"""Celery redelivery with a tiny visibility timeout, on a real Redis with real workers:
a scan longer than the timeout runs once; a task whose worker dies every time ends failed
after --max-attempts runs instead of looping."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_fixtures import *  # noqa: E402,F403
from fleet_fixtures import APIGRADE, Worker, serve_targets, tiny_app, wait_for  # noqa: E402

from apigrade.fleet.results import Results  # noqa: E402

pytestmark = pytest.mark.fleet
VISIBILITY = 2  # seconds: far below the scans below


def _received(log: Path, job: str) -> int:
    """How often the worker log says it received task ``job``."""
    text = log.read_text(errors="replace")
    return len(re.findall(rf"\[{re.escape(job)}\] received", text))


@pytest.mark.timeout(150)
def test_a_scan_longer_than_the_visibility_timeout_runs_once(
    redis_url: str, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'fleet.sqlite'}"
    log = tmp_path / "w.log"
    with serve_targets(1, lambda i: tiny_app("slow", delay=0.25)) as urls:
        targets = tmp_path / "targets.txt"
        targets.write_text(urls[0] + "\n")
        worker = Worker(redis_url, db, "w@slow", log, "--concurrency", "2",
                        "--visibility-timeout", str(VISIBILITY))
        try:
            wait_for(worker.ready, 40, "the worker", 0.2)
            run = subprocess.run(
                [APIGRADE, "scan-many", str(targets), "--broker", redis_url,
                 "--max-requests", "40", "--concurrency", "1", "--format", "json",
                 "--wait-timeout", "100"],
                capture_output=True, text=True, timeout=110,
            )
            assert run.returncode == 0, run.stderr[-2000:]
            (row,) = json.loads(run.stdout)
            assert row["status"] == "completed", row
            job = row["scan_id"]
            results = Results(db)
            record = results.get(job)
            assert record is not None
            took = (time.time() - record.created_at.timestamp())
            print(f"scan with visibility timeout {VISIBILITY}s: ~{took:.1f}s after the claim")
            assert took > 3 * VISIBILITY  # else the test proves nothing
            # long after scan-many returned: no second copy, no second run
            time.sleep(4 * VISIBILITY)
            record = results.get(job)
            assert record is not None and record.status == "completed", record
            assert record.attempts == 1, record
            assert results.scans(limit=10, status="running") == []
            assert _received(log, job) == 1, log.read_text()[-3000:]
            assert redis.Redis.from_url(redis_url).get(f"apigrade:attempts:{job}") == b"1"
            assert results.completed_count(urls[0]) == 1
            results.close()
        finally:
            worker.stop()


@pytest.mark.timeout(200)
def test_a_task_whose_worker_dies_every_time_ends_failed_after_max_attempts(
    redis_url: str, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'fleet.sqlite'}"
    common = ["--concurrency", "1", "--visibility-timeout", str(VISIBILITY),
              "--max-attempts", "2"]
    with serve_targets(1, lambda i: tiny_app("poison", delay=0.5)) as urls:
        targets = tmp_path / "targets.txt"
        targets.write_text(urls[0] + "\n")
        w1 = Worker(redis_url, db, "w1@poison", tmp_path / "w1.log", *common)
        w2 = Worker(redis_url, db, "w2@poison", tmp_path / "w2.log", *common)
        w3: Worker | None = None
        submit = None
        try:
            wait_for(lambda: w1.ready() and w2.ready(), 60, "both workers ready", 0.2)
            submit = subprocess.Popen(
                [APIGRADE, "scan-many", str(targets), "--broker", redis_url,
                 "--max-requests", "400", "--concurrency", "1", "--format", "json",
                 "--wait-timeout", "150"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            results = Results(db)

            def running_on(name: str, attempts: int) -> list[str]:
                return [r.scan_id for r in results.scans(limit=10, status="running")
                        if r.worker == name and r.attempts == attempts]

            first = wait_for(lambda: running_on("w1@poison", 1) or running_on("w2@poison", 1),
                             60, "the first run", 0.05)
            holder, other = (w1, w2) if running_on("w1@poison", 1) else (w2, w1)
            holder.kill()  # the worker dies mid-scan ...
            wait_for(lambda: running_on(other.name, 2), 60, "the second run", 0.05)
            other.kill()  # ... and so does the one that took the task over
            w3 = Worker(redis_url, db, "w3@poison", tmp_path / "w3.log", *common)
            stdout, stderr = submit.communicate(timeout=120)
            assert submit.returncode == 3, stderr[-2000:]  # every target failed
            (row,) = json.loads(stdout)
            assert row["status"] == "failed" and row["scan_id"] == first[0], row
            assert "gave up after 2 attempts" in row["error"], row
            record = results.get(first[0])
            assert record is not None and record.status == "failed", record
            assert "gave up after 2 attempts" in (record.error or "")
            assert record.attempts == 2  # the third delivery did not scan
            time.sleep(3 * VISIBILITY)  # and nothing runs it again
            assert results.scans(limit=10, status="running") == []
            assert _received(tmp_path / "w3.log", first[0]) == 1
            results.close()
        finally:
            if submit is not None and submit.poll() is None:
                submit.kill()
            for w in (w1, w2, w3):
                if w is not None:
                    w.stop()
