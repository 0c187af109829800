"""Knowledge as data: the tables in apigrade/data/ and the signature files, strictly validated."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify, request

from apigrade import knowledge, rx
from apigrade.checks.data_exposure import secrets
from apigrade.checks.data_exposure.verbose_errors import find_signs
from apigrade.checks.input_validation.sqli import sql_error
from apigrade.checks.property_authorization.excessive_data import find_leaks
from apigrade.checks.registry import RegistryError
from apigrade.checks.signature import load_dir, load_file
from apigrade.engine.scanner import scan_sync

SQLI = "sqli.error-based"
FROB_ERROR = "FROBDB-0042: unbalanced quote in statement"
FROB_ENTRY = """
[[error]]
kind = "database"
name = "FrobDB"
pattern = 'FROBDB-\\d{4}: unbalanced quote'
used_by = ["sqli.error-based", "errors.verbose-error"]
"""


@pytest.fixture
def data_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the data folder that the loader reads instead of the shipped one."""
    copy = tmp_path / "data"
    shutil.copytree(knowledge.DATA_DIR, copy)
    monkeypatch.setattr(knowledge, "DATA_DIR", copy)
    knowledge.clear()
    yield copy
    knowledge.clear()  # the shipped tables again (DATA_DIR is restored by monkeypatch)


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- the shipped tables -------------------------------------------------------------------


def test_each_table_loads_validates_and_registers_its_patterns() -> None:
    verbose = knowledge.db_errors("errors.verbose-error")
    sqli = knowledge.db_errors(SQLI)
    assert len(verbose) == 17 and verbose == sqli  # one table: both read every database entry
    assert {"ODBC", "JDBC"} <= {e.dbms for e in sqli}
    assert any(e.strong for e in verbose) and not all(e.strong for e in sqli)
    exposed = knowledge.secret_formats("secrets.exposed-secret")
    props = knowledge.secret_formats("props.excessive-data-exposure")
    assert len(exposed) == 9 and len(props) == 5
    assert {k.name for k in exposed if k.json_owned} == {
        "AWS access key id", "private key", "GitHub token", "Slack token", "Stripe live secret key",
    }  # fmt: skip
    registered = set(rx.registered())
    for entry in (*verbose, *sqli, *exposed, *props):
        assert entry.pattern in registered
        assert entry.pattern.where.startswith(("errors.toml ", "secrets.toml "))
    # loaded once: the same objects on every call
    assert knowledge.db_errors(SQLI) is sqli
    assert knowledge.secret_formats("secrets.exposed-secret") is exposed


def test_the_checks_read_the_tables() -> None:
    found = sql_error("java.sql.SQLSyntaxErrorException: bad")
    assert found is not None and found[0] == "JDBC"
    [sign] = find_signs("ORA-00933: SQL command not properly ended", "text/plain")
    assert sign.kind == "Oracle SQL error"
    key = "sk_live_" + "a1B2c3D4e5F6g7H8"  # 16 characters: props' format, not secrets'
    assert [lk.kind for lk in find_leaks({"k": key})] == ["Stripe secret key"]
    assert list(secrets.find_secrets(key, pages=False, json_api=False)) == []


# -- bad tables are rejected with one line naming the file and the entry -------------------


def test_unknown_key_is_rejected(data_copy: Path) -> None:
    _rewrite(data_copy / "errors.toml", 'name = "MySQL"', 'name = "MySQL"\nconfidance = "firm"')
    with pytest.raises(knowledge.KnowledgeError) as err:
        knowledge.db_errors(SQLI)
    message = str(err.value)
    assert message.startswith("errors.toml error #2 (MySQL): confidance: Extra inputs")
    assert "\n" not in message


def test_wrong_type_is_rejected(data_copy: Path) -> None:
    _rewrite(data_copy / "errors.toml", "strong = true", 'strong = "yes"')
    with pytest.raises(
        knowledge.KnowledgeError, match=r"^errors\.toml error #1 \(SQLAlchemy\): strong: "
    ):
        knowledge.db_errors("errors.verbose-error")
    knowledge.clear()
    _rewrite(data_copy / "secrets.toml", 'severity = "medium"', 'severity = "severe"')
    with pytest.raises(
        knowledge.KnowledgeError, match=r"^secrets\.toml token #2 \(AWS access key id\): severity: "
    ):
        knowledge.secret_formats("secrets.exposed-secret")


