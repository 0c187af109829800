"""Login flows: each turns an identity's declaration into the headers it sends.

Every request goes through the engine's ``send_login`` (the scan's budget, scope and
timeout; POST allowed because the user declared this login). A flow that fails raises
:class:`LoginFailed`, one line without any secret (exit 3).

JSON paths (``token_path``) are a small documented subset of JSONPath, enough for a
token in a login response: ``$`` then ``.key``, ``['key']`` / ``["key"]`` and ``[N]``
(e.g. ``$.data.tokens[0].access``). No filters, wildcards or recursive descent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from apigrade import rx
from apigrade.auth.config import Declared, IdentitySpec
from apigrade.engine.http import Exchange, Probe, parse_set_cookie
from apigrade.engine.target import Target
from apigrade.errors import TargetError
from apigrade.redact import describe_error, header_secrets, remember

Send = Callable[[Probe], Awaitable[Exchange | None]]
#: Largest command output read (the token is its first line).
COMMAND_OUTPUT_CAP = 64 * 1024
_PATH_STEP = rx.compile(
    r"""\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d{1,6})\]|\['([^']*)'\]|\["([^"]*)"\]"""
)


class LoginFailed(TargetError):
    """A declared login did not work: exit 3, one line, no secret."""


@dataclass
class Credentials:
    """What a login produced: headers (cookies as one ``Cookie`` header) and an expiry."""

    headers: tuple[tuple[str, str], ...]
    expires_at: float | None = None
    #: the path of the login page (a redirect there means the session ended)
    login_path: str | None = None
    secrets: list[str] = field(default_factory=list)


# -- JSON paths ---------------------------------------------------------------------------
def parse_path(path: str) -> list[str | int]:
    """``$.a.b[0]`` -> ``["a", "b", 0]``; ValueError for anything outside the subset."""
    if not path.startswith("$"):
        raise ValueError("token_path must start with $")
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        m = _PATH_STEP.match(path[pos:])
        if m is None or not m.group(0):
            raise ValueError(f"token_path: unsupported syntax at {path[pos : pos + 20]!r}")
        key, idx, q1, q2 = m.groups()
        steps.append(int(idx) if idx is not None else (key or q1 or q2 or ""))
        pos += len(m.group(0))
    return steps


def follow_path(doc: Any, path: str) -> Any:
    """The value at ``path`` in ``doc``, or None."""
    for step in parse_path(path):
        if isinstance(step, int) and isinstance(doc, list) and step < len(doc):
            doc = doc[step]
        elif isinstance(step, str) and isinstance(doc, dict) and step in doc:
            doc = doc[step]
        else:
            return None
    return doc


# -- HTML forms ---------------------------------------------------------------------------
@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str]
    has_password: bool


