"""Detection knowledge kept as data: the tables in ``apigrade/data/``.

Each table is a TOML file of entries (in the spirit of sqlmap's ``errors.xml``), validated by
a pydantic model that rejects unknown keys and wrong types, its patterns compiled with RE2
through ``apigrade.rx`` (registered, so the adversarial pattern test covers them). A table is
read once per process and cached; ``clear()`` forgets the cache (tests point ``DATA_DIR`` at
a copy). Any fault raises ``KnowledgeError`` with one line naming the file and the entry.

- ``errors.toml``: error messages of databases, template engines and XML parsers (kind,
  name, pattern, strong), read by ``errors.verbose-error`` (database) and
  ``sqli.error-based`` (all kinds: SQL, template and XML parser errors a quote causes) and
  ``ssti.template-injection`` (template errors its ``{{a*b}}`` probe causes);
- ``secrets.toml``: provider key and token formats, read by ``secrets.exposed-secret`` and
  ``props.excessive-data-exposure`` (``json_owned``: the second reports it in JSON answers);
- ``fingerprints.toml``: Server products, cookie names and body marks of frameworks, read by
  ``apigrade.fingerprint``;
- ``default_credentials.toml``: vendors' documented default logins (product, username,
  password, reference), tried by ``authentication.default-credentials`` with ``--active``.

Each entry lists the checks that use it (``used_by``): a check reads its own entries, in
file order, so a new entry reaches a check without a code change.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from apigrade import rx
from apigrade.model import Severity

#: where the tables live; tests point it at a copy (then call ``clear()``)
DATA_DIR = Path(__file__).parent / "data"

#: framework keys, in the order reports list them
Framework = Literal[
    "flask", "django", "fastapi", "starlette", "express", "spring", "php", "aspnet", "werkzeug",
    "gunicorn", "uvicorn", "hypercorn", "waitress", "nginx", "apache", "caddy", "iis",
]  # fmt: skip
ErrorCheck = Literal[
    "errors.verbose-error", "sqli.error-based", "ssti.template-injection", "xxe.external-entity"
]
#: what a message proves when a probe causes it: SQL, template or XML parser input
ErrorKind = Literal["database", "template", "xml"]
DbCheck = ErrorCheck  # the older name
SecretCheck = Literal["secrets.exposed-secret", "props.excessive-data-exposure"]


class KnowledgeError(ValueError):
    """A table that cannot be read, validated or compiled (one line: file, entry, reason)."""


class Strict(BaseModel):
    """Base of every data-file model: unknown keys are errors, values keep their types."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorEntry(Strict):
    kind: ErrorKind
    name: StrictStr  # the database, driver, engine or parser
    pattern: StrictStr
    #: proves a SQL error even on an ordinary HTML page (verbose errors)
    strong: StrictBool = False
    used_by: list[ErrorCheck]


class SecretEntry(Strict):
    name: StrictStr
    #: group 1 is the value when the pattern has a group, else the whole match
    pattern: StrictStr
    severity: Severity
    #: props.excessive-data-exposure reports it in JSON answers (secrets skips it there)
    json_owned: StrictBool = False
    #: only in HTML / JavaScript bodies
    pages_only: StrictBool = False
    #: the value must not be followed by a letter, a digit or one of these characters
    ends_before: StrictStr | None = None
    used_by: list[SecretCheck]


class ServerEntry(Strict):
    product: StrictStr  # lower-cased product token of a Server header
    framework: Framework


class CookieEntry(Strict):
    names: list[StrictStr] = Field(min_length=1)  # compared lower-cased
    framework: Framework
    reason: StrictStr  # "{name}": the cookie's name, quoted


class BodyEntry(Strict):
    pattern: StrictStr
    frameworks: list[Framework] = Field(min_length=1)
    reason: StrictStr
    #: the group holding the version of the first framework
    version_group: StrictInt | None = None


class FingerprintTable(Strict):
    server: list[ServerEntry]
    cookie: list[CookieEntry]
    body: list[BodyEntry]


class ErrorTable(Strict):
    error: list[ErrorEntry]


class SecretTable(Strict):
    token: list[SecretEntry]


@dataclass(frozen=True)
class ErrorSign:
    """One error message shape (database, template engine or XML parser), compiled."""

    kind: str
    name: str
    pattern: rx.Pattern
    strong: bool
    used_by: tuple[str, ...]

    @property
    def dbms(self) -> str:
        """The older name of ``name`` (database entries)."""
        return self.name


DbError = ErrorSign  # the older name


@dataclass(frozen=True)
class SecretFormat:
    """One provider key or token format, compiled."""

    name: str
    pattern: rx.Pattern
    severity: Severity
    json_owned: bool
    pages_only: bool
    ends_before: str | None
    used_by: tuple[str, ...]

    def accept(self, m: rx.Match) -> bool:
        """False when the value runs on into a letter, digit or ``ends_before`` character."""
        if self.ends_before is None:
            return True
        end = m.end(1) if self.pattern.groups else m.end()
        after = m.string[end : end + 1]
        return not after or not (after.isascii() and (after.isalnum() or after in self.ends_before))


@dataclass(frozen=True)
class BodyMark:
    """A text a framework's default pages carry, compiled."""

    pattern: rx.Pattern
    frameworks: tuple[str, ...]
    reason: str
    version_group: int | None


@dataclass(frozen=True)
class Fingerprints:
    servers: dict[str, str]  # product -> framework
    cookies: dict[str, tuple[str, str]]  # lower-cased name -> (framework, reason)
    body: tuple[BodyMark, ...]


CredentialCheck = Literal["authentication.default-credentials"]


