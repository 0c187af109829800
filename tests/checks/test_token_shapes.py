"""Tokens in any shape get the JWT and key checks, and forged copies go back where the
token came from: X-Access-Token, bare Authorization, query parameters, JSON fields and
response headers, issued by the target or given by the user."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest

from apigrade.checks.authentication import (
    Artefact,
    _exchange_artefacts,
    _header_tokens,
    query_tokens,
    split_scheme,
)
from apigrade.engine.http import Exchange, Probe, Response
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import apps_tokens as apps  # noqa: E402

from apps import catchall  # noqa: E402
from conftest import by_check, scan_app, scan_url  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
ALG_NONE = "jwt.alg-none"
WEAK_KEY = "auth.weak-signing-key"
ONLY = [ALG_NONE, WEAK_KEY]
Both = Callable[..., tuple[ScanReport, ScanReport]]
TOKEN = jwt.encode({"sub": "1", "exp": 4_000_000_000}, "k" * 32, algorithm="HS256")


def _exchange(url: str, headers: tuple[tuple[str, str], ...] = (), body: bytes = b"") -> Exchange:
    probe = Probe(url=url)
    return Exchange(probe=probe, response=Response(200, headers, body), url=url)


# -- collection (no scan) ----------------------------------------------------------------


def test_user_headers_in_any_shape() -> None:
    headers = [
        ("Authorization", TOKEN),  # bare
        ("X-Access-Token", TOKEN + "a"),
        ("token", TOKEN + "b"),
        ("X-API-Token", TOKEN + "c"),
        ("Authorization", f"Bearer {TOKEN}d"),
        ("Authorization", "Basic dXNlcjpwYXNz"),  # not a token
    ]
    got = list(_header_tokens(headers))
    assert got == [
        ("Authorization", TOKEN, ""),
        ("X-Access-Token", TOKEN + "a", ""),
        ("token", TOKEN + "b", ""),
        ("X-API-Token", TOKEN + "c", ""),
        ("Authorization", TOKEN + "d", "Bearer"),
    ]
    assert split_scheme(f"JWT {TOKEN}") == ("JWT", TOKEN)


def test_target_issued_tokens_keep_their_place() -> None:
    ex = _exchange(
        "http://t/api/session?x=1",
        headers=(
            ("Content-Type", "application/json"),
            ("X-Auth-Token", TOKEN),
            ("X-Request-Id", "0123456789abcdef0123"),  # not token-named
            ("X-CSRF-Token", "f" * 40),  # token-named, but not a signed token
            ("WWW-Authenticate", f'Bearer realm="{TOKEN}"'),
        ),
        body=b'{"access_token": "' + TOKEN.encode() + b'x"}',
    )
    arts = list(_exchange_artefacts(ex))
    assert Artefact(TOKEN, "response-header", "X-Auth-Token", "http://t/api/session") in arts
    assert any(a.source == "body" and a.value == TOKEN + "x" for a in arts)
    assert not any(a.name in ("X-Request-Id", "X-CSRF-Token", "WWW-Authenticate") for a in arts)
    [(name, value)] = list(query_tokens(f"http://t/r?page=2&jwt={TOKEN}&q=hello"))
    assert (name, value) == ("jwt", TOKEN)
    assert list(query_tokens("http://t/r?token={{123456*654321}}")) == []


# -- scans ---------------------------------------------------------------------------------


@pytest.mark.parametrize("place", apps.PLACES)
def test_issued_tokens_checked_where_they_are_used(scan_both: Both, place: str) -> None:
    for report in scan_both(apps.token_app(place, flawed=True), only=ONLY):
        [none] = by_check(report, ALG_NONE)
        assert none.severity == "high" and none.cwe == 347
        assert "without a token -> 401" in none.evidence and "unsigned copy" in none.evidence
        [weak] = by_check(report, WEAK_KEY)
        assert weak.cwe == 1391 and "HS256" in weak.evidence
        if place == "x-access-token":  # a JSON field: found among the usual places
            assert "X-Access-Token" in none.evidence and none.parameter == "token"
            assert none.url.endswith("/api/me")
        elif place == "bare-authorization":  # issued in X-Auth-Token, read bare elsewhere
            assert "Authorization (no scheme)" in none.evidence
            assert weak.parameter.lower() == "x-auth-token" and weak.url.endswith("/api/session")
        else:  # a query parameter: the forged copy goes back into ?token=
            assert "query parameter 'token'" in none.evidence and none.parameter == "token"
            assert weak.parameter == "token" and weak.url.endswith("/api/me")


def test_user_supplied_bare_and_custom_headers(serve: Callable[..., str]) -> None:
    for place, header, prefix in (
        ("bare-authorization", "Authorization", ""),
        ("x-access-token", "X-Access-Token", ""),
    ):
        app = apps.token_app(place, flawed=True)
        token = apps.issued_token(app)
        report = scan_url(serve(app), only=ONLY, headers=[(header, prefix + token)])
        [none] = by_check(report, ALG_NONE)
        assert none.parameter == header and f"{header} header" in none.evidence
        assert by_check(report, WEAK_KEY)
        assert token not in report.model_dump_json()  # the user's token stays masked


def test_user_supplied_query_token(serve: Callable[..., str]) -> None:
    app = apps.token_app("query", flawed=True)
    client = app.test_client()
    token = client.get("/").get_data(as_text=True).split("token=", 1)[1].split('"', 1)[0]
    report = scan_url(f"{serve(app)}/api/me?token={token}", only=ONLY)
    [none] = by_check(report, ALG_NONE)
    assert none.parameter == "token" and "query parameter 'token'" in none.evidence


@pytest.mark.parametrize("place", apps.PLACES)
def test_fixed_apis_are_clean(scan_both: Both, place: str) -> None:
    for report in scan_both(apps.token_app(place, flawed=False), only=ONLY):
        assert by_check(report, ALG_NONE) == by_check(report, WEAK_KEY) == []


def test_fixed_api_with_user_token_is_clean(serve: Callable[..., str]) -> None:
    app = apps.token_app("bare-authorization", flawed=False)
    token = apps.issued_token(app)
    report = scan_url(serve(app), only=ONLY, headers=[("Authorization", token)])
    assert by_check(report, ALG_NONE) == by_check(report, WEAK_KEY) == []


def test_catch_all_app() -> None:
    report = scan_app(catchall.create_app(), only=ONLY)
    assert by_check(report, ALG_NONE) == by_check(report, WEAK_KEY) == []
