"""Imported once by the analysis pool's forkserver (``engine/offload.py``).

Loads the check registry and the parsers there, so every worker forked from it starts
with them in memory instead of importing them again.
"""

from __future__ import annotations

from apigrade import plugins
from apigrade.checks import load_checks
from apigrade.engine import analysis  # noqa: F401 - preloaded for the workers

plugins.silence()  # the main process already warned about a broken plugin
load_checks()
