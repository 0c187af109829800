# ruff: noqa: F811 - auth_env is a fixture imported from auth_files, requested by name
"""Each login flow logs in through the engine, in-process and over a real socket; the
authenticated scan reaches what only a logged-in caller can; a failed login is exit 3."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from auth_apps import PASSWORD, bearer_app, form_app, json_app, oauth_app
from auth_files import ENV, auth_env, write_auth  # noqa: F401 (auth_env: a fixture)

from apigrade.engine.scanner import ScanOptions, build_scan, scan_sync
from apigrade.model import ScanReport

APPS = {
    "form": form_app, "json": json_app, "oauth2-client": oauth_app,
    "oauth2-password": oauth_app, "static": bearer_app, "command": bearer_app,
}  # fmt: skip
AUTH_ONLY = "errors.verbose-error"  # /api/crash answers a traceback to a logged-in caller


def _checks(report: ScanReport) -> set[str]:
    return {f.check_id for f in report.findings}


@pytest.mark.parametrize("flow", sorted(APPS))
def test_each_flow_logs_in_in_process(flow: str, tmp_path: Path, auth_env: dict[str, str]) -> None:
    app = APPS[flow]()
    report = scan_sync(app, auth=str(write_auth(tmp_path, flow)), max_requests=400)
    assert report.identities is not None
    (ident,) = report.identities
    assert ident.name == "alice" and ident.role == "user"
    assert ident.login == ("static" if flow == "static" else "ok")
    assert ident.requests > 10
    seen = app.config["SEEN"]
    # a path that always answers 401 (an authorisation refusal) costs no re-login
    assert seen["admin 401"] >= 1
    assert seen["logins"] == (0 if flow in ("static", "command") else 1)
    assert AUTH_ONLY in _checks(report), report.errors
    assert seen["path /logout"] == 0  # discovery never signs the scan out
    assert seen["deleted as a user"] == 0  # nor deletes the account (without --active)


def test_without_auth_the_flaw_is_out_of_reach() -> None:
    assert AUTH_ONLY not in _checks(scan_sync(json_app(), max_requests=400))


def test_roles_and_identities_reach_the_checks(tmp_path: Path, auth_env: dict[str, str]) -> None:
    path = write_auth(tmp_path, "json", name="root", role="admin")
    scan = build_scan(json_app(), ScanOptions(auth=str(path), max_requests=300))
    asyncio.run(scan.run())
    assert scan.state.identity_roles == {"root": "admin"}
    (header,) = scan.state.identities["root"]
    assert header[0] == "Authorization" and header[1].startswith("Bearer alice.")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apigrade", *args], capture_output=True, text=True, timeout=240,
        env={**os.environ, **(env if env is not None else ENV)},
    )  # fmt: skip


@pytest.mark.parametrize("flow", ["form", "oauth2-client", "command"])
def test_each_flow_logs_in_over_a_socket(serve: Any, flow: str, tmp_path: Path) -> None:
    app = APPS[flow]()
    url = serve(app)
    path = write_auth(tmp_path, flow)
    proc = _cli("scan", url, "--auth", str(path), "--no-store", "-f", "json",
                "--max-requests", "400")  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["identities"][0]["login"] in ("ok", "static")
    assert AUTH_ONLY in {f["check_id"] for f in report["findings"]}
    shown = _cli("scan", url, "--auth", str(path), "--no-store", "--max-requests", "300")
    assert "identity alice (user): login" in shown.stdout, shown.stdout[-2000:]


def test_a_wrong_password_is_exit_3_in_one_line(serve: Any, tmp_path: Path) -> None:
    url = serve(form_app())
    path = write_auth(tmp_path, "form")
    proc = _cli("scan", url, "--auth", str(path), "--no-store",
                env={**ENV, "ALICE_PW": "not-the-password-123"})  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "login of identity 'alice' (form) failed" in lines[0], lines
    assert "not-the-password-123" not in proc.stderr + proc.stdout
    assert PASSWORD not in proc.stderr


def test_a_missing_env_var_and_a_bad_file_are_exit_2(serve: Any, tmp_path: Path) -> None:
    url = serve(form_app())
    path = write_auth(tmp_path, "form")
    env = {k: v for k, v in os.environ.items() if k != "ALICE_PW"}
    proc = subprocess.run([sys.executable, "-m", "apigrade", "scan", url, "--auth", str(path),
                           "--no-store"], capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    assert proc.returncode == 2 and "ALICE_PW is not set" in proc.stderr, proc.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[[identity]]\nname = "a"\nwho = 1\n[identity.static]\n')
    proc = _cli("scan", url, "--auth", str(bad), "--no-store")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("make", [json_app, oauth_app], ids=["json-401", "oauth2-expires_in"])
def test_a_token_expiring_mid_scan_is_renewed_with_the_same_findings(
    make: Any, tmp_path: Path, auth_env: dict[str, str]
) -> None:
    flow = "json" if make is json_app else "oauth2-client"
    path = str(write_auth(tmp_path, flow))
    long_app, short_app = make(3600.0), make(1.0)
    long = scan_sync(long_app, auth=path, rate=50)
    short = scan_sync(short_app, auth=path, rate=50)
    assert long.duration_s > 2 and short.duration_s > 2  # the 1 s token expired mid-scan
    assert short_app.config["SEEN"]["logins"] >= 2
    assert long_app.config["SEEN"]["logins"] == 1
    assert {f.id for f in short.findings} == {f.id for f in long.findings}
    assert short.complete and short.identities and short.identities[0].login == "ok"


def test_a_form_session_that_ends_is_logged_in_again(
    tmp_path: Path, auth_env: dict[str, str]
) -> None:
    app = form_app()
    app.config["PERMANENT_SESSION_LIFETIME"] = 1  # the signed session cookie expires
    app.config["SESSION_PERMANENT"] = True

    @app.before_request
    def permanent() -> None:
        from flask import session

        session.permanent = True

    report = scan_sync(app, auth=str(write_auth(tmp_path, "form")), rate=50)
    assert app.config["SEEN"]["logins"] >= 2
    assert AUTH_ONLY in _checks(report)


@pytest.mark.parametrize("revokes", [True, False], ids=["fixed", "flawed"])
def test_a_check_that_logs_out_sees_the_ended_session_and_the_scan_logs_in_afresh(
    revokes: bool, tmp_path: Path, auth_env: dict[str, str]
) -> None:
    app = json_app(revoke_on_logout=revokes)
    report = scan_sync(app, auth=str(write_auth(tmp_path, "json")), active=True, max_requests=600)
    revocation = "session.not-revoked-on-logout" in _checks(report)
    assert revocation is not revokes, report.errors  # never hidden by a re-login
    assert AUTH_ONLY in _checks(report)
    if revokes:
        assert app.config["SEEN"]["path /logout"] >= 1


def test_two_identities_with_their_roles(tmp_path: Path, auth_env: dict[str, str]) -> None:
    user = write_auth(tmp_path, "json").read_text()
    admin = '[[identity]]\nname = "root"\nrole = "admin"\n[identity.static]\n'
    admin += 'headers = { Authorization = { env = "STATIC_TOKEN", prefix = "Bearer " } }\n'
    path = tmp_path / "two.toml"
    path.write_text(user + admin)
    report = scan_sync(json_app(), auth=str(path), max_requests=300)
    assert report.identities is not None
    rows = [(i.name, i.role, i.login) for i in report.identities]
    assert rows[0] == ("alice", "user", "ok")
    assert rows[1] == ("root", "admin", "static")


def test_a_token_url_off_scope_is_refused(tmp_path: Path, auth_env: dict[str, str]) -> None:
    from apigrade.auth.flows import LoginFailed

    path = tmp_path / "off.toml"
    path.write_text('[[identity]]\nname = "svc"\n[identity.oauth2]\n'
                    'token_url = "http://idp.example.test/token"\nclient_id = "x"\n'
                    'client_secret_env = "CLIENT_SECRET"\n')  # fmt: skip
    app = oauth_app()
    with pytest.raises(LoginFailed, match="outside the target's origin"):
        scan_sync(app, auth=str(path), max_requests=100)
