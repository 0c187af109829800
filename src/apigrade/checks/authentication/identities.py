"""``--identity NAME:HEADER`` parsing now lives in :mod:`apigrade.identities`; kept for imports."""

from __future__ import annotations

from apigrade.identities import parse_identities, parse_identity

__all__ = ["parse_identities", "parse_identity"]
