"""Every scan option, as one typed model, and its two views.

:class:`ScanOptions` is the one declaration of a scan's settings. The command line, the
configuration file, the fleet, the service and the MCP server build it; it travels as
JSON through one serialiser pair (:meth:`ScanOptions.to_json` /
:meth:`ScanOptions.from_json`: the Celery task, the scan child process), and the store
keeps the view :meth:`ScanOptions.stored`, read back by :meth:`ScanOptions.from_stored`.

Each field declares what the store keeps of it (:class:`Stored`): its value, only the
names of its headers or cookies (never a value), a URL without its userinfo, or nothing.
A field without a declaration cannot be stored, so a new option cannot be forgotten.

This module imports nothing from ``engine/`` or ``checks/``: the store depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from apigrade.errors import UsageError

#: seconds one parse or analysis item may run in the CPU pool (``engine/offload.py``)
DEFAULT_CPU_DEADLINE = 2.0

Policy = Literal["keep", "omit", "header-names", "cookie-names", "identity-names", "url"]


@dataclass(frozen=True)
class Stored:
    """What the store keeps of one option.

    ``keep``: the value; ``omit``: nothing (``why`` says why); ``header-names``,
    ``cookie-names``, ``identity-names``: the names, never a value; ``url``: the URL
    without its userinfo (any other secret masked). ``key`` is the stored key (default:
    the field's name).
    """

    how: Policy
    key: str | None = None
    why: str = ""


Header = tuple[str, str]


class ScanOptions(BaseModel):
    """Every scan option of the contract's command line."""

    model_config = ConfigDict(extra="forbid")

    headers: Annotated[list[Header], Stored("header-names", "header_names")] = Field(
        default_factory=list
    )
    cookie: Annotated[str | None, Stored("cookie-names", "cookie_names")] = None
    insecure: Annotated[bool, Stored("keep")] = False
    spec: Annotated[str | None, Stored("url")] = None
    active: Annotated[bool, Stored("keep")] = False
    wordlist: Annotated[str | None, Stored("keep")] = None
    max_requests: Annotated[int, Stored("keep"), Field(ge=1)] = 800
    concurrency: Annotated[int, Stored("keep"), Field(ge=1, le=256)] = 10
    rate: Annotated[float | None, Stored("keep"), Field(ge=0.1)] = None
    timeout: Annotated[float, Stored("keep"), Field(ge=0.1)] = 10.0
    #: check ids to run (all when None)
    only: Annotated[list[str] | None, Stored("omit", why="verify plans its own")] = None
    #: check ids not run, and finding kinds not reported ("--skip", config ``skip``)
    skip: Annotated[list[str], Stored("keep")] = Field(default_factory=list)
    #: named identities for authorisation checks: name -> extra headers ("--identity")
    identities: Annotated[dict[str, list[Header]], Stored("identity-names")] = Field(
        default_factory=dict
    )
    #: seconds one parse or analysis item may run in the pool before it is dropped
    cpu_deadline: Annotated[float, Stored("omit", why="a setting of this machine"), Field(gt=0)] = (
        DEFAULT_CPU_DEADLINE
    )
    #: origins contacted besides the target's own ("--scope http://host:80")
    scope: Annotated[list[str], Stored("keep")] = Field(default_factory=list)
    #: folders of the user's own signature files ("--signatures DIR", config ``signatures``)
    signatures: Annotated[list[str], Stored("keep")] = Field(default_factory=list)
    #: the identities file ("--auth FILE"): its path travels, its secrets are read
    #: (environment variables, secret files) where the scan runs
    auth: Annotated[str | None, Stored("keep")] = None

    # -- the one serialiser ---------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Every field as JSON-ready values (tuples become lists), credentials included:
        for the Celery task and the scan child process, never for a log or a row."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: Any, *, reader: str | None = None) -> ScanOptions:
        """The options :meth:`to_json` wrote. An unknown option (a newer sender) is a
        UsageError naming it (``reader``: who to upgrade); a bad value is one line naming
        the option, never echoing the value."""
        if not isinstance(data, dict):
            raise UsageError("bad scan options: expected a JSON object")
        unknown = sorted(str(k) for k in set(data) - set(cls.model_fields))
        if unknown:
            names = ", ".join(unknown)
            if reader:
                raise UsageError(
                    f"this {reader} does not know the scan option(s) {names}; upgrade the {reader}"
                )
            raise UsageError(f"unknown scan option(s) {names}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _one_line(exc, "bad scan option") from None

    # -- the store's view -------------------------------------------------------------------
    @classmethod
    def store_policy(cls, name: str) -> Stored:
        """The declared :class:`Stored` of field ``name``; TypeError when there is none."""
        found = [m for m in cls.model_fields[name].metadata if isinstance(m, Stored)]
        if len(found) != 1:
            raise TypeError(f"ScanOptions.{name} declares no store policy (Stored(...))")
        return found[0]

    def stored(self) -> dict[str, Any]:
        """The options worth keeping for ``verify``: header, cookie and identity names,
        never a value; the spec URL without its userinfo."""
        from apigrade.redact import Redactor, shown_url

        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            policy = self.store_policy(name)
            value = getattr(self, name)
            key = policy.key or name
            if policy.how == "omit":
                continue
            if policy.how == "keep":
                out[key] = list(value) if isinstance(value, list) else value
            elif policy.how == "header-names":
                out[key] = header_names(value)
            elif policy.how == "cookie-names":
                out[key] = cookie_names(value)
            elif policy.how == "identity-names":
                out[key] = {k: header_names(v) for k, v in value.items()}
            elif policy.how == "url":
                red = Redactor.for_scan(self)
                out[key] = red.text(shown_url(value, "")) if value else None
        return out

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> ScanOptions:
        """Options rebuilt from :meth:`stored` (credentials must be given again). Keys a
        row lacks (older rows) or holds as null take their defaults."""
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            policy = cls.store_policy(name)
            if policy.how not in ("keep", "url"):
                continue
            value = data.get(policy.key or name)
            if value is not None:
                values[name] = value
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise _one_line(exc, "bad stored scan option") from None

    def missing_credentials(self, data: dict[str, Any]) -> list[str]:
        """Header and cookie names the stored scan ``data`` sent that these options do not."""
        given = {n.lower() for n in header_names(self.headers)}
        missing = [n for n in data.get("header_names", []) if n.lower() not in given]
        cookies = set(cookie_names(self.cookie))
        missing += [f"cookie {n}" for n in data.get("cookie_names", []) if n not in cookies]
        return missing


def header_names(pairs: list[Header]) -> list[str]:
    """The names of ``(name, value)`` headers."""
    return [name for name, _ in pairs]


def cookie_names(cookie: str | None) -> list[str]:
    """The names of a ``name=value; …`` cookie header."""
    return [p.partition("=")[0].strip() for p in (cookie or "").split(";") if "=" in p]


def _one_line(exc: ValidationError, what: str) -> UsageError:
    """``what NAME: why`` for the first error: never the value, never a traceback."""
    errors = exc.errors(include_input=False, include_url=False)
    first = errors[0] if errors else {"loc": (), "msg": "invalid"}
    where = ".".join(str(p) for p in first.get("loc", ())) or "options"
    why = str(first.get("msg", "invalid")).splitlines()[0] if first.get("msg") else "invalid"
    return UsageError(f"{what} {where}: {why}")
