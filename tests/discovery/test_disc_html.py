"""HTML link/form extraction, JS URL extraction and endpoint_from_url."""

from __future__ import annotations

from apigrade.discovery.html import (
    endpoint_from_url,
    extract_links,
    extract_urls_from_script,
    resolve_url,
)
from apigrade.discovery.model import Endpoint, Param

PAGE = """<!doctype html>
<html><head>
<title>  Shop
   admin </title>
<link rel="stylesheet" href="/static/site.css">
<link rel="icon" href="/favicon.ico">
<script src="js/app.js"></script>
<script>var notALink = "<a href='/inside-script'>";</script>
</head><body>
<a href="/products?page=2&q=shoes#top">products</a>
<a href="about">about</a>
<a href="#section">fragment only</a>
<a href="javascript:alert(1)">js</a>
<a href="mailto:root@example.com">mail</a>
<a href="tel:+123">tel</a>
<a href="data:text/html,hi">data</a>
<a href="https://elsewhere.example/x">offsite</a>
<a href="/products?page=2&q=shoes">duplicate without fragment</a>
<map><area href="/map-area"></map>
<iframe src="/embedded"></iframe>
</body></html>
"""


def test_links_split_by_kind() -> None:
    links = extract_links("http://shop.test/dir/index.html", PAGE)
    assert links.pages == [
        "http://shop.test/products?page=2&q=shoes",
        "http://shop.test/dir/about",
        "https://elsewhere.example/x",
        "http://shop.test/map-area",
        "http://shop.test/embedded",
    ]
    assert links.scripts == ["http://shop.test/dir/js/app.js"]
    assert links.styles == ["http://shop.test/static/site.css"]
    assert links.title == "Shop admin"
    assert links.forms == []


def test_base_href_applies_to_all_references() -> None:
    html = '<a href="x">x</a><head><base href="https://cdn.test/b/"></head><script src="s.js">'
    links = extract_links("http://h/page", html)
    assert links.pages == ["https://cdn.test/b/x"]
    assert links.scripts == ["https://cdn.test/b/s.js"]


def test_forms_get_and_post() -> None:
    html = """
    <form action="/search?lang=en" method="get">
      <input name="q" value="shoes">
      <input type="number" name="page" value="2" required>
      <input type="number" name="price" step="0.01">
      <input type="submit" value="Go">
      <input type="reset" name="r">
      <select name="sort"><option value="asc">A<option value="desc" selected>D</select>
    </form>
    <form method="POST" enctype="multipart/form-data">
      <input type="hidden" name="csrf" value="tok">
      <input type="file" name="upload">
      <input type="checkbox" name="agree">
      <textarea name="comment">hello</textarea>
      <button name="action" value="save">Save</button>
    </form>
    <form method="dialog"><input name="ignored"></form>
    <form action="javascript:void(0)"><input name="nope"></form>
    """
    links = extract_links("http://h/app/edit?id=7", html)
    assert len(links.forms) == 2
    get, post = links.forms
    assert get == Endpoint(
        url="http://h/search",
        method="GET",
        params=(
            Param("q", "query", "string", False, "shoes"),
            Param("page", "query", "integer", True, "2"),
            Param("price", "query", "number", False, None),
            Param("sort", "query", "string", False, "desc"),
        ),
        source="form",
    )
    assert post.url == "http://h/app/edit"
    assert post.method == "POST"
    assert post.content_type == "multipart/form-data"
    by_name = {p.name: p for p in post.params}
    # The action's own query string survives a POST.
    assert by_name["id"] == Param("id", "query", "integer", False, "7")
    assert by_name["csrf"] == Param("csrf", "form", "string", False, "tok")
    assert by_name["upload"].example is None
    assert by_name["agree"] == Param("agree", "form", "boolean", False, "on")
    assert by_name["comment"].example == "hello"
    assert by_name["action"].example == "save"


def test_form_default_enctype_and_form_attribute() -> None:
    html = (
        '<input name="outside" form="f" value="1">'
        '<form id="f" action="login" method="post"><input name="user"></form>'
    )
    (form,) = extract_links("http://h/a/", html).forms
    assert form.url == "http://h/a/login"
    assert form.content_type == "application/x-www-form-urlencoded"
    assert [p.name for p in form.params] == ["user", "outside"]
    assert all(p.location == "form" for p in form.params)


