"""Parsers of target-supplied data never crash, whatever they are fed (hypothesis), and what
they return keeps its shape: bounded sizes, the promised types, round trips, idempotence."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer

from apigrade.crack import TokenKind, looks_like_pickle, parse_token, verify_key
from apigrade.crack.schemes import COMMON_SALTS, FLASK_SESSION_SALT
from apigrade.crack.tokens import MAX_TOKEN
from apigrade.discovery.html import (
    MAX_LINKS,
    MAX_SCRIPT_URLS,
    MAX_TITLE,
    Links,
    extract_links,
    extract_urls_from_script,
)
from apigrade.discovery.openapi import HTTP_METHODS, MAX_ENDPOINTS, Spec, parse_spec
from apigrade.engine.http import parse_set_cookie, request_cookies
from apigrade.fingerprint import FRAMEWORK_ORDER, FingerprintResult, FpInput, fingerprint
from apigrade.report.escape import one_line

FAST = settings(max_examples=150, deadline=None)
TOKENISH = st.text(alphabet="abcdefABCDEF0123456789._-:=+/!$eyJ", max_size=300)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=30,
)
CONTROL = {*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


@FAST
@given(st.text(max_size=500))
def test_set_cookie_and_cookie_header(raw: str) -> None:
    c = parse_set_cookie(raw)
    if c is None:
        # only a first piece without "=" or with an empty name names no cookie
        name, sep, _ = raw.split(";")[0].partition("=")
        assert not sep or not name.strip()
    else:
        assert c.name and c.name == c.name.strip() and ";" not in c.name and "=" not in c.name
        assert ";" not in c.value and c.raw == raw
        assert all(k == k.strip().lower() and k and ";" not in k for k in c.attrs)
        assert len(c.name) + len(c.value) <= len(raw)
        assert parse_set_cookie(c.raw) == c  # parsing is a function of the header alone
    jar = request_cookies(raw)
    assert isinstance(jar, dict)
    assert all(isinstance(k, str) and isinstance(v, str) and k for k, v in jar.items())
    assert sum(len(k) + len(v) for k, v in jar.items()) <= len(raw)


@FAST
@given(st.one_of(st.text(max_size=400), TOKENISH))
def test_signed_tokens(value: str) -> None:
    token = parse_token(value)
    if token is not None:
        assert token.raw == value.strip().strip('"') and len(token.raw) <= MAX_TOKEN
        assert isinstance(token.kind, TokenKind) and token.schemes
        assert isinstance(token.payload_bytes, bytes) and isinstance(token.pickled, bool)
        assert parse_token(token.raw) == token  # idempotent on its own raw value
    assert isinstance(looks_like_pickle(value), bool)


@FAST
@given(st.dictionaries(st.text(max_size=10), JSONISH, max_size=4), st.text(min_size=1, max_size=40))
def test_flask_session_round_trip(payload: dict[str, Any], key: str) -> None:
    """A session Flask signs decodes to the same payload and verifies under its key only."""
    value = flask_serializer(key).dumps(payload)
    token = parse_token(value, name="session")
    assert token is not None and token.label == "Flask session cookie"
    written = json.loads(TaggedJSONSerializer().dumps(payload))  # what Flask put in it
    assert token.payload == written and json.loads(token.payload_bytes) == written
    scheme = verify_key(token, key)
    assert scheme is not None and scheme.salt == FLASK_SESSION_SALT
    assert verify_key(token, key + "x") is None


@FAST
@given(
    st.one_of(st.lists(JSONISH, max_size=4), st.text(max_size=39), st.integers()),
    st.text(min_size=1, max_size=40),
    st.sampled_from(COMMON_SALTS),
)
def test_itsdangerous_token_round_trip(payload: Any, key: str, salt: str) -> None:
    """A token itsdangerous signs with a common salt decodes to its payload and verifies
    under its key and salt."""
    value = URLSafeTimedSerializer(key, salt=salt).dumps(payload)
    token = parse_token(value)
    assert token is not None and token.kind is TokenKind.ITSDANGEROUS
    assert json.loads(token.payload_bytes) == payload
    scheme = verify_key(token, key)
    assert scheme is not None and scheme.salt == salt
    assert verify_key(token, key + "x") is None


def flask_serializer(key: str) -> URLSafeTimedSerializer:
    """Flask's own session serializer for ``key``."""
    app = Flask("fuzz")
    app.secret_key = key
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    return serializer


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment


