"""Named extractors and multi-step signatures ([[check.request]]), and the example
signature files of docs/extending.md, each run against an app that triggers it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, Response, request

from apigrade.checks import load_checks
from apigrade.checks import plugins as check_plugins
from apigrade.checks.registry import REGISTRY, RegistryError
from apigrade.checks.signature import ids, load_dir, load_file
from apigrade.checks.signature_match import MAX_VALUE, Extractor, Value, render
from apigrade.engine.http import Exchange, Probe
from apigrade.engine.http import Response as HttpResponse
from helpers_scan import by_check, scan_app

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "signatures"
TOKEN = "ab/c&d=e?f#g"  # needs escaping in a query


def app(*, with_token: bool = True) -> Flask:
    a = Flask("steps")
    seen: list[tuple[str | None, str | None]] = []
    a.config["seen"] = seen

    @a.get("/")
    def index() -> Response:
        resp = Response('<a href="/dashboard">d</a> <a href="/account">a</a>')
        resp.headers["X-Debug-Token-Link"] = "http://x/_profiler/abc"
        return resp

    @a.get("/dashboard")
    def dashboard() -> str:
        if not with_token:
            return "<p>no token here</p>"
        return f'<div data-export-token="{TOKEN}"></div>'

    @a.get("/account")
    def account() -> Response:
        resp = Response("account", mimetype="text/html")
        resp.set_cookie("sessionid", "x", httponly=True)  # no Secure
        return resp

    @a.get("/export")
    def export() -> Response:
        seen.append((request.args.get("token"), request.headers.get("X-Export-Token")))
        if request.args.get("token") == TOKEN and request.headers.get("X-Export-Token") == TOKEN:
            return Response('{"rows": 1234}', mimetype="application/json")
        return Response('{"error": "bad token"}', status=403, mimetype="application/json")

    return a


@pytest.fixture
def examples() -> Iterator[list[str]]:
    """The docs' example folder, registered for the test and removed after."""
    load_checks()
    folder = EXAMPLES.resolve()
    check_plugins.add_signatures(folder, "docs examples")
    all_ids = [i for sig in load_dir(folder) for i in ids(sig)]
    yield all_ids
    for cid in all_ids:
        REGISTRY._checks.pop(cid, None)
        REGISTRY._metas.pop(cid, None)
        REGISTRY._parents.pop(cid, None)
        check_plugins._owners.pop(cid, None)
    check_plugins._folders.discard(folder)


def test_every_docs_example_loads_and_finds_its_problem(examples: list[str]) -> None:
    target = app()
    report = scan_app(target, only=[i for i in examples if i in REGISTRY._checks])
    assert not report.errors, report.errors
    [leak] = by_check(report, "example.export-token-leak")
    assert leak.evidence == "the dashboard's export token opened /export: 1234 rows"
    assert TOKEN not in leak.evidence and "export" in leak.url  # internal: never shown
    # the value went into the query percent-encoded and into the header as is
    assert target.config["seen"] == [(TOKEN, TOKEN)]
    [cookie] = by_check(report, "example.session-cookie-flags")
    assert cookie.url.endswith("/account") and "sessionid=x" in cookie.evidence
    [debug] = by_check(report, "example.debug-headers")
    assert debug.evidence == "X-Debug-Token-Link: http://x/_profiler/abc"
    assert by_check(report, "example.html-without-charset") == []  # Flask sends a charset


def test_a_step_whose_extractor_finds_nothing_ends_the_signature(examples: list[str]) -> None:
    target = app(with_token=False)
    report = scan_app(target, only=["example.export-token-leak"])
    assert by_check(report, "example.export-token-leak") == []
    assert target.config["seen"] == []  # the second step was never sent


def _ex(body: str, headers: tuple[tuple[str, str], ...] = ()) -> Exchange:
    url = "http://127.0.0.1:1/"
    return Exchange(Probe(url=url), HttpResponse(200, headers, body.encode()), url)


def test_extracted_values_are_capped_and_escaped_where_they_go() -> None:
    from apigrade import rx

    e = Extractor(name="t", type="regex", patterns=(rx.compile(r"v=(\w+)"),), group=1)
    assert e.first(_ex("v=" + "a" * 5000)) == Value("a" * MAX_VALUE)
    assert e.first(_ex("nothing")) is None
    values = {"t": Value("a b/&?\r\nX-Evil: 1")}
    assert render("/p?x={{t}}", values, escape="url") == "/p?x=a%20b%2F%26%3F%0D%0AX-Evil%3A%201"
    assert render("{{ t }}", values, escape="header") is None  # control characters: refused
    assert render("{{t}}", {"t": Value("ok")}, escape="header") == "ok"
    assert render("{{u}}", values) is None and render("{{u}}!", values, missing="") == "!"
    assert render("{{t.header|title}}={{t|3}}", {"t": Value("value", "x-powered-by")}) == (
        "X-Powered-By=val"
    )


STEPS = """[[check]]
id = "steptest.x"
title = "t"
category = "misconfiguration"
severity = "low"
confidence = "firm"
cwe = 200
owasp = "API8:2023"
description = "d"
remediation = "r"

[[check.request]]
path = "/a"
extractors = [{ name = "tok", internal = true, regex = 'tok=(\\w+)', group = 1 }]

[[check.request]]
path = "/b/{{tok}}"
matchers = [{ type = "status", status = [200] }]
"""


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('path = "/b/{{tok}}"', 'path = "/b/{{tokn}}"', "request #2: the request uses {{tokn}}"),
        ("group = 1", "group = 2", "extractor 'tok' has no group 2"),
        ('name = "tok"', 'name = "to-k"', "extractors.0.name: String should match pattern"),
        ("internal = true", "intenal = true", "request.0.extractors.0.intenal: Extra inputs"),
        ('[{ type = "status", status = [200] }]', "[]", "the last [[check.request]] step needs"),
        (
            '[[check.request]]\npath = "/a"',
            'paths = ["/z"]\n[[check.request]]\npath = "/a"',
            "give either 'paths' or [[check.request]] steps",
        ),
        ('remediation = "r"', 'remediation = "r"\nonce = "origin"', "'once' is for kind"),
    ],
)
def test_step_schema_mistakes_are_rejected(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    good = tmp_path / "good.toml"
    good.write_text(STEPS)
    [sig] = load_file(good)
    assert [s.path for s in sig.steps] == ["/a", "/b/{{tok}}"]
    bad = tmp_path / "bad.toml"
    bad.write_text(STEPS.replace(old, new, 1))
    with pytest.raises(RegistryError) as err:
        load_file(bad)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_docs_show_the_example_files_as_they_are() -> None:
    """Every line of the signature blocks in docs/extending.md is in an example file."""
    text = (EXAMPLES.parents[1] / "extending.md").read_text()
    files = {line for p in EXAMPLES.glob("*.toml") for line in p.read_text().splitlines()}
    blocks = [b.split("```")[0] for b in text.split("```toml")[1:]]
    signature_blocks = [b for b in blocks if "[[check" in b]
    assert len(signature_blocks) == 4  # backup archive, passive, finding kind, steps
    lines = [
        line for b in signature_blocks for line in b.splitlines()
        if line.strip() and not line.startswith("description = ")  # the docs shorten those
    ]  # fmt: skip
    assert len(lines) > 60
    assert [line for line in lines if line not in files] == []
