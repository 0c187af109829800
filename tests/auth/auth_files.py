"""Identities files for each login flow, written into the test's folder."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from auth_apps import CLIENT_SECRET, PASSWORD, STATIC_TOKEN

ENV = {"ALICE_PW": PASSWORD, "CLIENT_SECRET": CLIENT_SECRET, "STATIC_TOKEN": STATIC_TOKEN}

FLOWS = {
    "form": """
        [identity.form]
        url = "/login"
        username = "alice"
        password_env = "ALICE_PW"
    """,
    "json": """
        [identity.json]
        url = "/api/login"
        username = "alice"
        password_file = "alice.pw"
        token_path = "$.data.token"
    """,
    "oauth2-client": """
        [identity.oauth2]
        token_url = "/oauth/token"
        client_id = "scanner"
        client_secret_env = "CLIENT_SECRET"
    """,
    "oauth2-password": """
        [identity.oauth2]
        token_url = "/oauth/token"
        grant = "password"
        client_id = "scanner"
        client_secret_env = "CLIENT_SECRET"
        username = "alice"
        password_env = "ALICE_PW"
    """,
    "static": """
        [identity.static]
        headers = { Authorization = { env = "STATIC_TOKEN", prefix = "Bearer " } }
    """,
    "command": """
        [identity.command]
        argv = ["{python}", "token.py"]
        timeout = 20
    """,
}


def write_auth(folder: Path, flow: str, *, name: str = "alice", role: str = "user") -> Path:
    """An identities file declaring one default identity with ``flow``, plus its secret
    file and token script; returns its path."""
    (folder / "alice.pw").write_text(PASSWORD + "\n")
    (folder / "token.py").write_text("import os\nprint(os.environ['STATIC_TOKEN'])\n")
    body = textwrap.dedent(FLOWS[flow]).replace("{python}", sys.executable)
    head = f'[[identity]]\nname = "{name}"\nrole = "{role}"\ndefault = true\n'
    path = folder / f"auth-{flow}.toml"
    path.write_text(head + body)
    return path


@pytest.fixture
def auth_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The secrets in this process's environment (the scan reads them here)."""
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    return dict(ENV)
