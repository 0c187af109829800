"""Property tests: every discovery parser is total on arbitrary input."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from apigrade.discovery.html import endpoint_from_url, extract_links, extract_urls_from_script
from apigrade.discovery.model import Endpoint
from apigrade.discovery.openapi import looks_like_spec, parse_spec
from apigrade.discovery.robots import parse_robots
from apigrade.discovery.sitemap import parse_sitemap

FUZZ = settings(max_examples=200, deadline=None)

# Text biased towards the syntax each parser cares about.
_markup = st.lists(
    st.sampled_from(
        [
            "<a href=",
            "<form method=post action=",
            "<input name=x type=number value=",
            "<base href=",
            "<select name=s><option value=1 selected>",
            "<textarea name=t>",
            "</form>",
            "<script src=",
            "<title>",
            "<![CDATA[",
            "<!--",
            '"',
            "'",
            ">",
            "/api/v1",
            "javascript:",
            "http://[::1",
            "#",
            "?a=1&b",
            "<url><loc>",
            "</loc></url>",
            "<sitemap>",
            "Disallow: ",
            "Sitemap: ",
            "\n",
            "*",
            "$",
        ]
    )
    | st.text(max_size=20),
    max_size=40,
).map("".join)
_base = st.sampled_from(
    ["http://h/", "https://h:8443/a/b?c=d", "http://h", "", "not a url", "http://[::1"]
)


@FUZZ
@given(base=_base, text=_markup | st.text(max_size=500))
def test_html_and_script_never_raise(base: str, text: str) -> None:
    links = extract_links(base, text)
    for url in links.pages + links.scripts + links.styles:
        assert url.startswith(("http://", "https://")) and "#" not in url
    assert all(isinstance(f, Endpoint) and f.source == "form" for f in links.forms)
    for url in extract_urls_from_script(base, text):
        assert url.startswith(("http://", "https://")) and not any(c.isspace() for c in url)


@FUZZ
@given(url=st.text(max_size=200) | st.builds(lambda q: "http://h/p?" + q, st.text(max_size=100)))
def test_endpoint_from_url_never_raises(url: str) -> None:
    ep = endpoint_from_url(url, "crawl")
    assert "?" not in ep.url or not ep.url.startswith("http")
    assert len({p.name for p in ep.params}) == len(ep.params)


@FUZZ
@given(base=_base, text=_markup | st.text(max_size=500))
def test_robots_and_sitemap_never_raise(base: str, text: str) -> None:
    info = parse_robots(base, text)
    assert len(info.paths) == len(set(info.paths))
    smi = parse_sitemap(text)
    assert all(u.startswith(("http://", "https://")) for u in smi.urls + smi.sitemaps)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "$ref",
                    "get",
                    "post",
                    "parameters",
                    "name",
                    "in",
                    "schema",
                    "type",
                    "properties",
                    "required",
                    "requestBody",
                    "content",
                    "application/json",
                    "security",
                    "allOf",
                    "items",
                    "servers",
                    "url",
                    "/x",
                    "#/paths",
                ]
            )
            | st.text(max_size=8),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)
_refs = st.sampled_from(
    ["#/paths", "#/components/schemas/A", "#/", "#", "#/paths/~1x/get", "x.json#/a"]
)


def _with_refs(value: Any, ref: str) -> Any:
    """Sprinkle a $ref into every dict so resolution paths get exercised."""
    if isinstance(value, dict):
        out = {k: _with_refs(v, ref) for k, v in value.items()}
        out.setdefault("$ref", ref)
        return out
    if isinstance(value, list):
        return [_with_refs(v, ref) for v in value]
    return value


@FUZZ
@given(
    version=st.sampled_from([{"openapi": "3.0.0"}, {"swagger": "2.0"}, {"openapi": 3}]),
    paths=_json,
    extra=_json,
    ref=_refs,
    sprinkle=st.booleans(),
)
def test_parse_spec_never_raises_on_spec_shaped_json(
    version: dict[str, Any], paths: Any, extra: Any, ref: str, sprinkle: bool
) -> None:
    if sprinkle:
        paths, extra = _with_refs(paths, ref), _with_refs(extra, ref)
    doc = {
        **version,
        "paths": paths if isinstance(paths, dict) else {"/x": paths},
        "components": {"schemas": {"A": extra}, "parameters": extra},
        "definitions": extra,
        "servers": extra,
        "security": extra,
        "basePath": extra,
    }
    spec = parse_spec(json.dumps(doc), "http://h/")
    if spec is not None:
        assert all(e.url.startswith("http://h/") for e in spec.endpoints)
        assert all(e.source == "openapi" for e in spec.endpoints)


@FUZZ
@given(text=st.text(max_size=500) | _markup)
def test_parse_spec_never_raises_on_text(text: str) -> None:
    assert parse_spec(text, "http://h/") is None or looks_like_spec(text) or "{" in text
    looks_like_spec(text)
