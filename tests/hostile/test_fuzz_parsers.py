"""Parsers of target-supplied data never crash, whatever they are fed (hypothesis)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from apigrade.crack import looks_like_pickle, parse_token
from apigrade.discovery.html import extract_links, extract_urls_from_script
from apigrade.discovery.openapi import parse_spec
from apigrade.engine.http import parse_set_cookie, request_cookies
from apigrade.fingerprint import FpInput, fingerprint
from apigrade.report.escape import one_line

FAST = settings(max_examples=150, deadline=None)
TOKENISH = st.text(alphabet="abcdefABCDEF0123456789._-:=+/!$eyJ", max_size=300)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=30,
)


@FAST
@given(st.text(max_size=500))
def test_set_cookie_and_cookie_header(raw: str) -> None:
    c = parse_set_cookie(raw)
    if c is not None:
        assert c.name
    request_cookies(raw)


@FAST
@given(st.one_of(st.text(max_size=400), TOKENISH))
def test_signed_tokens(value: str) -> None:
    parse_token(value)
    looks_like_pickle(value)


@FAST
@given(st.text(max_size=2000))
def test_html_and_scripts(doc: str) -> None:
    extract_links("http://t/", doc)
    extract_urls_from_script("http://t/", doc)


@FAST
@given(JSONISH)
def test_openapi_documents(doc: object) -> None:
    wrapped = {"openapi": "3.0.0", "paths": doc} if isinstance(doc, dict) else doc
    parse_spec(json.dumps(wrapped), "http://t/")


@FAST
@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=80)), max_size=8), st.text(max_size=300))
def test_fingerprint(headers: list[tuple[str, str]], body: str) -> None:
    fingerprint([FpInput(status=200, headers=headers, body=body, cookies=["session"])])


@FAST
@given(st.text(max_size=300))
def test_escape_leaves_no_control_characters(text: str) -> None:
    out = one_line(text)
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in out)
