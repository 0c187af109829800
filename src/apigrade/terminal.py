"""Whether output gets colour: NO_COLOR (no-color.org) and FORCE_COLOR (force-color.org)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO


def wants_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Colour for ``stream``: never with a non-empty NO_COLOR (it wins over FORCE_COLOR),
    always with a non-empty FORCE_COLOR, else only on a terminal."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR", ""):
        return False
    if env.get("FORCE_COLOR", ""):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or fake stream
        return False
