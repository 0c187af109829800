"""``verify``: re-check a stored scan's findings through the public scan API.

``plan`` decides what to run (checks, narrowed signatures, URLs to request again),
``run`` runs it with :func:`apigrade.engine.scanner.build_scan` and compares, and
``checkmap`` maps finding kinds to the checks that report them.
"""

from __future__ import annotations

from apigrade.verify.plan import VerifyPlan
from apigrade.verify.run import VerifyResult, merge, no_spec_was_found, run_verify

# ``plan`` stays the submodule's name here (its function: ``apigrade.verify.plan.plan``).
__all__ = ["VerifyPlan", "VerifyResult", "merge", "no_spec_was_found", "run_verify"]
