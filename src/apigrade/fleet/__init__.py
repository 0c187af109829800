"""Fleet scanning: many targets on one machine (asyncio) or across machines (Celery).

* :mod:`apigrade.fleet.targets` reads the targets file and its optional TOML config;
* :mod:`apigrade.fleet.politeness` limits concurrent scans globally and per host;
* :mod:`apigrade.fleet.runner` scans a fleet in one process;
* :mod:`apigrade.fleet.results` writes results to the shared database, idempotently by job id;
* :mod:`apigrade.fleet.distributed` is the Celery app, its task and the submitter.
"""

from __future__ import annotations

from apigrade.fleet.targets import FleetTarget, load_targets

__all__ = ["FleetTarget", "load_targets"]