def test_unknown_check_and_missing_field_are_rejected(data_copy: Path) -> None:
    _rewrite(data_copy / "secrets.toml", 'used_by = ["secrets.exposed-secret"]',
             'used_by = ["secrets.exposed-secrets"]')  # fmt: skip
    with pytest.raises(
        knowledge.KnowledgeError, match=r"token #1 \(AWS secret access key\): used_by\.0: "
    ):
        knowledge.secret_formats("secrets.exposed-secret")
    knowledge.clear()
    (data_copy / "errors.toml").write_text(
        '[[error]]\nkind = "database"\nname = "X"\nused_by = []\n'
    )
    with pytest.raises(knowledge.KnowledgeError, match=r"error #1 \(X\): pattern: Field required"):
        knowledge.db_errors(SQLI)


def test_pattern_re2_cannot_express_is_rejected(data_copy: Path) -> None:
    (data_copy / "errors.toml").write_text(
        FROB_ENTRY.replace("'FROBDB-\\d{4}: unbalanced quote'", "'FROBDB-(?!0000)\\d{4}'")
    )
    with pytest.raises(
        knowledge.KnowledgeError, match=r"^errors\.toml error #1 \(FrobDB\): RE2 cannot compile"
    ):
        knowledge.db_errors(SQLI)


def test_broken_toml_is_one_line(data_copy: Path) -> None:
    (data_copy / "secrets.toml").write_text("[[token]\nname = 1\n")
    with pytest.raises(knowledge.KnowledgeError, match=r"^secrets\.toml: ") as err:
        knowledge.secret_formats("secrets.exposed-secret")
    assert "\n" not in str(err.value)


# -- a new entry needs no code change ------------------------------------------------------


