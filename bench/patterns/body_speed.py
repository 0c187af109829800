"""Time the pattern-heavy functions of a scan on one large, ordinary page (no hostile shape).

The page is a deterministic 2 MiB HTML document: paragraphs, links, a script with API paths,
a JSON blob, an e-mail, a private IP. Timed: exposed secrets and internal IPs, verbose-error
detection, fingerprinting, JavaScript URL extraction and signed-token collection, each the
median of 5 runs. Run it under two checkouts (PYTHONPATH=…/src) to compare; ``--non-ascii``
mixes accented text in, which takes RE2's UTF-8 path.

Usage: python bench/patterns/body_speed.py [--non-ascii]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import apigrade
from apigrade.checks.authentication import body_tokens
from apigrade.checks.data_exposure.secrets import find_ips, find_secrets
from apigrade.checks.data_exposure.verbose_errors import find_signs
from apigrade.discovery.html import extract_urls_from_script
from apigrade.fingerprint import FpInput, fingerprint

SIZE = 2 * 1024 * 1024


def page(non_ascii: bool) -> str:
    rnd = random.Random(12)
    words = ["api", "user", "order", "item", "price", "status", "détail" if non_ascii else "detail",
             "naïve" if non_ascii else "naive", "the", "of", "and", "report"]  # fmt: skip
    parts = ["<!doctype html><html><head><title>Shop</title></head><body>"]
    size = 0
    while size < SIZE:
        line = " ".join(rnd.choice(words) for _ in range(rnd.randint(8, 30)))
        chunk = rnd.choice([
            f"<p>{line}</p>\n",
            f'<a href="/{rnd.choice(words)}/{rnd.randint(1, 999)}">{line[:20]}</a>\n',
            f'<script>fetch("/api/v1/{rnd.choice(words)}s/" + id); var x = "{line[:30]}";</script>\n',
            f'<pre>{{"id": {rnd.randint(1, 99999)}, "name": "{line[:25]}", "ok": true}}</pre>\n',
            "<p>contact: ops@example.org, backend 10.0.3.7</p>\n",
        ])  # fmt: skip
        parts.append(chunk)
        size += len(chunk)
    parts.append("</body></html>")
    return "".join(parts)[:SIZE]


def median_s(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 4)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--non-ascii", action="store_true")
    args = parser.parse_args()
    text = page(args.non_ascii)
    fp_input = FpInput(status=404, headers=[("content-type", "text/html")], body=text)
    timings = {
        "find_secrets": median_s(lambda: list(find_secrets(text, pages=True, json_api=False))),
        "find_ips": median_s(lambda: list(find_ips(text))),
        "find_signs": median_s(lambda: find_signs(text, "text/html")),
        "fingerprint": median_s(lambda: fingerprint([fp_input])),
        "extract_urls_from_script": median_s(lambda: extract_urls_from_script("http://x/", text)),
        "body_tokens": median_s(lambda: body_tokens(text)),
    }
    timings["total"] = round(sum(timings.values()), 4)
    print(json.dumps({"code": str(Path(apigrade.__file__).parent.parent),
                      "non_ascii": args.non_ascii, "chars": len(text), "seconds": timings}))


if __name__ == "__main__":
    main()
