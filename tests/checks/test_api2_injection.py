"""Input validation (API8): error-based SQL injection, NoSQL operators, user-controlled regexes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api2 as apps  # noqa: E402
from apps_api2 import Recorder, by_check, scan_app, scan_url  # noqa: E402

from apigrade.checks.input_validation.redos import regex_error  # noqa: E402
from apigrade.checks.input_validation.sqli import sql_error  # noqa: E402

SQLI, NOSQL, REDOS = "sqli.error-based", "nosql.operator-injection", "redos.user-regex"


def path(url: str) -> str:
    return urlsplit(url).path


# -- SQL injection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, engine",
    [
        ('{"error": "sqlite3.OperationalError: unrecognized token: \\"\'x\\""}', "SQLite"),
        ('near "x": syntax error', "SQLite"),
        ('psycopg2.errors.SyntaxError: unterminated quoted string at or near "\'"', "PostgreSQL"),
        ("You have an error in your SQL syntax; check the manual", "MySQL"),
        ("[Microsoft][ODBC Driver 17 for SQL Server]Unclosed quotation mark", "ODBC"),
        ("(Background on this error at: https://sqlalche.me/e/20/f405)", "SQLAlchemy"),
        ("ORA-01756: quoted string not properly terminated", "Oracle"),
    ],
)
def test_sql_error_signatures(text: str, engine: str) -> None:
    found = sql_error(text)
    assert found is not None and found[0] == engine


def test_sql_error_needs_a_database_message() -> None:
    for text in ("Syntax error in your query string", "no results for 'x'", "ORA", "SQL"):
        assert sql_error(text) is None


def test_sql_injection_is_confirmed_by_balanced_quotes(serve: Callable[..., str]) -> None:
    app = apps.sqli_app()
    for report in (scan_app(app, only=[SQLI]), scan_url(serve(app), only=[SQLI])):
        found = {(path(f.url), f.parameter): f for f in by_check(report, SQLI)}
        assert set(found) == {
            ("/api/items", "name"),
            ("/api/item", "id"),
            ("/api/orders", "status"),
        }
        name = found[("/api/items", "name")]
        assert name.severity == "high" and name.confidence == "certain" and name.cwe == 89
        assert "SQLite error" in name.evidence and "\"widget''\" -> 200" in name.evidence
        number = found[("/api/item", "id")]
        assert number.confidence == "certain" and "'1-0' -> 200" in number.evidence
        generic = found[("/api/orders", "status")]  # no database message: odd/even quotes only
        assert generic.confidence == "tentative" and "odd quotes fail" in generic.evidence


def test_parameterised_queries_are_not_reported() -> None:
    assert by_check(scan_app(apps.sqli_app(safe=True), only=[SQLI]), SQLI) == []


def test_sql_injection_request_bound() -> None:
    app = apps.sqli_app()
    discovery = scan_app(app, only=[]).requests_sent
    assert scan_app(app, only=[SQLI]).requests_sent - discovery <= 3 * 6


# -- NoSQL -------------------------------------------------------------------------------


def test_nosql_operators_in_query_and_json_login(serve: Callable[..., str]) -> None:
    app = apps.nosql_app()
    for report in (scan_app(app, only=[NOSQL], active=True),
                   scan_url(serve(app), only=[NOSQL], active=True)):  # fmt: skip
        found = {path(f.url): f for f in by_check(report, NOSQL)}
        assert set(found) == {"/api/users", "/api/login"}
        users = found["/api/users"]
        assert users.parameter == "username" and users.cwe == 943 and users.severity == "high"
        assert "(0 records), $ne 200 (3 records), $eq 200 (0 records)" in users.evidence
        login = found["/api/login"]
        assert login.method == "POST" and "control 401" in login.evidence
        assert "$ne 200" in login.evidence and "$eq 401" in login.evidence


def test_nosql_bodies_only_with_active() -> None:
    rec = Recorder(apps.nosql_app())
    report = scan_app(rec, only=[NOSQL])
    assert [path(f.url) for f in by_check(report, NOSQL)] == ["/api/users"]
    assert not [s for s in rec.seen if s[0] != "GET"]


def test_ignored_operators_are_not_reported() -> None:
    # The fixed app ignores username[$ne] and lists everybody when no filter is given:
    # $ne "returns more", but so does $eq, so the differential says no.
    assert by_check(scan_app(apps.nosql_app(safe=True), only=[NOSQL], active=True), NOSQL) == []


# -- ReDoS -----------------------------------------------------------------------------


def test_regex_parameter_is_flagged_without_a_slow_pattern(serve: Callable[..., str]) -> None:
    rec = Recorder(apps.redos_app())
    for report in (scan_app(rec, only=[REDOS]), scan_url(serve(apps.redos_app()), only=[REDOS])):
        [f] = by_check(report, REDOS)
        assert f.parameter == "pattern" and f.severity == "low" and f.cwe == 1333
        assert "unterminated subpattern" in f.evidence
    sent = {v for m, p, q, _, _ in rec.to("GET", "/api/products") for k, v in parse_qsl(q)}
    assert "(" in sent and all(v == "(" or v.isalnum() for v in sent), sent


def test_plain_substring_search_is_not_flagged() -> None:
    assert by_check(scan_app(apps.redos_app(safe=True), only=[REDOS]), REDOS) == []


def test_regex_error_messages() -> None:
    assert regex_error("invalid pattern: missing ), unterminated subpattern at position 0")
    assert regex_error("SyntaxError: Invalid regular expression: /(/: Unterminated group")
    assert regex_error("java.util.regex.PatternSyntaxException: Unclosed group near index 1")
    assert regex_error("error parsing regexp: missing closing ): `(`")
    assert regex_error("no products match (") is None