def frob_app() -> Flask:
    """A search whose odd quotes answer 200 with a FrobDB error message, even quotes mend it."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        return '<!doctype html><html><body><a href="/api/items?name=widget">items</a></body></html>'

    @app.route("/api/items")
    def items() -> Any:
        name = request.args.get("name", "")
        if name.count("'") % 2:
            return jsonify(error=FROB_ERROR)
        return jsonify(items=[{"id": 1, "name": name}])

    return app


def test_a_new_db_error_entry_reaches_the_checks(
    data_copy: Path, serve: Callable[..., str]
) -> None:
    url = serve(frob_app())
    assert sql_error(FROB_ERROR) is None
    before = scan_sync(url, only=[SQLI])
    assert [f for f in before.findings if f.check_id == SQLI] == []

    with (data_copy / "errors.toml").open("a", encoding="utf-8") as fh:
        fh.write(FROB_ENTRY)
    knowledge.clear()
    assert sql_error(FROB_ERROR) == ("FrobDB", FROB_ERROR)
    after = scan_sync(url, only=[SQLI])
    [finding] = [f for f in after.findings if f.check_id == SQLI]
    assert finding.parameter == "name" and "FrobDB" in finding.evidence
    assert [s.kind for s in find_signs(f'{{"error": "{FROB_ERROR}"}}', "application/json")] == [
        "FrobDB SQL error"
    ]


def test_a_new_secret_entry_reaches_the_checks(data_copy: Path) -> None:
    token = "frob_live_" + "Q7w8E9r0T1y2U3i4"
    assert list(secrets.find_secrets(token, pages=False, json_api=False)) == []
    assert find_leaks({"key": token}) == []
    with (data_copy / "secrets.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[[token]]\nname = "Frob key"\npattern = \'\\b(frob_live_[0-9A-Za-z]{16})\\b\'\n'
                 'severity = "high"\njson_owned = true\n'
                 'used_by = ["secrets.exposed-secret", "props.excessive-data-exposure"]\n')  # fmt: skip
    knowledge.clear()
    [(kind, value)] = secrets.find_secrets(token, pages=False, json_api=False)
    assert (kind.name, value) == ("Frob key", token)
    assert list(secrets.find_secrets(token, pages=False, json_api=True)) == []  # json_owned
    assert [lk.kind for lk in find_leaks({"key": token})] == ["Frob key"]


# -- signature files: the same strict schema, parsed once ----------------------------------

SIGNATURE = """[[check]]
id = "files.kt-test"
title = "t"
category = "misconfiguration"
severity = "low"
confidence = "firm"
cwe = 538
owasp = "API8:2023"
description = "d"
remediation = "r"
paths = ["/x"]
matchers_condition = "and"
stop_at_first = true
matchers = [
  { type = "status", status = [200] },
  { type = "regex", regex = ['<html'], negative = true },
]
"""


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "matchers_condition",
            "matcher_condition",
            "matcher_condition: Extra inputs are not permitted",
        ),
        ("stop_at_first", "stop_at_frist", "stop_at_frist: Extra inputs are not permitted"),
        ("negative = true", "negativ = true", "matchers.1.negativ: Extra inputs are not permitted"),
        (
            "stop_at_first = true",
            'stop_at_first = "yes"',
            "stop_at_first: Input should be a valid boolean",
        ),
        ('"and"', '"both"', "matchers_condition: Input should be 'and' or 'or'"),
        ("cwe = 538", 'cwe = "538"', "cwe: Input should be a valid integer"),
        ('type = "status"', 'type = "statuz"', "matchers.0.type: Input should be"),
    ],
)
def test_signature_typos_are_rejected(tmp_path: Path, old: str, new: str, message: str) -> None:
    good = tmp_path / "sig.toml"
    good.write_text(SIGNATURE)
    [sig] = load_file(good)
    assert sig.stop_at_first and sig.matchers[1].negative and sig.condition == "and"
    bad = tmp_path / "bad.toml"
    bad.write_text(SIGNATURE.replace(old, new, 1))
    with pytest.raises(RegistryError) as err:
        load_file(bad)
    assert str(err.value).startswith(f"bad.toml check #1 (files.kt-test): {message}")
    assert "\n" not in str(err.value)


def test_a_matcher_without_its_values_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SIGNATURE.replace("status = [200]", "words = ['x']"))
    with pytest.raises(
        RegistryError, match=r"^bad\.toml check #1: a status matcher needs 'status'"
    ):
        load_file(bad)


def test_signature_files_are_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import apigrade.checks.signature as signature
    import apigrade.verify.plan as verify_plan

    load_dir()  # the shipped files (already loaded when the checks registered)
    reads: list[Path] = []
    original = signature.read_table

    def counting(path: Path, *args: Any) -> Any:
        reads.append(path)
        return original(path, *args)

    monkeypatch.setattr(signature, "read_table", counting)
    shipped = load_dir()
    assert {s.meta.id for s in shipped} == set(verify_plan._signatures())
    secrets.signature_paths.cache_clear()
    assert "/.env" in secrets.signature_paths(True)
    assert reads == []  # registration, secrets and verify share the parsed form
    (tmp_path / "sig.toml").write_text(SIGNATURE)
    first = load_dir(tmp_path)
    assert load_dir(tmp_path) is first and reads == [tmp_path / "sig.toml"]


# -- technology fingerprints ----------------------------------------------------------------


def test_fingerprint_table_loads_and_feeds_fingerprint() -> None:
    from apigrade.fingerprint import FpInput, fingerprint

    table = knowledge.fingerprints()
    assert table.servers["openresty"] == "nginx" and table.cookies["phpsessid"][0] == "php"
    assert knowledge.fingerprints() is table  # loaded once
    page = "<html><body><h1>404</h1><hr><center>nginx/1.25.3</center></body></html>"
    result = fingerprint([FpInput(404, [("Set-Cookie", "csrftoken=x; Path=/")], page)])
    assert result.frameworks == ["django", "nginx"] and result.versions == {"nginx": "1.25.3"}
    assert result.evidence["django"] == "Django default cookie 'csrftoken'"


def test_a_new_fingerprint_entry_needs_no_code_change(data_copy: Path) -> None:
    from apigrade.fingerprint import FpInput, fingerprint

    page = FpInput(200, [("Server", "Frobd/2.0")], "<p>Served by Caddy (frob build 2.7.6)</p>")
    assert fingerprint([page]).frameworks == []
    with (data_copy / "fingerprints.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[[body]]\npattern = \'Served by Caddy \\(frob build (\\d[\\d.]*)\\)\'\n'
                 'frameworks = ["caddy"]\nreason = "Caddy frob page"\nversion_group = 1\n'
                 '\n[[server]]\nproduct = "frobd"\nframework = "iis"\n')  # fmt: skip
    knowledge.clear()
    result = fingerprint([page])
    assert result.frameworks == ["caddy", "iis"]
    assert result.evidence["caddy"] == "Caddy frob page" and result.versions["caddy"] == "2.7.6"


def test_a_bad_fingerprint_entry_is_rejected(data_copy: Path) -> None:
    path = data_copy / "fingerprints.toml"
    _rewrite(path, 'framework = "caddy"', 'framework = "cady"')
    with pytest.raises(
        knowledge.KnowledgeError, match=r"^fingerprints\.toml server #\d+ \(caddy\): framework: "
    ):
        knowledge.fingerprints()
    knowledge.clear()
    _rewrite(path, 'framework = "cady"', 'framework = "caddy"')
    _rewrite(path, "version_group = 1", "version_group = 2")
    with pytest.raises(
        knowledge.KnowledgeError,
        match=r"body #6 \(nginx default error page\): version_group: no such group",
    ):
        knowledge.fingerprints()
