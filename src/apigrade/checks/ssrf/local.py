"""Where the target runs: moved to ``checks/common/local.py``.

Kept as a re-export because tests import ``loopback_host`` from here.
"""

from apigrade.checks.common.local import MARKER, in_process, loopback_host, runs_here

__all__ = ["MARKER", "in_process", "loopback_host", "runs_here"]
