"""The analysis pool: results and errors come back, deadlines kill, workers are replaced."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from apigrade.checks.context import DebuggerFacts, KnowledgeBase
from apigrade.engine import offload
from apigrade.engine.analysis import diff_kb, merge_kb

# Functions the workers run: module level, so a worker can import them by name.


def add(a: int, b: int) -> int:
    return a + b


def fail(message: str) -> None:
    raise ValueError(message)


def spin(pid_file: str) -> int:
    """Write this worker's pid, then burn CPU forever."""
    Path(pid_file).write_text(str(os.getpid()))
    while True:
        pass


def nap(seconds: float) -> str:
    time.sleep(seconds)
    return "rested"


def _gone(pid: int, within: float = 5.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


async def _pid_of(pid_file: Path) -> int:
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            return int(pid_file.read_text())
        await asyncio.sleep(0.05)
    raise AssertionError("the item never started")


async def test_results_and_exceptions_come_back() -> None:
    assert await offload.run(add, 2, 3) == 5
    with pytest.raises(ValueError, match="broken parser"):
        await offload.run(fail, "broken parser")
    # a worker's pid is not ours: the work really ran elsewhere
    assert await offload.run(os.getpid) != os.getpid()


async def test_item_over_its_deadline_is_dropped_and_its_worker_replaced(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    errors: list[str] = []
    t0 = time.monotonic()
    result = await offload.run(
        spin, str(pid_file), deadline=0.5, label="parse of /big", errors=errors
    )
    elapsed = time.monotonic() - t0
    assert result is None
    assert errors == ["parse of /big dropped: over 0.5 s CPU"]
    assert elapsed < 0.5 + 5, elapsed  # never waited on past the deadline (+ a noisy machine)
    killed = int(pid_file.read_text())
    assert _gone(killed), "the worker that ran over its deadline is still running"
    # the pool goes on with a replacement worker
    assert await offload.run(add, 1, 1) == 2
    assert await offload.run(os.getpid) != killed


async def test_an_item_within_its_deadline_is_not_dropped() -> None:
    errors: list[str] = []
    assert await offload.run(nap, 0.2, deadline=5, errors=errors) == "rested"
    assert errors == []


async def test_cancelling_the_caller_kills_the_running_item(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    task = asyncio.ensure_future(offload.run(spin, str(pid_file), deadline=60))
    pid = await _pid_of(pid_file)
    t0 = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _gone(pid), "a cancelled item's worker was left running"
    assert time.monotonic() - t0 < 5
    assert await offload.run(add, 2, 2) == 4


async def test_input_over_the_cap_is_refused_without_running() -> None:
    errors: list[str] = []
    assert await offload.run(add, "x" * 100, "y", max_input=50, label="big", errors=errors) is None
    assert errors == ["big dropped: input of 101 bytes is over 50"]
    assert await offload.run(add, "x" * 10, "y", max_input=50) == "x" * 10 + "y"


async def test_one_pool_per_process_with_at_most_two_workers() -> None:
    assert offload.pool() is offload.pool()
    pids = await asyncio.gather(*(offload.run(os.getpid) for _ in range(20)))
    assert 1 <= len(set(pids)) <= offload.workers() <= 2


async def test_functions_of_main_are_refused() -> None:
    def local() -> None: ...

    local.__module__ = "__main__"
    with pytest.raises(TypeError, match="__main__"):
        await offload.run(local)


def _child(queue: multiprocessing.Queue[object]) -> None:
    offload.warm()
    queue.put((os.getpid(), asyncio.run(offload.run(os.getpid))))


def _run_child(daemon: bool) -> tuple[object, int | None, int | None]:
    """(what ``_child`` sent back, the child's pid, its exit code) of a spawned child."""
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[object] = ctx.Queue()
    child = ctx.Process(target=_child, args=(queue,), daemon=daemon)
    child.start()
    pids = queue.get(timeout=60)
    child.join(timeout=30)
    return pids, child.pid, child.exitcode


def test_pool_works_inside_a_non_daemon_child_process() -> None:
    """`apigrade serve` runs each scan in such a child: its own pool starts there."""
    pids, _, exitcode = _run_child(daemon=False)
    assert isinstance(pids, tuple)
    child_pid, worker_pid = pids
    assert exitcode == 0
    assert isinstance(worker_pid, int) and worker_pid not in (child_pid, os.getpid())


def test_a_script_without_a_main_guard_is_not_rerun_by_workers(tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import asyncio, os\n"
        "from apigrade.engine import offload\n"
        "print('ran', flush=True)\n"
        "print(asyncio.run(offload.run(os.getpid)) != os.getpid())\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ran", "True"]  # the script ran once, in the parent only


def test_knowledge_base_additions_travel_back() -> None:
    # issue 14: the untyped ``facts`` dict became typed fields; the same set/value/list cases
    one, two = DebuggerFacts(version_hint="1"), DebuggerFacts(version_hint="2")
    before = KnowledgeBase(secret_keys=[("k1", "/a")], reported_secrets={"x"}, werkzeug_debugger=one)
    after = KnowledgeBase(
        secret_keys=[("k1", "/a"), ("k2", "/b")],
        words={"Title"},
        reported_secrets={"x", "y"}, werkzeug_debugger=two, specs=["/new"],
    )  # fmt: skip
    delta = diff_kb(before, after)
    kb = KnowledgeBase(secret_keys=[("k1", "/a")], reported_secrets={"x", "z"}, werkzeug_debugger=one)
    merge_kb(kb, delta)
    assert kb.secret_keys == [("k1", "/a"), ("k2", "/b")]
    assert kb.words == {"Title"}
    assert (kb.reported_secrets, kb.werkzeug_debugger, kb.specs) == ({"x", "y", "z"}, two, ["/new"])
    merge_kb(kb, diff_kb(after, after))  # nothing added: nothing changes
    assert kb.reported_secrets == {"x", "y", "z"}


async def test_checks_offload_their_own_parsing(tmp_path: Path) -> None:
    from typing import Any, cast

    from apigrade.checks.context import CheckContext, ScanState
    from apigrade.engine.target import Target

    state = ScanState(
        target=Target.parse("http://127.0.0.1:1/"),
        engine=cast(Any, None),
        baseline=cast(Any, None),
        cpu_deadline=0.5,
    )
    ctx = CheckContext(state, "demo.check", lambda _kind, _hit: None)
    assert await ctx.offload(add, 20, 22) == 42
    assert await ctx.offload(spin, str(tmp_path / "pid")) is None
    assert state.errors == ["demo.check: spin dropped: over 0.5 s CPU"]


def test_a_daemonic_process_falls_back_to_a_thread() -> None:
    """No child may start there: the work runs in a thread, still off the event loop."""
    pids, child_pid, _ = _run_child(daemon=True)
    assert pids == (child_pid, child_pid)


def test_workers_never_outlive_a_killed_parent(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = tmp_path / "parent.py"
    script.write_text(
        "import asyncio, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from apigrade.engine import offload\n"
        "from test_offload import spin\n"
        f"asyncio.run(offload.run(spin, {str(pid_file)!r}, deadline=600))\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)])
    try:
        end = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < end:
            time.sleep(0.05)
        worker = int(pid_file.read_text())
    finally:
        parent.kill()  # SIGKILL: no atexit, no finaliser runs
        parent.wait()
    assert _gone(worker, within=10), "a worker busy with an item outlived its killed parent"
