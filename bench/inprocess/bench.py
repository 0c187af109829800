"""Time in-process (grey-box) scans of the 50-route Flask app: ``python bench/inprocess/bench.py [ROUNDS]``.

Prints, per round, the wall time, requests, routes read from the app and findings, then
the median. No socket is opened: every request goes straight to the app object.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from target50 import create_app  # noqa: E402

import apigrade  # noqa: E402


def main(rounds: int = 5) -> None:
    apigrade.scan(create_app(), max_requests=50)  # warm-up: imports, the analysis pool
    walls = []
    for i in range(rounds):
        t0 = time.perf_counter()
        report = apigrade.scan(create_app())
        wall = time.perf_counter() - t0
        walls.append(wall)
        disc = report.discovery
        print(f"round {i + 1}: {wall:.2f} s, {report.requests_sent} requests, "
              f"{disc.app_routes if disc else '?'} routes from the app, "
              f"{len(report.findings)} findings")  # fmt: skip
    print(f"median {statistics.median(walls):.2f} s over {rounds} rounds "
          f"(min {min(walls):.2f}, max {max(walls):.2f})")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
