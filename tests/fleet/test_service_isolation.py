"""Issue 12, case 2: hostile scans never stall the service, the MCP server or scan-many.

Every scan runs in a child process (apigrade.fleet.isolation): the serving loop answers
while hostile scans run, and SIGTERM / Ctrl-C / the parent's death end every scan and
every process it started. The hostile site (isolation_fixtures.HostileSite) serves 1 MB
of ``-eyJ`` at ``/`` and drips every other path, so its scans stay busy for minutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_fixtures import *  # noqa: E402,F403
from fleet_fixtures import APIGRADE, serve_targets, tiny_app, wait_for  # noqa: E402
from isolation_fixtures import (  # noqa: E402
    API_KEY,
    CHILD,
    HostileSite,
    alive,
    descendants,
    scan_children,
    serving,
)

from apigrade.engine.scanner import ScanOptions  # noqa: E402
from apigrade.errors import TargetError  # noqa: E402
from apigrade.fleet.isolation import scan_isolated  # noqa: E402
from apigrade.fleet.results import Results  # noqa: E402

pytestmark = pytest.mark.fleet
KEY = {"X-API-Key": API_KEY}
#: the issue's bound is 1 s; asserted with room for a loaded 2-core machine
HEALTHZ_BOUND_S = 2.0
#: the issue's bound is 5 s; asserted with room for a loaded machine
STOP_BOUND_S = 10.0


@pytest.fixture
def hostile() -> Iterator[HostileSite]:
    site = HostileSite()
    try:
        yield site
    finally:
        site.close()


def _all_dead(pids: list[int]) -> bool:
    return not any(alive(p) for p in pids)


def test_healthz_answers_while_four_hostile_scans_run(tmp_path: Path, hostile: HostileSite) -> None:
    with serving(tmp_path, "--parallel", "4", "--timeout", "3") as svc, httpx.Client(
        base_url=svc.url, timeout=30
    ) as c:
        ids = []
        for i in range(4):
            r = c.post("/api/scans", headers=KEY, json={"url": f"{hostile.url}s{i}/"})
            assert r.status_code == 202, r.text
            ids.append(r.json()["scan_id"])
        # the scans run outside the serving process: four isolated children
        wait_for(lambda: len(scan_children(svc.proc.pid)) >= 4, 30, "four scan processes", 0.1)
        child = scan_children(svc.proc.pid)[0]
        environ = Path(f"/proc/{child}/environ").read_bytes()
        assert b"APIGRADE_API_KEY" not in environ and API_KEY.encode() not in environ
        time.sleep(1.0)  # let them get to the heavy part

        latencies = []
        for _ in range(24):
            t0 = time.monotonic()
            r = c.get("/healthz", timeout=HEALTHZ_BOUND_S)
            latencies.append(time.monotonic() - t0)
            assert r.status_code == 200 and r.json() == {"status": "ok"}
            time.sleep(0.25)
        t0 = time.monotonic()
        listed = c.get("/api/scans", headers=KEY, timeout=HEALTHZ_BOUND_S).json()["scans"]
        assert c.get("/login", timeout=HEALTHZ_BOUND_S).status_code == 200  # the dashboard
        latencies.append(time.monotonic() - t0)
        # the load was real: all four still running, their processes busy
        assert sorted(s["scan_id"] for s in listed if s["status"] == "running") == sorted(ids)
        assert len(scan_children(svc.proc.pid)) == 4
        print(f"healthz under 4 hostile scans: max {max(latencies):.3f}s, "
              f"median {sorted(latencies)[len(latencies) // 2]:.3f}s")
        assert max(latencies) < HEALTHZ_BOUND_S


def test_sigterm_stops_the_service_and_marks_running_scans_interrupted(
    tmp_path: Path, hostile: HostileSite
) -> None:
    with serving(tmp_path, "--parallel", "2", "--timeout", "3") as svc, httpx.Client(
        base_url=svc.url, timeout=30
    ) as c:
        ids = [c.post("/api/scans", headers=KEY, json={"url": f"{hostile.url}t{i}/"}).json()
               ["scan_id"] for i in range(3)]  # two running, one queued behind --parallel 2
        wait_for(lambda: len(scan_children(svc.proc.pid)) >= 2, 30, "two scan processes", 0.1)
        time.sleep(1.5)  # the scans start their analysis workers too
        tree = svc.remember_children()
        assert len(tree) >= 2
        took = svc.terminate(timeout=60)
        print(f"SIGTERM with 2 running hostile scans: exited after {took:.2f}s")
        assert took < STOP_BOUND_S
        assert "Traceback" not in svc.stderr
        # nothing left behind: every process the service started is gone
        wait_for(lambda: _all_dead(list(tree)), 5, "the scan processes to be gone")
    results = Results(svc.db)
    try:
        rows = {r.scan_id: r for r in results.scans()}
    finally:
        results.close()
    assert set(rows) == set(ids)
    for row in rows.values():
        assert (row.status, row.error) == ("failed", "scan interrupted")


class _Mcp:
    """``apigrade mcp`` over stdio, one JSON-RPC message a line (read by a thread)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([APIGRADE, "mcp", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.next_id = 0
        self.lines: queue.Queue[str] = queue.Queue()
        self.answers: dict[int, dict[str, Any]] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def notify(self, method: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": method}) + "\n")
        self.proc.stdin.flush()

    def send(self, method: str, params: dict[str, Any] | None = None) -> int:
        assert self.proc.stdin is not None
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}}
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        return self.next_id

    def wait(self, msg_id: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while msg_id not in self.answers:
            try:
                answer = json.loads(self.lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"no answer to request {msg_id} within {timeout}s") from None
            if "id" in answer:
                self.answers[answer["id"]] = answer
        return self.answers[msg_id]


def test_mcp_server_answers_while_a_hostile_scan_runs(tmp_path: Path, hostile: HostileSite) -> None:
    mcp = _Mcp("--allow", "127.0.0.1", "--db", f"sqlite:///{tmp_path / 'm.sqlite'}",
               "--timeout", "3")
    try:
        init = mcp.send("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                       "clientInfo": {"name": "pytest", "version": "1"}})
        mcp.wait(init, 30)
        mcp.notify("notifications/initialized")
        scan = mcp.send("tools/call", {"name": "scan", "arguments": {"url": hostile.url}})
        wait_for(lambda: scan_children(mcp.proc.pid), 30, "the scan process", 0.1)
        time.sleep(1.0)
        tree = descendants(mcp.proc.pid)
        t0 = time.monotonic()
        listed = mcp.wait(mcp.send("tools/call", {"name": "list", "arguments": {}}),
                          HEALTHZ_BOUND_S)
        took = time.monotonic() - t0
        print(f"MCP list during a hostile scan: {took:.3f}s")
        scans = listed["result"]["structuredContent"]["scans"]
        assert [s["status"] for s in scans] == ["running"]
        assert scan not in mcp.answers  # the scan is still going
        # the client goes away mid-scan: the server ends and takes its scan with it
        assert mcp.proc.stdin is not None
        mcp.proc.stdin.close()
        mcp.proc.wait(timeout=STOP_BOUND_S)
        wait_for(lambda: _all_dead(list(tree)), 5, "the scan processes to be gone")
    finally:
        if mcp.proc.poll() is None:
            mcp.proc.kill()
            mcp.proc.wait()
    assert "Traceback" not in (mcp.proc.stderr.read() if mcp.proc.stderr else "")


def test_scan_many_ctrl_c_ends_hostile_scans_at_once(tmp_path: Path, hostile: HostileSite) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text(f"{hostile.url}a/\n{hostile.url}b/\n")
    proc = subprocess.Popen([APIGRADE, "scan-many", str(targets), "--no-store", "--timeout", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(scan_children(proc.pid)) >= 2, 30, "two scan processes", 0.1)
        time.sleep(1.0)
        tree = descendants(proc.pid)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - t0
        print(f"scan-many Ctrl-C with 2 hostile scans: {took:.2f}s")
        assert took < STOP_BOUND_S
        assert proc.returncode != 0 and "Traceback" not in stderr
        wait_for(lambda: _all_dead(list(tree)), 5, "the scan processes to be gone")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


_ORPHAN = """
import asyncio, sys
from apigrade.engine.scanner import ScanOptions
from apigrade.fleet.isolation import scan_isolated
asyncio.run(scan_isolated(sys.argv[1], ScanOptions(timeout=3)))
"""


def test_a_killed_parent_takes_its_scan_processes_with_it(hostile: HostileSite) -> None:
    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN, hostile.url],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: scan_children(parent.pid), 30, "the scan process", 0.1)
        time.sleep(1.0)
        tree = descendants(parent.pid)
        parent.kill()  # SIGKILL: no cleanup code runs in the parent
        parent.wait(timeout=10)
        wait_for(lambda: _all_dead(list(tree)), 10, "the orphaned scan processes to end")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_isolated_scan_returns_the_report_or_the_scan_error() -> None:
    with serve_targets(1, lambda i: tiny_app("iso")) as (url,):
        report = asyncio.run(scan_isolated(url, ScanOptions(max_requests=40)))
    assert report.target == url and report.grade in "ABCDF" and report.requests_sent > 0
    with pytest.raises(TargetError):  # the scan's own exception, raised again here
        asyncio.run(scan_isolated("http://127.0.0.1:9/", ScanOptions(timeout=2)))


def test_the_servers_working_folder_cannot_shadow_the_childs_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``token.py`` (a standard-library name) where the server was started is not imported
    by the scan child: the scan still ends with its own error."""
    (tmp_path / "token.py").write_text("raise SystemExit(7)\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TargetError):
        asyncio.run(scan_isolated("http://127.0.0.1:9/", ScanOptions(timeout=2)))


def test_cancelling_an_isolated_scan_kills_its_processes(hostile: HostileSite) -> None:
    seen: set[int] = set()

    async def main() -> None:
        task = asyncio.ensure_future(scan_isolated(hostile.url, ScanOptions(timeout=3)))
        for _ in range(300):
            await asyncio.sleep(0.1)
            if scan_children(os.getpid()):
                break
        await asyncio.sleep(1.0)
        for child in scan_children(os.getpid()):  # the scan and what it started, nothing else
            seen.update([child, *descendants(child)])
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - t0 < STOP_BOUND_S  # the child's cleanup, at most 2 s

    asyncio.run(main())
    assert seen
    wait_for(lambda: _all_dead(list(seen)), 5, "the cancelled scan's processes to end")


def test_a_scan_process_that_dies_is_a_failed_scan_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apigrade.fleet import isolation
    from apigrade.fleet.runner import scan_one
    from apigrade.fleet.targets import FleetTarget

    monkeypatch.setattr(isolation, "CHILD_MODULE", "tabnanny")  # exits at once, no answer
    results = Results(f"sqlite:///{tmp_path / 'crash.sqlite'}")
    try:
        t0 = time.monotonic()
        outcome = asyncio.run(scan_one(FleetTarget("http://127.0.0.1:9/"), ScanOptions(),
                                       "c0ffee01", results))
        assert time.monotonic() - t0 < 30
        assert outcome.status == "failed" and outcome.error is not None
        assert "ended without a result (exit code 0)" in outcome.error
        assert "\n" not in outcome.error and "Traceback" not in outcome.error
        row = results.get("c0ffee01")
        assert row is not None and row.status == "failed" and row.error == outcome.error
    finally:
        results.close()


@pytest.mark.timeout(90)
def test_celery_worker_scans_in_a_child_and_a_killed_worker_takes_it_along(
    redis_url: str, tmp_path: Path, hostile: HostileSite
) -> None:
    from fleet_fixtures import Worker

    from apigrade.fleet.distributed import QUEUE, TASK, make_app, payload_for
    from apigrade.fleet.targets import FleetTarget

    worker = Worker(redis_url, f"sqlite:///{tmp_path / 'w.sqlite'}", "iso@test",
                    tmp_path / "w.log", "--concurrency", "1")
    try:
        wait_for(worker.ready, 40, "the worker", 0.2)
        app = make_app(redis_url)
        app.send_task(TASK, args=[payload_for(FleetTarget(hostile.url), ScanOptions(timeout=3),
                                              1, False)], task_id="f00dfeed", queue=QUEUE)
        wait_for(lambda: scan_children(worker.proc.pid), 30, "the task's scan process", 0.1)
        time.sleep(1.0)
        tree = {p: c for child in scan_children(worker.proc.pid)
                for p, c in [(child, CHILD), *descendants(child).items()]}
        # the worker's own process answers while its task scans a hostile site
        t0 = time.monotonic()
        replies = app.control.ping(destination=["iso@test"], timeout=HEALTHZ_BOUND_S)
        print(f"worker ping during a hostile scan: {time.monotonic() - t0:.3f}s")
        assert replies and "iso@test" in replies[0]
        worker.kill()  # SIGKILL to the worker's group: the scan runs in a session of its own
        wait_for(lambda: _all_dead(list(tree)), 10, "the scan processes to end")
    finally:
        worker.stop()
