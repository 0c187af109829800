"""Time full default in-process scans (no socket, no network) of a misconfigured Flask app.

Usage: python bench/patterns/scan_speed.py [--rounds 5] [--app demo|flask-bench]
``demo`` is the bundled demo app (with its debugger); ``flask-bench`` is the target of
bench/flask (its files under a temporary folder, with the debug toolbar). Run it with
PYTHONPATH pointing at another checkout's ``src`` to time that code: ``run.sh`` does so for
the previous commit. Prints one JSON line: median wall and CPU seconds of one scan,
requests, findings, and a digest of the findings (check, method, parameter; URLs and
evidence hold random probe names) so two versions can be shown to report the same thing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import apigrade

HERE = Path(__file__).resolve().parent


def make_app(name: str, tmp: str) -> Any:
    if name == "demo":
        from apigrade.demo.app import create_debug_app

        return create_debug_app()
    sys.path.insert(0, str(HERE.parent / "flask"))
    from target_app import create_app

    return create_app(tmp, toolbar=True)


def digest(report: Any) -> str:
    rows = sorted(json.dumps([f.check_id, f.method, f.parameter]) for f in report.findings)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--app", choices=("demo", "flask-bench"), default="demo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(args.app, tmp)
        apigrade.scan(app)  # warm-up: imports, check registry, signature files
        walls, cpus = [], []
        report = None
        for _ in range(args.rounds):
            w0, c0 = time.perf_counter(), time.process_time()
            report = apigrade.scan(app)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
    assert report is not None
    print(json.dumps({
        "code": str(Path(apigrade.__file__).parent.parent),
        "app": args.app,
        "rounds": args.rounds,
        "wall_median_s": round(statistics.median(walls), 3),
        "cpu_median_s": round(statistics.median(cpus), 3),
        "wall_all_s": [round(w, 3) for w in walls],
        "requests": getattr(report, "requests_sent", None),
        "findings": len(report.findings),
        "findings_digest": digest(report),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