@FAST
@given(st.text(max_size=2000))
def test_html_and_scripts(doc: str) -> None:
    links = extract_links("http://t/", doc)
    assert isinstance(links, Links)
    for urls in (links.pages, links.scripts, links.styles):
        assert len(urls) <= MAX_LINKS and len(set(urls)) == len(urls)  # de-duplicated
        assert all(_is_http_url(u) for u in urls)
    assert links.title is None or len(links.title) <= MAX_TITLE
    assert extract_links("http://t/", doc) == links  # deterministic
    urls = extract_urls_from_script("http://t/", doc)
    assert len(urls) <= MAX_SCRIPT_URLS and len(set(urls)) == len(urls)
    assert all(_is_http_url(u) for u in urls)


@FAST
@given(st.lists(st.text(alphabet="<>/=\"' ahrefscitlp.:-", max_size=40), max_size=30))
def test_html_links_stay_absolute(pieces: list[str]) -> None:
    """Markup-dense input: every link found is an absolute http(s) URL without fragment."""
    doc = "".join(f"<a href=\"{p}\">x</a><script src='{p}'></script>" for p in pieces)
    links = extract_links("http://t/dir/", doc)
    assert all(_is_http_url(u) for u in links.pages + links.scripts)
    assert len(links.pages) <= len(pieces) and len(links.scripts) <= len(pieces)


PATHS = st.dictionaries(
    st.one_of(st.text(max_size=12), st.from_regex(r"\A/[a-z{}]{0,10}\Z")),
    st.one_of(JSONISH, st.dictionaries(st.sampled_from(HTTP_METHODS), JSONISH, max_size=4)),
    max_size=6,
)


@FAST
@given(st.one_of(JSONISH, PATHS))
def test_openapi_documents(doc: object) -> None:
    wrapped = {"openapi": "3.0.0", "paths": doc} if isinstance(doc, dict) else doc
    spec = parse_spec(json.dumps(wrapped), "http://t/")
    if not isinstance(doc, dict):
        assert spec is None  # not a document with a paths mapping
        return
    assert isinstance(spec, Spec) and spec.spec_version == "3.0.0"
    # at most one endpoint per (valid path, method whose operation is an object)
    ops = sum(
        isinstance(item.get(m), dict)
        for path, item in doc.items()
        if isinstance(item, dict) and path.startswith("/") and not any(c.isspace() for c in path)
        for m in HTTP_METHODS
    )
    assert len(spec.endpoints) <= min(ops, MAX_ENDPOINTS)
    for ep in spec.endpoints:
        assert ep.url.startswith("http://t/") and ep.url[len("http://t") :] in doc
        assert ep.method.lower() in HTTP_METHODS and ep.method.isupper()
        assert ep.source == "openapi"


@FAST
@given(
    st.lists(st.tuples(st.text(max_size=30), st.text(max_size=80)), max_size=8),
    st.text(max_size=300),
)
def test_fingerprint(headers: list[tuple[str, str]], body: str) -> None:
    inputs = [FpInput(status=200, headers=headers, body=body, cookies=["session"])]
    result = fingerprint(inputs)
    assert isinstance(result, FingerprintResult)
    assert result.frameworks == [f for f in FRAMEWORK_ORDER if f in result.frameworks]
    assert len(set(result.frameworks)) == len(result.frameworks)
    assert set(result.evidence) <= set(result.frameworks)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.versions.items())
    servers = [v for k, v in headers if k.lower() == "server"]
    assert result.server is None or result.server in [v.strip() for v in servers] + servers
    assert fingerprint(inputs) == result  # deterministic


@FAST
@given(st.text(max_size=300), st.integers(min_value=1, max_value=400))
def test_escape_leaves_no_control_characters(text: str, limit: int) -> None:
    out = one_line(text, limit)
    assert not any(ord(ch) in CONTROL for ch in out)
    assert "\n" not in out and "\r" not in out and "\t" not in out
    assert len(out) <= limit
    assert one_line(out, limit) == out  # idempotent: escaping twice changes nothing
    if len(out) < limit and "\\x" not in out:
        assert out == text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
