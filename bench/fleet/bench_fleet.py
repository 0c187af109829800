"""Fleet throughput and memory: one process (scan-many) against two Celery workers.

Serves N copies of the demo app on 127.0.0.1, then measures, ``--repeat`` times each:

* local: ``apigrade scan-many`` without a broker (``--parallel P``);
* distributed: a throwaway redis-server and two ``apigrade worker`` processes
  (``--concurrency C`` each) fed by ``apigrade scan-many --broker``.

Reported: targets per minute (median), peak RSS and peak RSS per in-flight scan. Only
loopback servers this script starts are contacted; everything is stopped at the end.

    python bench/fleet/bench_fleet.py --targets 50 --repeat 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from apigrade.demo.app import create_app
from apigrade.demo.server import serve_wsgi

APIGRADE = str(Path(sys.executable).with_name("apigrade"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pids: list[int]) -> int:
    """Resident memory of these processes and all their descendants, in KiB."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
    total, todo, seen = 0, list(pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(children.get(pid, []))
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


class PeakSampler:
    """Samples the RSS of a process tree every 200 ms; ``peak`` in KiB."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, rss_kb(self.pids))

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def targets(n: int) -> Iterator[list[str]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(serve_wsgi(create_app())) for _ in range(n)]


@contextlib.contextmanager
def redis(tmp: Path) -> Iterator[str]:
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server is needed for the distributed run")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def workers(broker: str, db: str, concurrency: int, tmp: Path) -> Iterator[list[int]]:
    procs = []
    for i in range(2):
        log = (tmp / f"w{i}.log").open("wb")
        procs.append(subprocess.Popen(
            [APIGRADE, "worker", "--broker", broker, "--db", db, "--concurrency",
             str(concurrency), "--name", f"bench{i}@%h", "--loglevel", "WARNING"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    try:
        time.sleep(1.0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # ready when a ping gets two answers
            r = subprocess.run([sys.executable, "-c", _PING, broker], capture_output=True,
                               text=True)
            if r.stdout.strip() == "2":
                break
            time.sleep(0.5)
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


_PING = (
    "import sys\nfrom apigrade.fleet.distributed import make_app\n"
    "print(len(make_app(sys.argv[1]).control.ping(timeout=1.0) or []))"
)


def scan_many(args: list[str], sample: list[int] | None = None) -> tuple[float, int, list[dict]]:
    """Run scan-many; wall seconds, peak RSS KiB (of scan-many or of ``sample``), rows."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        t0 = time.monotonic()
        proc = subprocess.Popen([APIGRADE, "scan-many", *args, "-f", "json", "-o", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with PeakSampler(sample if sample is not None else [proc.pid]) as sampler:
            proc.wait()
        wall = time.monotonic() - t0
        rows = json.loads(out.read_text())
    return wall, sampler.peak, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=50)
    ap.add_argument("--max-requests", type=int, default=120)
    ap.add_argument("--parallel", type=int, default=8, help="local scan-many --parallel")
    ap.add_argument("--worker-concurrency", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    opts = ap.parse_args()
    common = ["--max-requests", str(opts.max_requests), "--per-host", str(opts.targets)]
    report: dict[str, dict[str, float]] = {}
    with targets(opts.targets) as urls, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        tfile = tmp / "targets.txt"
        tfile.write_text("\n".join(urls) + "\n")
        # idle baselines: what a process costs before any scan
        idle = scan_many([str(_one_dead(tmp)), "--no-store"])[1]

        runs = []
        for _ in range(opts.repeat):
            wall, peak, rows = scan_many([str(tfile), "--parallel", str(opts.parallel),
                                          "--db", f"sqlite:///{tmp / 'local.sqlite'}", *common])
            assert all(r["status"] == "completed" for r in rows), rows
            runs.append((wall, peak))
        report["local"] = _summary(runs, opts.targets, opts.parallel, idle)

        with redis(tmp) as broker:
            db = f"sqlite:///{tmp / 'dist.sqlite'}"
            with workers(broker, db, opts.worker_concurrency, tmp) as pids:
                w_idle = rss_kb(pids)
                runs = []
                for _ in range(opts.repeat):
                    wall, peak, rows = scan_many([str(tfile), "--broker", broker, *common],
                                                 sample=pids)
                    assert all(r["status"] == "completed" for r in rows), rows
                    runs.append((wall, peak))
        report["two workers"] = _summary(runs, opts.targets, 2 * opts.worker_concurrency,
                                         w_idle)
    print(json.dumps({"config": vars(opts), "results": report}, indent=2))


def _one_dead(tmp: Path) -> Path:
    f = tmp / "idle.txt"
    f.write_text(f"http://127.0.0.1:{free_port()}/\n")
    return f


def _summary(runs: list[tuple[float, int]], n: int, in_flight: int, idle_kb: int) -> dict[str, float]:
    wall = statistics.median(w for w, _ in runs)
    peak = statistics.median(p for _, p in runs)
    return {
        "targets_per_minute": round(n / wall * 60, 1),
        "wall_s": round(wall, 2),
        "in_flight": in_flight,
        "peak_rss_mib": round(peak / 1024, 1),
        "idle_rss_mib": round(idle_kb / 1024, 1),
        "peak_rss_per_scan_mib": round(peak / 1024 / in_flight, 1),
        "marginal_rss_per_scan_mib": round(max(0, peak - idle_kb) / 1024 / in_flight, 1),
    }


if __name__ == "__main__":
    main()