class CredentialEntry(Strict):
    """A product's documented default login; ``reference`` is the vendor's documentation."""

    product: StrictStr = Field(min_length=1)
    username: StrictStr = Field(min_length=1)
    password: StrictStr = Field(min_length=1)
    reference: StrictStr = Field(pattern=r"^https://[^\s]+$")
    used_by: list[CredentialCheck] = Field(min_length=1)


class CredentialTable(Strict):
    credential: list[CredentialEntry] = Field(min_length=1)


@dataclass(frozen=True)
class DefaultCredential:
    """One default login of a product (several products may share a pair)."""

    product: str
    username: str
    password: str
    reference: str
    used_by: tuple[str, ...]


M = TypeVar("M", bound=BaseModel)  # Strict tables, or a RootModel of Strict entries


def _describe(exc: ValidationError, name: str, data: dict[str, Any]) -> str:
    """The first validation error as ``file: entry #n (label): field: message``."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    where = name
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
        items, index = loc[0], loc[1]
        entries = data.get(items) or []
        entry = entries[index] if index < len(entries) and isinstance(entries[index], dict) else {}
        label = next((entry[k] for k in _LABELS if isinstance(entry.get(k), str)), None)
        where += f" {items} #{index + 1}" + (f" ({label})" if isinstance(label, str) else "")
        loc = loc[2:]
    field = ".".join(str(p) for p in loc)
    return f"{where}: {field + ': ' if field else ''}{err['msg']}"


_LABELS = ("name", "dbms", "id", "product", "framework", "reason")


def read_table(path: Path, model: type[M]) -> M:
    """Parse and validate one table file; ``KnowledgeError`` names the file and entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KnowledgeError(f"{path.name}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"{path.name}: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise KnowledgeError(_describe(exc, path.name, data)) from None


def compile_pattern(pattern: str, where: str, flags: int = 0) -> rx.Pattern:
    """A table's pattern compiled with RE2 (registered); ``KnowledgeError`` if RE2 cannot."""
    try:
        return rx.compile(pattern, flags, where=where)
    except rx.PatternError as exc:
        raise KnowledgeError(str(exc)) from None


@cache
def _errors(path: Path) -> tuple[ErrorSign, ...]:
    table = read_table(path, ErrorTable)
    return tuple(
        ErrorSign(e.kind, e.name,
                  compile_pattern(e.pattern, f"{path.name} error #{i} ({e.name})"),
                  e.strong, tuple(e.used_by))
        for i, e in enumerate(table.error, 1)
    )  # fmt: skip


@cache
def _secrets(path: Path) -> tuple[SecretFormat, ...]:
    table = read_table(path, SecretTable)
    return tuple(
        SecretFormat(e.name, compile_pattern(e.pattern, f"{path.name} token #{i} ({e.name})"),
                     e.severity, e.json_owned, e.pages_only, e.ends_before, tuple(e.used_by))
        for i, e in enumerate(table.token, 1)
    )  # fmt: skip


@cache
def _fingerprints(path: Path) -> Fingerprints:
    table = read_table(path, FingerprintTable)
    cookies: dict[str, tuple[str, str]] = {
        n.lower(): (c.framework, c.reason) for c in table.cookie for n in c.names
    }
    body = tuple(
        BodyMark(compile_pattern(b.pattern, f"{path.name} body #{i} ({b.reason})"),
                 tuple(b.frameworks), b.reason, b.version_group)
        for i, b in enumerate(table.body, 1)
    )  # fmt: skip
    for i, b in enumerate(body, 1):
        if b.version_group is not None and not 0 < b.version_group <= b.pattern.groups:
            raise KnowledgeError(
                f"{path.name} body #{i} ({b.reason}): version_group: no such group"
            )
    return Fingerprints({s.product: s.framework for s in table.server}, cookies, body)


def fingerprints() -> Fingerprints:
    """Server products, cookie names and body marks of frameworks."""
    return _fingerprints(DATA_DIR / "fingerprints.toml")


@cache
def _errors_for(path: Path, check: str, kind: str | None) -> tuple[ErrorSign, ...]:
    return tuple(
        e for e in _errors(path) if check in e.used_by and (kind is None or e.kind == kind)
    )


@cache
def _secrets_for(path: Path, check: str) -> tuple[SecretFormat, ...]:
    return tuple(e for e in _secrets(path) if check in e.used_by)


def error_signs(check: ErrorCheck, kind: ErrorKind | None = None) -> tuple[ErrorSign, ...]:
    """The error messages ``check`` reads (of one ``kind``, or all), in file order."""
    return _errors_for(DATA_DIR / "errors.toml", check, kind)


def db_errors(check: ErrorCheck) -> tuple[ErrorSign, ...]:
    """The database error messages ``check`` reads, in file order."""
    return error_signs(check, "database")


def secret_formats(check: SecretCheck) -> tuple[SecretFormat, ...]:
    """The key and token formats ``check`` reads, in file order."""
    return _secrets_for(DATA_DIR / "secrets.toml", check)


@cache
def _credentials(path: Path, check: str) -> tuple[DefaultCredential, ...]:
    table = read_table(path, CredentialTable)
    return tuple(
        DefaultCredential(e.product, e.username, e.password, e.reference, tuple(e.used_by))
        for e in table.credential
        if check in e.used_by
    )


def default_credentials(check: CredentialCheck) -> tuple[DefaultCredential, ...]:
    """The default logins ``check`` tries, in file order."""
    return _credentials(DATA_DIR / "default_credentials.toml", check)


def clear() -> None:
    """Forget the loaded tables (the next call reads ``DATA_DIR`` again)."""
    for cached in (_errors, _secrets, _errors_for, _secrets_for, _fingerprints, _credentials):
        cached.cache_clear()