def test_broken_html_never_raises() -> None:
    for html in (
        "<a href='/x",
        "<<<>>><a href=/y>",
        "<![if !supportLists]><a href=/z>",
        "<form><input name=a><form><input name=b",
        '<a href="http://[::1">bad ipv6</a><a href="/ok">',
        "<title>unterminated",
        "\x00\x01<a href=/\x00>",
    ):
        links = extract_links("http://h/", html)
        assert isinstance(links.pages, list)
    assert (
        "http://h/ok"
        in extract_links("http://h/", '<a href="http://[::1">b</a><a href="/ok">').pages
    )
    assert extract_links("http://h/", "<title>unterminated").title == "unterminated"


def test_resolve_url_filters_schemes() -> None:
    assert resolve_url("http://h/a/b", "../c#x") == "http://h/c"
    assert resolve_url("http://h/", " \n/p a th\t") == "http://h/p%20a%20th"
    assert resolve_url("http://h/", "JavaScript:alert(1)") is None
    assert resolve_url("http://h/", "ftp://h/file") is None
    assert resolve_url("http://h/", "") is None
    assert resolve_url("http://h", "") is None
    assert resolve_url("http://h", "http://h") == "http://h/"


def test_endpoint_from_url_infers_query_params() -> None:
    ep = endpoint_from_url("http://h/search?q=x&page=2", "crawl")
    assert ep == Endpoint(
        url="http://h/search",
        params=(
            Param("page", "query", type="integer", example="2"),
            Param("q", "query", example="x"),
        ),
    )
    assert endpoint_from_url("http://h/?a=1.5&a=2&b=", "sitemap").params == (
        Param("a", "query", type="number", example="1.5"),
        Param("b", "query", example=""),
    )
    assert endpoint_from_url("http://h", "robots") == Endpoint(url="http://h/", source="robots")
    assert endpoint_from_url("http://h/x#frag", "crawl").url == "http://h/x"


def test_script_urls_are_conservative() -> None:
    js = (
        """
    fetch("/api/v1/items").then(r => r.json());
    const user = '/api/users/:id/orders';
    axios.post(`/api/login`, data);
    const tpl = `/api/${version}/x`;
    const re = /\\/api\\/escaped/;
    const fmt = "/%s/detail";
    const comment = "// not a path";
    const root = "/";
    const num = "/123";
    const mime = "application/json";
    const spaced = "/has space";
    const abs = "https://api.other.test/v2/things?x=1";
    const long = "/"""
        + "a" * 250
        + """";
    const dup = "/api/v1/items";
    """
    )
    urls = extract_urls_from_script("http://h/static/app.js", js)
    assert urls == [
        "http://h/api/v1/items",
        "http://h/api/users/{id}/orders",
        "http://h/api/login",
        "https://api.other.test/v2/things?x=1",
    ]


def test_script_urls_on_non_js_text() -> None:
    assert extract_urls_from_script("http://h/", "") == []
    assert extract_urls_from_script("http://h/", "no quotes /api/x here") == []


def test_pathological_markup_stays_fast() -> None:
    """Unterminated constructs made older html.parser versions quadratic."""
    import time

    for unit in ("<a ", "<!--x>", "<![CDATA[x>", "<a href=", "<![", "<!-"):
        doc = '<a href="/first">' + unit * (200_000 // len(unit))
        started = time.monotonic()
        links = extract_links("http://h/", doc)
        assert time.monotonic() - started < 5, unit
        assert links.pages[:1] == ["http://h/first"]


def test_marked_sections_and_stray_comment_openers() -> None:
    html = (
        '<a href="/a"><![if !IE]><a href="/b"><![endif]>'
        '<!--[if IE]><a href="/hidden"><![endif]-->'
        '<script>if (s.indexOf("<!--") > 0) {}</script><a href="/c"><title>x < y'
    )
    links = extract_links("http://h/", html)
    assert links.pages == ["http://h/a", "http://h/b", "http://h/c"]
    assert links.title == "x < y"


def test_parser_failures_are_stepped_over() -> None:
    from apigrade.discovery.html import _Collector, _feed

    parser = _Collector()
    # Fed raw (without the pre-pass), these declarations make html.parser assert.
    _feed(parser, '<a href="/x">\n<![foo]> <a href="/y">\n<![<![<a href="/z">')
    assert parser.pages == ["/x", "/y", "/z"]


def test_nested_form_fields_join_the_outer_form() -> None:
    html = '<form action="/outer"><input name="a"><form action="/inner"><input name="b"></form>'
    (form,) = extract_links("http://h/", html).forms
    assert form.url == "http://h/outer"
    assert [p.name for p in form.params] == ["a", "b"]
