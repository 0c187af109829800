"""The identities file (``--auth FILE``, or ``[[identity]]`` in the configuration file).

A strict schema: an unknown key, a missing environment variable or an unreadable secret
file is one usage line (exit 2). Secrets are never written in the file: they name an
environment variable (``password_env = "ALICE_PW"``) or a file (``password_file =
"alice.pw"``, relative to the identities file); a literal ``password``, ``client_secret``
or header value is refused. Secrets are read by :meth:`Identity.resolve` where the scan
runs (a Celery worker reads its own environment), and remembered for masking at once.

See docs/authentication.md for one configuration of each flow.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from apigrade import rx
from apigrade.errors import UsageError
from apigrade.localfiles import MiB, read_text_limited
from apigrade.redact import header_secrets, remember

#: Largest identities file and largest secret file read.
AUTH_LIMIT = 1 * MiB
SECRET_LIMIT = 64 * 1024
#: Keys that would hold a literal secret: refused, with the ``_env``/``_file`` spelling.
_LITERAL = ("password", "client_secret", "token", "secret", "value")
_ENV = r"^[A-Za-z_][A-Za-z0-9_]*$"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
_HEADER = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SecretRef(_Strict):
    """``{env = "X"}`` or ``{file = "path"}``, with an optional ``prefix`` ("Bearer ")."""

    env: str | None = Field(default=None, pattern=_ENV)
    file: str | None = Field(default=None, min_length=1, max_length=4096)
    prefix: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env or file")
        return self


class _Password(_Strict):
    """A username (not a secret) and a password from ``password_env`` or ``password_file``."""

    username: str | None = Field(default=None, max_length=500)
    username_env: str | None = Field(default=None, pattern=_ENV)
    password_env: str | None = Field(default=None, pattern=_ENV)
    password_file: str | None = Field(default=None, min_length=1, max_length=4096)

    @model_validator(mode="after")
    def _pw(self) -> _Password:
        if (self.password_env is None) == (self.password_file is None):
            raise ValueError("give exactly one of password_env or password_file")
        if (self.username is None) == (self.username_env is None):
            raise ValueError("give exactly one of username or username_env")
        return self


class StaticFlow(_Strict):
    """Headers and cookies as they are: ``headers = {Authorization = {env = "T", prefix = "Bearer "}}``."""

    headers: dict[str, SecretRef] = Field(default_factory=dict)
    cookies: dict[str, SecretRef] = Field(default_factory=dict)


class FormFlow(_Password):
    """GET the login form, keep its hidden fields (the CSRF token), POST the credentials."""

    url: str = Field(min_length=1, max_length=2000)
    username_field: str = Field(default="username", max_length=200)
    password_field: str = Field(default="password", max_length=200)
    #: extra (non-secret) fields sent with the form
    fields: dict[str, str] = Field(default_factory=dict)


class JsonFlow(_Password):
    """POST ``{username_field: …, password_field: …}`` as JSON; the token from a JSON path
    (``$.data.token``) or a response header; sent as ``header: prefix + token``."""

    url: str = Field(min_length=1, max_length=2000)
    username_field: str = Field(default="username", max_length=200)
    password_field: str = Field(default="password", max_length=200)
    fields: dict[str, str | int | bool] = Field(default_factory=dict)
    token_path: str | None = Field(default=None, max_length=500)
    token_header: str | None = Field(default=None, pattern=_HEADER)
    header: str = Field(default="Authorization", pattern=_HEADER)
    prefix: str = Field(default="Bearer ", max_length=200)

    @model_validator(mode="after")
    def _token(self) -> JsonFlow:
        if self.token_path is None and self.token_header is None:
            self.token_path = "$.access_token"
        if self.token_path is not None:
            from apigrade.auth.flows import parse_path

            parse_path(self.token_path)  # ValueError names the problem
        return self


class OAuth2Flow(_Strict):
    """An OAuth2 token request (RFC 6749 4.3 password, 4.4 client credentials)."""

    token_url: str = Field(min_length=1, max_length=2000)
    grant: Literal["client_credentials", "password"] = "client_credentials"
    client_id: str = Field(min_length=1, max_length=500)
    client_secret_env: str | None = Field(default=None, pattern=_ENV)
    client_secret_file: str | None = Field(default=None, min_length=1, max_length=4096)
    #: how the client authenticates: HTTP Basic (the RFC's default) or in the body
    client_auth: Literal["basic", "body"] = "basic"
    scope: str | None = Field(default=None, max_length=2000)
    username: str | None = Field(default=None, max_length=500)
    username_env: str | None = Field(default=None, pattern=_ENV)
    password_env: str | None = Field(default=None, pattern=_ENV)
    password_file: str | None = Field(default=None, min_length=1, max_length=4096)

    @model_validator(mode="after")
    def _grant(self) -> OAuth2Flow:
        if self.client_secret_env is not None and self.client_secret_file is not None:
            raise ValueError("give at most one of client_secret_env or client_secret_file")
        if self.grant == "password":
            if (self.password_env is None) == (self.password_file is None):
                raise ValueError(
                    "grant password: give exactly one of password_env or password_file"
                )
            if (self.username is None) == (self.username_env is None):
                raise ValueError("grant password: give exactly one of username or username_env")
        elif self.client_secret_env is None and self.client_secret_file is None:
            raise ValueError(
                "grant client_credentials: give client_secret_env or client_secret_file"
            )
        return self


class CommandFlow(_Strict):
    """Run ``argv`` (no shell) with a timeout; its stdout (first line) is the token."""

    argv: list[str] = Field(min_length=1, max_length=100)
    timeout: float = Field(default=30.0, gt=0, le=300)
    header: str = Field(default="Authorization", pattern=_HEADER)
    prefix: str = Field(default="Bearer ", max_length=200)


class IdentitySpec(_Strict):
    """One ``[[identity]]``: a name, a role label, and exactly one flow."""

    name: str = Field(pattern=_NAME)
    role: str = Field(default="user", pattern=_NAME)
    #: sent with every ordinary probe (the scan's own identity); at most one
    default: bool = False
    #: RE2 pattern: a response matching it means the session ended
    logged_out_marker: str | None = Field(default=None, max_length=500)
    static: StaticFlow | None = None
    form: FormFlow | None = None
    json_login: JsonFlow | None = Field(default=None, alias="json")
    oauth2: OAuth2Flow | None = None
    command: CommandFlow | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_literals(cls, data: Any) -> Any:
        for flow in ("form", "json", "oauth2"):
            table = data.get(flow) if isinstance(data, dict) else None
            if not isinstance(table, dict):
                continue
            for key in _LITERAL:
                if key in table:
                    raise ValueError(
                        f"{flow}.{key} holds a literal secret: use {key}_env or {key}_file"
                    )
        return data

    @model_validator(mode="after")
    def _one_flow(self) -> IdentitySpec:
        flows = [
            f for f in (self.static, self.form, self.json_login, self.oauth2, self.command) if f
        ]
        if len(flows) != 1:
            raise ValueError("give exactly one of static, form, json, oauth2 or command")
        if self.logged_out_marker is not None:
            try:
                rx.compile(self.logged_out_marker)
            except Exception:  # noqa: BLE001 - RE2's errors vary; one line
                raise ValueError("logged_out_marker is not a valid RE2 pattern") from None
        return self

    @property
    def kind(self) -> str:
        """``static``, ``form``, ``json``, ``oauth2`` or ``command``."""
        for kind in ("static", "form", "oauth2", "command"):
            if getattr(self, kind) is not None:
                return kind
        return "json"


class AuthFile(_Strict):
    """The whole file: a list of ``[[identity]]`` tables."""

    identity: list[IdentitySpec] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _unique(self) -> AuthFile:
        names = [i.name for i in self.identity]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup:
            raise ValueError(f"identity {dup!r} is declared twice")
        if sum(i.default for i in self.identity) > 1:
            raise ValueError("at most one identity may be the default")
        return self


@dataclass(frozen=True)
class Declared:
    """An identities file as loaded: its identities and the folder secrets are read from."""

    identities: tuple[IdentitySpec, ...]
    base: Path

    def secret(self, where: str, env: str | None, file: str | None) -> str:
        """The secret named by ``env`` or ``file``; remembered for masking at once."""
        if env is not None:
            value = os.environ.get(env, "")
            if not value:
                raise UsageError(f"auth {where}: environment variable {env} is not set")
        else:
            assert file is not None
            path = Path(file).expanduser()
            path = path if path.is_absolute() else self.base / path
            try:
                value = read_text_limited(path, SECRET_LIMIT, "secret file").strip()
            except UsageError as exc:
                raise UsageError(f"auth {where}: {exc}") from None
            if not value:
                raise UsageError(f"auth {where}: secret file {str(path)!r} is empty")
        remember([value])
        return value

    def check_secrets(self) -> None:
        """Read every secret once (UsageError for a missing one) before anything is sent."""
        for spec in self.identities:
            where = f"identity {spec.name!r}"
            flow: Any = spec.form or spec.json_login or spec.oauth2
            if spec.static is not None:
                for key, ref in [*spec.static.headers.items(), *spec.static.cookies.items()]:
                    self.secret(f"{where}: {key}", ref.env, ref.file)
            if flow is not None:
                if flow.username_env is not None:
                    self.secret(f"{where}: username_env", flow.username_env, None)
                if flow.password_env is not None or flow.password_file is not None:
                    self.secret(f"{where}: password", flow.password_env, flow.password_file)
            if spec.oauth2 is not None and (
                spec.oauth2.client_secret_env or spec.oauth2.client_secret_file
            ):
                o = spec.oauth2
                self.secret(f"{where}: client_secret", o.client_secret_env, o.client_secret_file)

    def header_value(self, where: str, ref: SecretRef, name: str = "x") -> str:
        value = ref.prefix + self.secret(where, ref.env, ref.file)
        remember(header_secrets(name, value))
        return value


def _table(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The identities of ``path``: the whole file, or only ``identity`` of a config file."""
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        data = tool.get("apigrade", {}) if isinstance(tool, dict) else {}
        data = data if isinstance(data, dict) else {}
    if path.name in ("pyproject.toml", "apigrade.toml"):
        return {"identity": data.get("identity", [])}
    return data


def load_auth(path: str | Path) -> Declared:
    """The identities of ``path``, checked; any problem is one usage line naming the key."""
    file = Path(path).expanduser()
    shown = repr(str(file))[:200]
    try:
        text = read_text_limited(file, AUTH_LIMIT, "auth file")
    except UsageError:
        raise
    except OSError as exc:
        raise UsageError(f"cannot read auth file {shown}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"auth file {shown}: invalid TOML: {exc}") from None
    try:
        parsed = AuthFile.model_validate(_table(file, data))
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        why = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise UsageError(
            f"auth file {shown}: {where}: {str(why).removeprefix('Value error, ')}"
        ) from None
    return Declared(tuple(parsed.identity), file.resolve().parent)


def operator_auth(path: str | Path | None) -> str | None:
    """``serve``/``mcp --auth FILE``: the file and its secrets checked now (UsageError: one
    line, before the server starts); its absolute path goes into every scan's options and
    the scan child reads the secrets again from the operator's environment and files.
    Only the operator sets it: no API or MCP request can name or change it."""
    if path is None:
        return None
    load_auth(path).check_secrets()
    return str(Path(path).expanduser().resolve())
