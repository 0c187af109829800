"""Pattern matching on hostile bodies: RE2 (apigrade.rx) figures, and the JWT case before/after.

1. Every registered pattern (all modules imported, all signature files loaded) against the
   hostile bodies of tests/hostile/test_patterns_linear.py (~1 MB each: repeated prefixes of
   the pattern's own literals, plus the pathological shapes), through ``search`` and the
   bounded ``finditer``: total time, and the slowest pattern×body pairs.
2. The exposed-secrets JWT pattern of the previous commit, with Python's ``re``, against
   ``-eyJ`` repeated (the page that held a scan for 6 min 47 s), next to the same pattern
   compiled with RE2, at growing sizes. Python's ``re`` is stopped at ``--max-re-size``
   (it grows with the square of the size; 1 MB would take minutes).

Usage: python bench/patterns/bench.py [--top 10] [--max-re-size 131072]
Prints a JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "hostile"))

from test_patterns_linear import (  # noqa: E402
    PATTERNS,
    _search_and_iterate,
    hostile_bodies,
    repeat_to,
)

from apigrade import rx  # noqa: E402

# checks/data_exposure/secrets.py before the switch to RE2 (commit 3c56e3a).
OLD_JWT = r"\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})"


def clock(fn: Callable[[], object], repeat: int = 1) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def registry_figures(top: int) -> dict[str, object]:
    pairs = []
    start = time.perf_counter()
    for pattern in PATTERNS:
        for name, body in hostile_bodies(pattern):
            took = clock(partial(_search_and_iterate, pattern, body))
            pairs.append((took, pattern.where, pattern.pattern[:60], name))
    total = time.perf_counter() - start
    pairs.sort(reverse=True)
    return {
        "patterns": len(PATTERNS),
        "pairs": len(pairs),
        "total_s": round(total, 2),
        "median_pair_ms": round(statistics.median(p[0] for p in pairs) * 1000, 2),
        "slowest": [
            {"ms": round(t * 1000, 1), "where": w, "pattern": p, "body": b}
            for t, w, p, b in pairs[:top]
        ],
    }


def jwt_figures(max_re_size: int) -> list[dict[str, object]]:
    old = re.compile(OLD_JWT)
    new = rx.compile(OLD_JWT, register=False)
    rows = []
    size = 16_384
    while size <= 2_097_152:
        body = repeat_to("-eyJ", size)
        row: dict[str, object] = {"size": size}
        if size <= max_re_size:
            row["python_re_s"] = round(clock(partial(old.findall, body)), 3)
        row["re2_s"] = round(clock(partial(new.findall, body), repeat=5), 4)
        rows.append(row)
        size *= 2
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--max-re-size", type=int, default=131_072)
    args = parser.parse_args()
    out = {
        "jwt_case": jwt_figures(args.max_re_size),
        "registry": registry_figures(args.top),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
