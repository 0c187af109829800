"""The scan target and its scope: kept importable here; defined in :mod:`apigrade.target`."""

from __future__ import annotations

from apigrade.target import Origin, Target, origin_url, parse_origin

__all__ = ["Origin", "Target", "origin_url", "parse_origin"]
