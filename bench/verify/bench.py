"""Benchmark driver for bench/verify/run.sh (see README.md in this folder).

Each round, through the real command line and one SQLite history file:

1. serve the misconfigured demo (debugger on, key "dev") on 127.0.0.1:PORT and run
   ``apigrade scan``;
2. stop it, serve the fixed variant (fixed_app.py) on the same port and run
   ``apigrade verify`` (re-checks the first scan's findings);
3. run a full ``apigrade scan --no-store`` of the fixed target, the cost verify replaces.

Prints requests and wall time of each step, medians over the rounds, and the ratio of
verify's requests to the full scan's. Exits 1 when verify needs more than 25 %.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fixed_app import create_fixed_app

from apigrade.demo.app import create_debug_app
from apigrade.demo.server import serve_wsgi

LIMIT = 0.25


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quiet_debug_app() -> Any:
    app = create_debug_app()

    def quiet(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.errors"] = io.StringIO()
        return app(environ, start_response)

    return quiet


def apigrade(*args: str) -> tuple[dict[str, Any], float]:
    """Run ``python -m apigrade ARGS -f json``; the parsed stdout and the wall time."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "apigrade", *args, "-f", "json"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"apigrade {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout), wall


def one_round(db: str) -> dict[str, float]:
    port = free_port()
    with serve_wsgi(quiet_debug_app(), port=port) as url:
        before, t_scan = apigrade("scan", url, "--db", db)
    with serve_wsgi(create_fixed_app(), port=port):
        cmp, t_verify = apigrade("verify", before["scan_id"], "--db", db)
        full, t_full = apigrade("scan", url, "--db", db, "--no-store")
    return {
        "demo_scan_requests": before["requests_sent"],
        "demo_scan_s": t_scan,
        "verify_requests": cmp["requests_sent"],
        "verify_s": t_verify,
        "fixed": len(cmp["fixed"]),
        "still_open": len(cmp["still_open"]),
        "new": len(cmp["new"]),
        "score_before": cmp["baseline"]["score"],
        "score_after": cmp["current"]["score"],
        "grade_after": ord(cmp["current"]["grade"]),
        "fixed_full_scan_requests": full["requests_sent"],
        "fixed_full_scan_s": t_full,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="apigrade-bench-verify-") as tmp:
        db = f"sqlite:///{Path(tmp) / 'history.sqlite3'}"
        for i in range(args.rounds):
            row = one_round(db)
            rows.append(row)
            print(f"round {i + 1}: " + ", ".join(
                f"{k}={chr(int(v)) if k == 'grade_after' else round(v, 2)}" for k, v in row.items()
            ))  # fmt: skip
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    vs_fixed = med["verify_requests"] / med["fixed_full_scan_requests"]
    vs_demo = med["verify_requests"] / med["demo_scan_requests"]
    print()
    print(f"median over {len(rows)} rounds")
    print(
        f"  full scan of the demo        {med['demo_scan_requests']:>6.0f} requests  {med['demo_scan_s']:.2f} s"
    )
    print(
        f"  full scan of the fixed app   {med['fixed_full_scan_requests']:>6.0f} requests  {med['fixed_full_scan_s']:.2f} s"
    )
    print(
        f"  verify (fixed app)           {med['verify_requests']:>6.0f} requests  {med['verify_s']:.2f} s"
    )
    print(
        f"  findings fixed / still open / new: {med['fixed']:.0f} / {med['still_open']:.0f} / {med['new']:.0f}"
    )
    print(
        f"  score {med['score_before']:.0f} -> {med['score_after']:.0f}, grade {chr(int(med['grade_after']))}"
    )
    print(f"  verify / full scan of the fixed app: {vs_fixed:.1%} (limit {LIMIT:.0%})")
    print(f"  verify / full scan of the demo:      {vs_demo:.1%}")
    return 0 if max(vs_fixed, vs_demo) <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
