"""Optional integrations (pip extras) and the one-line error when one is not installed.

The core install scans, reports, keeps SQLite history, cracks and runs the demo. Each
integration lives in an extra of ``pyproject.toml`` and is imported only by the command
that needs it, after :func:`require` has checked that it is there.
"""

from __future__ import annotations

import importlib

from apigrade.errors import UsageError

#: Each extra and the top-level modules its commands import.
EXTRAS: dict[str, tuple[str, ...]] = {
    "postgres": ("psycopg",),
    "fleet": ("celery", "redis"),
    "serve": ("fastapi", "uvicorn", "swagger_ui"),
    "mcp": ("mcp",),
}


class MissingExtra(UsageError):
    """A command needs an extra that is not installed: exit 2, naming the extra."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f"{what} needs the {extra} extra: pip install 'apigrade[{extra}]'")
        self.extra = extra


def installed(extra: str) -> bool:
    """Whether every module of ``extra`` imports."""
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            return False
    return True


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` unless ``extra`` is installed; ``what`` names the need,
    e.g. ``"'apigrade serve'"``."""
    if not installed(extra):
        raise MissingExtra(what, extra)
