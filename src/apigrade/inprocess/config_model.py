"""The value objects of the configuration audit, and helpers the framework rules share."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from apigrade.model import Severity

#: a session kept longer than this (seconds) is reported (as cookie.long-lifetime does)
MAX_SESSION_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Issue:
    """One configuration problem: a finding kind, the setting, masked evidence and the fix
    for this framework. ``key`` is the setting name searched for in source files."""

    kind: str
    setting: str
    evidence: str
    remediation: str
    severity: Severity | None = None
    title: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class Audit:
    """The issues of one app, its framework, and the signing key to look up in wordlists."""

    framework: str
    issues: tuple[Issue, ...]
    secret_key: str | None = None
    #: files that may hold the settings (the app's module, settings.py, config files)
    files: tuple[Path, ...] = ()
    #: config-like files nobody is known to have loaded (a literal match is needed)
    guessed: tuple[Path, ...] = ()
    #: the live value of each issue's ``key`` (to tell which assignment is in force)
    values: tuple[tuple[str, Any], ...] = ()

    def value(self, key: str) -> Any:
        from apigrade.inprocess.locations import UNKNOWN

        return dict(self.values).get(key, UNKNOWN)


def seconds(value: Any) -> float | None:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def days(seconds: float) -> str:
    return f"{seconds / 86400:g} days" if seconds >= 86400 else f"{seconds / 3600:g} hours"


def module_path(name: str | None) -> Path | None:
    mod = sys.modules.get(name or "")
    path = getattr(mod, "__file__", None)
    return Path(path) if path else None


def is_wild(origins: Any) -> bool:
    if isinstance(origins, str):
        return origins in ("*", ".*", "^.*$", r".*")
    try:
        return any(is_wild(str(getattr(o, "pattern", o))) for o in origins)
    except TypeError:
        return False