class _FormParser(HTMLParser):
    """The forms of a page: action, method, named inputs with their values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._cur: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "form":
            self._cur = Form(a.get("action", ""), (a.get("method") or "GET").upper(), {}, False)
            self.forms.append(self._cur)
        elif tag in ("input", "button", "select", "textarea") and self._cur is not None:
            kind = a.get("type", "text").lower()
            if kind == "password":
                self._cur.has_password = True
            name = a.get("name")
            if name and kind not in ("submit", "button", "image", "reset", "file"):
                if kind not in ("checkbox", "radio") or "checked" in a:
                    self._cur.fields.setdefault(name, a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._cur = None


def login_form(html: str, password_field: str) -> Form | None:
    """The login form of a page: the one with a password input (or the password field)."""
    parser = _FormParser()
    try:
        parser.feed(html[:1_000_000])
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; a broken page has no form
        return None
    for form in parser.forms:
        if form.has_password or password_field in form.fields:
            return form
    return None


# -- the flows ----------------------------------------------------------------------------
class Flow:
    """Context of one identity's login: the engine's sender, the target, its secrets."""

    def __init__(self, spec: IdentitySpec, declared: Declared, target: Target, send: Send):
        self.spec = spec
        self.declared = declared
        self.target = target
        self._send = send

    def fail(self, why: str) -> LoginFailed:
        return LoginFailed(f"login of identity {self.spec.name!r} ({self.spec.kind}) failed: {why}")

    def url(self, raw: str, what: str) -> str:
        url = raw if raw.startswith(("http://", "https://")) else self.target.url_for(raw)
        if not self.target.in_scope(url):
            raise self.fail(f"the {what} is outside the target's origin and every --scope origin")
        return url

    def secret(self, key: str, env: str | None, file: str | None) -> str:
        return self.declared.secret(f"identity {self.spec.name!r}: {key}", env, file)

    def username(self, literal: str | None, env: str | None) -> str:
        if literal is not None:
            return literal
        return self.secret("username_env", env, None)

    async def send(self, probe: Probe) -> Exchange:
        try:
            ex = await self._send(probe)
        except (httpx.HTTPError, OSError, TimeoutError, ValueError) as exc:
            raise self.fail(describe_error(exc, limit=200)) from None
        if ex is None:
            raise self.fail(
                f"no answer from {urlsplit(probe.url).path or '/'} (error or budget spent)"
            )
        return ex

    async def run(self) -> Credentials:
        kind = self.spec.kind
        if kind == "static":
            return self.static()
        if kind == "form":
            return await self.form()
        if kind == "json":
            return await self.json_login()
        if kind == "oauth2":
            return await self.oauth2()
        return await self.command()

    # static ---------------------------------------------------------------------------
    def static(self) -> Credentials:
        flow = self.spec.static
        assert flow is not None
        headers = [(n, self.declared.header_value(f"identity {self.spec.name!r}: headers.{n}", ref, n))
                   for n, ref in flow.headers.items()]  # fmt: skip
        cookies = {n: self.declared.header_value(f"identity {self.spec.name!r}: cookies.{n}", ref)
                   for n, ref in flow.cookies.items()}  # fmt: skip
        return Credentials(tuple(_with_cookies(headers, cookies)))

    # form -----------------------------------------------------------------------------
    async def form(self) -> Credentials:
        flow = self.spec.form
        assert flow is not None
        page_url = self.url(flow.url, "login URL")
        page = await self.send(Probe(url=page_url, anonymous=True))
        if page.status >= 400:
            raise self.fail(f"the login page answered HTTP {page.status}")
        cookies = _cookies_of(page, {})
        form = login_form(page.text, flow.password_field)
        if form is None:
            raise self.fail("no login form (a form with a password field) on the login page")
        fields = dict(form.fields)
        fields.update(flow.fields)
        fields[flow.username_field] = self.username(flow.username, flow.username_env)
        fields[flow.password_field] = password = self.secret(
            "password", flow.password_env, flow.password_file
        )
        action = self.url(urljoin(page.url, form.action or page.url), "form action")
        headers = [("Content-Type", "application/x-www-form-urlencoded"),
                   ("Referer", page.url), ("Origin", self.target.origin)]  # fmt: skip
        answer = await self.send(Probe(
            url=action, method="POST", body=urlencode(fields).encode(), anonymous=True,
            headers=tuple(_with_cookies(headers, cookies)), follow_redirects=False,
        ))  # fmt: skip
        cookies = _cookies_of(answer, cookies)
        login_path = urlsplit(page_url).path
        location = answer.response.header("location") or ""
        if answer.status >= 400:
            raise self.fail(f"the login POST answered HTTP {answer.status}")
        if location and urlsplit(urljoin(action, location)).path == login_path:
            raise self.fail("the target sent the login page back (wrong credentials?)")
        if answer.status == 200 and login_form(answer.text, flow.password_field) is not None:
            raise self.fail("the target showed the login form again (wrong credentials?)")
        if not cookies:
            raise self.fail("the target set no session cookie")
        secrets = [password, *cookies.values()]
        return Credentials(
            tuple(_with_cookies([], cookies)), login_path=login_path, secrets=secrets
        )

    # JSON -----------------------------------------------------------------------------
    async def json_login(self) -> Credentials:
        flow = self.spec.json_login
        assert flow is not None
        url = self.url(flow.url, "login URL")
        body: dict[str, Any] = dict(flow.fields)
        body[flow.username_field] = self.username(flow.username, flow.username_env)
        body[flow.password_field] = password = self.secret(
            "password", flow.password_env, flow.password_file
        )
        answer = await self.send(Probe(
            url=url, method="POST", body=json.dumps(body).encode(), anonymous=True,
            headers=(("Content-Type", "application/json"), ("Accept", "application/json")),
        ))  # fmt: skip
        if not 200 <= answer.status < 300:
            raise self.fail(f"the login answered HTTP {answer.status}")
        if flow.token_header is not None:
            token = answer.response.header(flow.token_header)
        else:
            token = _token_at(answer, flow.token_path or "$.access_token")
        if not token:
            raise self.fail("no token in the login response where the file says")
        doc = _json(answer)
        expires = doc.get("expires_in") if isinstance(doc, dict) else None
        return self.token(flow.header, flow.prefix, token, expires, [password])

    def token(self, header: str, prefix: str, token: str, expires: Any,
              secrets: list[str]) -> Credentials:  # fmt: skip
        value = prefix + token
        remember([token, *header_secrets(header, value)])
        expires_at = None
        if isinstance(expires, int | float) and not isinstance(expires, bool) and expires > 0:
            expires_at = time.monotonic() + float(expires)
        return Credentials(((header, value),), expires_at, secrets=[*secrets, token])

    # OAuth2 ---------------------------------------------------------------------------
    async def oauth2(self) -> Credentials:
        flow = self.spec.oauth2
        assert flow is not None
        url = self.url(flow.token_url, "token URL")
        form: dict[str, str] = {"grant_type": flow.grant}
        secrets: list[str] = []
        if flow.scope:
            form["scope"] = flow.scope
        if flow.grant == "password":
            form["username"] = self.username(flow.username, flow.username_env)
            form["password"] = self.secret("password", flow.password_env, flow.password_file)
            secrets.append(form["password"])
        headers = [("Content-Type", "application/x-www-form-urlencoded"),
                   ("Accept", "application/json")]  # fmt: skip
        client_secret = ""
        if flow.client_secret_env is not None or flow.client_secret_file is not None:
            client_secret = self.secret(
                "client_secret", flow.client_secret_env, flow.client_secret_file
            )
            secrets.append(client_secret)
        if flow.client_auth == "basic" and client_secret:
            pair = f"{flow.client_id}:{client_secret}".encode()
            basic = "Basic " + base64.b64encode(pair).decode("ascii")
            remember(header_secrets("Authorization", basic))
            headers.append(("Authorization", basic))
        else:
            form["client_id"] = flow.client_id
            if client_secret:
                form["client_secret"] = client_secret
        answer = await self.send(Probe(
            url=url, method="POST", body=urlencode(form).encode(), anonymous=True,
            headers=tuple(headers),
        ))  # fmt: skip
        if not 200 <= answer.status < 300:
            raise self.fail(f"the token endpoint answered HTTP {answer.status}")
        doc = _json(answer)
        token = doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise self.fail("the token endpoint's answer has no access_token")
        kind = str(doc.get("token_type") or "Bearer")
        prefix = "Bearer " if kind.lower() == "bearer" else kind + " "
        return self.token("Authorization", prefix, token, doc.get("expires_in"), secrets)

    # command --------------------------------------------------------------------------
    async def command(self) -> Credentials:
        flow = self.spec.command
        assert flow is not None
        argv = list(flow.argv)
        if "/" in argv[0] and not os.path.isabs(argv[0]):
            argv[0] = str(self.declared.base / argv[0])
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL, cwd=str(self.declared.base),
            )  # fmt: skip
        except OSError as exc:
            raise self.fail(f"cannot run {Path(argv[0]).name!r}: {exc.strerror or exc}") from None
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(flow.timeout):
                out = await proc.stdout.read(COMMAND_OUTPUT_CAP)
                code = await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise self.fail(f"the command did not finish within {flow.timeout:g} s") from None
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        if code != 0:
            raise self.fail(f"the command exited with status {code}")
        lines = [ln.strip() for ln in out.decode("utf-8", "replace").splitlines() if ln.strip()]
        if not lines:
            raise self.fail("the command printed no token")
        return self.token(flow.header, flow.prefix, lines[0], None, [])


def _json(ex: Exchange) -> Any:
    try:
        return json.loads(ex.response.body.decode("utf-8", "replace"))
    except ValueError:
        return None


def _token_at(ex: Exchange, path: str) -> str | None:
    value = follow_path(_json(ex), path)
    return value if isinstance(value, str) and value else None


def _cookies_of(ex: Exchange, jar: dict[str, str]) -> dict[str, str]:
    """``jar`` updated with the response's Set-Cookie (an expired/emptied cookie removed)."""
    out = dict(jar)
    for raw in ex.response.header_all("set-cookie"):
        c = parse_set_cookie(raw)
        if c is None:
            continue
        if not c.value or c.get("max-age") == "0":
            out.pop(c.name, None)
        else:
            out[c.name] = c.value
            remember([c.value])
    return out


def _with_cookies(headers: list[tuple[str, str]], cookies: dict[str, str]) -> list[tuple[str, str]]:
    if not cookies:
        return list(headers)
    line = "; ".join(f"{k}={v}" for k, v in cookies.items())
    remember(header_secrets("Cookie", line))
    return [*headers, ("Cookie", line)]


async def login(spec: IdentitySpec, declared: Declared, target: Target, send: Send) -> Credentials:
    """Log ``spec`` in through ``send``; LoginFailed (one line) when it does not work."""
    creds = await Flow(spec, declared, target, send).run()
    for name, value in creds.headers:
        creds.secrets += header_secrets(name, value)
    return creds
