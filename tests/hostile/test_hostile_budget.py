"""--max-requests and --rate are never exceeded, counted at the server."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))
from apigrade.demo.app import create_app  # noqa: E402
from helpers_scan import scan_url  # noqa: E402


def _recording(app):  # type: ignore[no-untyped-def]
    import time

    seen: list[float] = []

    def wsgi(environ, start_response):  # type: ignore[no-untyped-def]
        seen.append(time.monotonic())
        return app(environ, start_response)

    return wsgi, seen


def test_max_requests_is_never_exceeded(serve) -> None:  # type: ignore[no-untyped-def]
    for budget in (1, 17, 60):
        wsgi, seen = _recording(create_app())
        report = scan_url(serve(wsgi), max_requests=budget)
        assert len(seen) <= budget
        assert report.requests_sent == len(seen)


def test_rate_is_never_exceeded(serve) -> None:  # type: ignore[no-untyped-def]
    wsgi, seen = _recording(create_app())
    rate = 25.0
    scan_url(serve(wsgi), max_requests=60, rate=rate, concurrency=10)
    assert len(seen) >= 30
    # Overall: n requests need at least (n - 1) / rate seconds between first and last.
    assert (len(seen) - 1) / (seen[-1] - seen[0]) <= rate * 1.05
    # Any one-second window: `rate`, +1 for the window's edge, +1 for arrival jitter
    # (starts are spaced by the scanner; the server sees them after thread hand-off).
    for i, t in enumerate(seen):
        in_window = sum(1 for u in seen[i:] if u - t < 1.0)
        assert in_window <= rate + 2, (in_window, rate)
