"""Time the full default scan of the bundled demo target for two source trees, side by side.

    python bench/demo/compare.py --a src --b /path/to/other/checkout/src [--rounds 7]

Each round runs ``apigrade demo -f json`` once per tree (A then B, alternating), each in a fresh
process with ``PYTHONPATH`` pointing at that tree, and records wall time and CPU time of the
process (``resource.getrusage`` of the child), the requests sent and the findings. It prints the medians and the
ratio A/B of each pair; the demo target runs on 127.0.0.1 inside the scanning process and
stops with it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(src: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src.resolve()), "NO_COLOR": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        env["APIGRADE_DB"] = f"sqlite:///{tmp}/bench.sqlite3"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "apigrade", "demo", "-f", "json", "-o", str(out)],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"{src}: exit {proc.returncode}: {proc.stderr[-500:]}")
        report = json.loads(out.read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall": wall,
        "cpu": cpu,
        "requests": report["requests_sent"],
        "findings": len(report["findings"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", type=Path, required=True, help="source tree A (its src/ folder)")
    ap.add_argument("--b", type=Path, required=True, help="source tree B (its src/ folder)")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    run_once(args.a), run_once(args.b)  # warm-up: imports compiled, caches filled
    rows: dict[str, list[dict[str, float]]] = {"a": [], "b": []}
    for _ in range(args.rounds):
        rows["a"].append(run_once(args.a))
        rows["b"].append(run_once(args.b))
    for key in ("wall", "cpu"):
        a = [r[key] for r in rows["a"]]
        b = [r[key] for r in rows["b"]]
        ratios = sorted(x / y for x, y in zip(a, b, strict=True))
        print(
            f"{key:5} s  A median {statistics.median(a):.2f}  B median {statistics.median(b):.2f}"
            f"  A/B median {statistics.median(ratios):.3f} (min {ratios[0]:.3f}, max {ratios[-1]:.3f})"
        )
    for key in ("requests", "findings"):
        print(f"{key}: A {sorted({r[key] for r in rows['a']})}  B {sorted({r[key] for r in rows['b']})}")


if __name__ == "__main__":
    main()
