"""Settings for ``apigrade scan`` from ``apigrade.toml`` or ``pyproject.toml`` (docs/config.md).

Where settings come from, highest first::

    command line > environment (APIGRADE_DB) > apigrade.toml > pyproject.toml [tool.apigrade]
    > built-in defaults

Both files are looked up from the current directory upward to the repository root (the
first directory holding ``.git``); outside a repository only the current directory is
searched. ``--config PATH`` names one file and turns the search off.

The file's settings become the scan command's click ``default_map`` (installed by the
eager ``--config`` option's callback, read when the first option without a value of its
own asks for it), so every option keeps its one declaration in ``cli/commands.py`` and click
applies the precedence above: a value on the command line or in an option's environment
variable wins over the default map.

No literal secrets in a file: header and cookie values name an environment variable
(``{env = "API_TOKEN", prefix = "Bearer "}``), read only when the value is used.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from apigrade.errors import UsageError
from apigrade.localfiles import MiB, read_text_limited
from apigrade.model import Severity
from apigrade.options import parse_cookie, parse_header
from apigrade.report import formats

CONFIG_FILE = "apigrade.toml"
PYPROJECT = "pyproject.toml"
#: Largest configuration file read (``apigrade.toml`` or ``pyproject.toml``).
CONFIG_LIMIT = 1 * MiB
#: Settings an environment variable overrides: the file's value is dropped when it is set.
ENV_OVERRIDES = {"db": "APIGRADE_DB"}
#: Settings whose relative paths are taken from the file's directory.
_PATHS = ("wordlist", "output", "output_dir", "auth")


class EnvValue(BaseModel):
    """A secret taken from the environment: ``{env = "API_TOKEN", prefix = "Bearer "}``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    env: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    prefix: str = Field(default="", max_length=200)

    def read(self, where: str) -> str:
        """``prefix + $env``; a missing or empty variable is a one-line usage error."""
        value = os.environ.get(self.env)
        if not value:
            raise UsageError(f"{where}: environment variable {self.env} is not set")
        return self.prefix + value


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class ScanSettings(BaseModel):
    """The keys of ``apigrade.toml`` (top level) and ``[tool.apigrade]``: long option
    names of ``apigrade scan``, plus ``target``, ``headers`` and ``skip``."""

    model_config = ConfigDict(extra="forbid", strict=True, alias_generator=_kebab)

    target: str | None = None
    headers: dict[str, EnvValue] | None = None
    cookie: EnvValue | None = None
    insecure: bool | None = None
    spec: str | None = None
    active: bool | None = None
    wordlist: str | None = None
    # the bounds of the scan command's options (cli/commands.py), checked here to name the key
    max_requests: int | None = Field(default=None, ge=1)
    concurrency: int | None = Field(default=None, ge=1, le=256)
    rate: float | None = Field(default=None, ge=0.1)
    timeout: float | None = Field(default=None, ge=0.1)
    scope: list[str] | None = None
    fail_under: int | None = Field(default=None, ge=0, le=100)
    fail_on: Severity | None = Field(default=None, strict=False)  # "high" -> Severity.HIGH
    format: list[str] | str | None = None
    output: str | None = None
    output_dir: str | None = None
    skip: list[str] | None = None
    #: folders of the user's own signature files, relative to the file's folder
    signatures: list[str] | None = None
    db: str | None = None
    no_store: bool | None = None
    baseline: str | None = None
    #: the identities file (``--auth``), relative to this file's folder
    auth: str | None = None
    #: identities declared in this file itself (docs/authentication.md); checked when used
    identity: list[dict[str, Any]] | None = None

    @field_validator("format")
    @classmethod
    def _formats(cls, value: list[str] | str | None) -> list[str] | str | None:
        known = formats()  # built-in and plugin formats
        for fmt in [value] if isinstance(value, str) else value or []:
            if fmt not in known:
                raise ValueError(f"unknown format {fmt!r}: one of {', '.join(known)}")
        return value

    @field_validator("skip")
    @classmethod
    def _skip(cls, value: list[str] | None) -> list[str] | None:
        unknown = unknown_checks(value or [])
        if unknown:
            raise ValueError(f"unknown check id {unknown[0]!r} (see apigrade checks)")
        return value

    @field_validator("db")
    @classmethod
    def _db(cls, value: str | None) -> str | None:
        if value and "://" in value and urlsplit(value).password:
            raise ValueError("holds a password: set APIGRADE_DB in the environment instead")
        return value


