"""The identities file: a strict schema, secrets only from env vars or files."""

from __future__ import annotations

from pathlib import Path

import pytest
from auth_apps import PASSWORD, json_app

from apigrade.auth.config import load_auth
from apigrade.auth.flows import follow_path, login_form, parse_path
from apigrade.engine.scanner import scan_sync
from apigrade.errors import UsageError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "auth.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            '[[identity]]\nname = "a"\ncolour = "x"\n[identity.static]\n',
            "identity.0.colour: unknown key",
        ),
        (
            '[[identity]]\nname = "a"\n[identity.form]\nurl = "/l"\nusername = "a"\npassword = "hunter2hunter2"\n',
            "literal secret",
        ),
        ('[[identity]]\nname = "a"\n', "exactly one of static, form, json, oauth2 or command"),
        (
            '[[identity]]\nname = "a"\n[identity.static]\n[[identity]]\nname = "a"\n[identity.static]\n',
            "declared twice",
        ),
        ('[[identity]]\nname = "a"\nlogged_out_marker = "(?<=x)"\n[identity.static]\n', "RE2"),
        (
            '[[identity]]\nname = "a"\n[identity.json]\nurl = "/l"\nusername = "a"\npassword_env = "P"\n'
            'token_path = "$..token"\n',
            "token_path",
        ),
        (
            '[[identity]]\nname = "a"\n[identity.static]\nheaders = {X = "literal-value"}\n',
            "headers.X",
        ),
    ],
)
def test_a_bad_file_is_one_usage_line_without_the_secret(
    tmp_path: Path, text: str, needle: str
) -> None:
    with pytest.raises(UsageError) as info:
        load_auth(_write(tmp_path, text))
    message = str(info.value)
    assert needle in message and "\n" not in message
    assert "hunter2" not in message and "literal-value" not in message


def test_a_missing_environment_variable_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_PW_VAR", raising=False)
    path = _write(tmp_path, '[[identity]]\nname = "a"\n[identity.json]\nurl = "/api/login"\n'
                            'username = "alice"\npassword_env = "NO_SUCH_PW_VAR"\n')  # fmt: skip
    with pytest.raises(UsageError, match="NO_SUCH_PW_VAR is not set"):
        scan_sync(json_app(), auth=str(path), max_requests=50)


def test_identities_in_the_config_file_become_the_auth_file(tmp_path: Path) -> None:
    from apigrade.config import scan_defaults

    cfg = tmp_path / "apigrade.toml"
    cfg.write_text('timeout = 5.0\n[[identity]]\nname = "a"\n[identity.static]\n'
                   'headers = {Authorization = {env = "T"}}\n')  # fmt: skip
    merged = scan_defaults(cfg)
    assert merged["auth"] == str(cfg.resolve())
    assert [i.name for i in load_auth(merged["auth"]).identities] == ["a"]


def test_json_path_subset() -> None:
    assert parse_path("$.data['x-y'][2].t") == ["data", "x-y", 2, "t"]
    assert follow_path({"data": {"tokens": [{"a": "T"}]}}, "$.data.tokens[0].a") == "T"
    assert follow_path({"data": []}, "$.data[3]") is None
    with pytest.raises(ValueError):
        parse_path("$.a[?(@.b)]")


def test_login_form_keeps_hidden_fields() -> None:
    html = ("<form action='/x'><input type=hidden name=csrf_token value='abc'>"
            "<input name=user><input type=password name=pw><input type=submit name=go value=Go>"
            "</form><form><input name=q></form>")  # fmt: skip
    form = login_form(html, "pw")
    assert form is not None and form.action == "/x"
    assert form.fields == {"csrf_token": "abc", "user": "", "pw": ""}
    assert PASSWORD not in html
