"""The options a stored scan keeps for ``verify``: every non-secret setting comes back."""

from __future__ import annotations

import json

from apigrade.engine.scanner import ScanOptions
from apigrade.store.sanitize import options_from_stored, stored_options


def test_scope_skip_and_budgets_survive_storage() -> None:
    opts = ScanOptions(
        scope=["http://127.0.0.1:8080"], skip=["banner.version-disclosure"], active=True,
        max_requests=123, timeout=4.5, headers=[("X-Client-Secret", "never-stored-value-1")],
    )  # fmt: skip
    stored = json.loads(json.dumps(stored_options(opts)))  # as the database keeps it
    back = options_from_stored(stored)
    assert back.scope == ["http://127.0.0.1:8080"]
    assert back.skip == ["banner.version-disclosure"]
    assert (back.active, back.max_requests, back.timeout) == (True, 123, 4.5)
    assert back.headers == [] and "never-stored-value-1" not in json.dumps(stored)


def test_rows_stored_before_scope_and_skip_still_load() -> None:
    back = options_from_stored({"timeout": 3.0, "header_names": ["Authorization"]})
    assert back.scope == [] and back.skip == [] and back.timeout == 3.0