def unknown_checks(ids: list[str]) -> list[str]:
    """The ids in ``ids`` that are neither a check nor a finding kind."""
    from apigrade.checks import load_checks
    from apigrade.checks.registry import REGISTRY

    load_checks()
    return [i for i in ids if i not in REGISTRY]


# -- finding and reading the files ------------------------------------------------------
def _shown(path: Path) -> str:
    return repr(str(path))[:200]


def _read_toml(path: Path) -> dict[str, Any]:
    text = read_text_limited(path, CONFIG_LIMIT, "config")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config {_shown(path)}: invalid TOML: {exc}") from None


def _table(path: Path, data: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The settings table of a file and the prefix of its keys in messages."""
    if path.name != PYPROJECT:
        return data, ""
    tool = data.get("tool")
    table = tool.get("apigrade") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise UsageError(f"config {_shown(path)}: tool.apigrade must be a table")
    return table, "tool.apigrade."


def search_dirs(start: Path) -> list[Path]:
    """``start`` and its parents up to the repository root; ``[start]`` outside one."""
    dirs: list[Path] = []
    for folder in (start, *start.parents):
        dirs.append(folder)
        if (folder / ".git").exists():
            return dirs
    return [start]


def discover(start: Path) -> list[Path]:
    """The files that apply, lowest precedence first: the nearest ``pyproject.toml`` that
    has a ``[tool.apigrade]`` table, then the nearest ``apigrade.toml``."""
    pyproject: Path | None = None
    dedicated: Path | None = None
    for folder in search_dirs(start):
        if dedicated is None and (folder / CONFIG_FILE).is_file():
            dedicated = folder / CONFIG_FILE
        candidate = folder / PYPROJECT
        if pyproject is None and candidate.is_file():
            if _table(candidate, _read_toml(candidate))[0] is not None:
                pyproject = candidate
    return [p for p in (pyproject, dedicated) if p is not None]


def _problem(path: Path, prefix: str, exc: ValidationError) -> UsageError:
    """One line naming the file and the first bad key."""
    errors = exc.errors()
    first = errors[0]
    key = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        names = list(ScanSettings.model_json_schema(by_alias=True)["properties"])
        top = len(first["loc"]) == 1  # (a nested key: no suggestion from the top level)
        close = difflib.get_close_matches(key.replace("_", "-"), names, 1) if top else []
        why = "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    else:
        why = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return UsageError(f"config {_shown(path)}: key {prefix + key!r}: {why}{more}")


def load(path: Path) -> ScanSettings | None:
    """The settings of one file; None for a ``pyproject.toml`` without ``[tool.apigrade]``."""
    table, prefix = _table(path, _read_toml(path))
    if table is None:
        return None
    try:
        return ScanSettings.model_validate(table)
    except ValidationError as exc:
        raise _problem(path, prefix, exc) from None


# -- from settings to the scan command's defaults ----------------------------------------
def _relative(base: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _headers(path: Path, prefix: str, headers: dict[str, EnvValue]) -> Callable[[], list[str]]:
    def read() -> list[str]:
        out = []
        for name, source in headers.items():
            where = f"config {_shown(path)}: key {prefix + 'headers.' + name!r}"
            line = f"{name}: {source.read(where)}"
            try:
                parse_header(line)  # validated (and remembered as a secret) now
            except UsageError as exc:
                raise UsageError(f"{where}: {exc}") from None
            out.append(line)
        return out

    return read


def _cookie(path: Path, prefix: str, source: EnvValue) -> Callable[[], str]:
    def read() -> str:
        where = f"config {_shown(path)}: key {prefix + 'cookie'!r}"
        value = source.read(where)
        try:
            parse_cookie(value)
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None
        return value

    return read


def defaults(path: Path, settings: ScanSettings) -> dict[str, Any]:
    """The ``default_map`` of the scan command for one file's settings.

    Relative paths are taken from the file's directory; header and cookie values are
    callables, so their environment variables are read only when the value is used.
    """
    base = path.parent
    prefix = "tool.apigrade." if path.name == PYPROJECT else ""
    out: dict[str, Any] = {}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if value is None:
            continue
        if name == "target":
            out["url"] = value
        elif name == "headers":
            out["header"] = _headers(path, prefix, value)
        elif name == "cookie":
            out["cookie"] = _cookie(path, prefix, value)
        elif name == "fail_on":
            out[name] = value.value
        elif name == "format":
            out[name] = [value] if isinstance(value, str) else list(value)
        elif name in _PATHS:
            out[name] = _relative(base, value)
        elif name == "identity":
            out.setdefault("auth", str(path.resolve()))  # its [[identity]] tables (--auth)
        elif name == "signatures":
            out[name] = [_relative(base, folder) for folder in value]
        elif name == "spec" and not value.startswith(("http://", "https://", "-")):
            out[name] = _relative(base, value)
        elif name == "db" and "://" not in value:
            out[name] = _relative(base, value)
        else:
            out[name] = list(value) if isinstance(value, list) else value
    return out


def scan_defaults(explicit: Path | None, cwd: Path | None = None) -> dict[str, Any]:
    """The merged ``default_map`` of ``apigrade scan``: ``explicit`` alone, or the files
    found from ``cwd``, the later file winning key by key."""
    files = [explicit] if explicit is not None else discover(cwd or Path.cwd())
    merged: dict[str, Any] = {}
    for path in files:  # lowest precedence first
        settings = load(path)
        if settings is None:
            raise UsageError(f"config {_shown(path)} has no [tool.apigrade] table")
        merged.update(defaults(path, settings))
    for key, env in ENV_OVERRIDES.items():
        if os.environ.get(env, "").strip():  # the environment wins over any file
            merged.pop(key, None)
    return merged


#: The scan command's parameters a file can set (its default-map keys).
PARAMS = tuple(
    {"target": "url", "headers": "header", "identity": "auth"}.get(name, name)
    for name in ScanSettings.model_fields
)


class LazyDefaults(MutableMapping[str, Any]):
    """A ``default_map`` read on its first use.

    Click 8.1 (used by older Typer releases) may process ``--config`` before ``--help``
    and renders the help from the default map, so a file that fails to load must not
    break ``--help``: then every key becomes a callable that raises the error (help shows
    callables without calling them; an option taking its value from the map calls it),
    and :func:`check` raises it when the command runs.
    """

    def __init__(self, load: Callable[[], dict[str, Any]]) -> None:
        self._load = load
        self._data: dict[str, Any] | None = None
        self.error: UsageError | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            try:
                self._data = self._load()
            except UsageError as exc:
                self.error = exc
                self._data = dict.fromkeys(PARAMS, self._fail)
        return self._data

    def _fail(self) -> NoReturn:
        assert self.error is not None
        raise self.error

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def option_callback(
    ctx: typer.Context, param: typer.CallbackParam, value: Path | None
) -> Path | None:
    """The eager ``--config`` option: the settings become the command's default map."""
    if ctx.resilient_parsing:  # shell completion: read nothing
        return value
    before = dict(ctx.default_map or {})
    ctx.default_map = LazyDefaults(lambda: {**before, **scan_defaults(value)})
    return value


def check(ctx: typer.Context) -> None:
    """Raise the error of a configuration file that failed to load (see LazyDefaults)."""
    if isinstance(ctx.default_map, LazyDefaults):
        ctx.default_map.data  # noqa: B018 - loads the file if nothing asked for it yet
        if ctx.default_map.error is not None:
            raise ctx.default_map.error
