"""Sitemap parsing without an XML parser."""

from __future__ import annotations

from apigrade.discovery.sitemap import MAX_URLS, SitemapInfo, parse_sitemap

URLSET = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>https://example.test/</loc>
    <lastmod>2024-01-01</lastmod>
  </url>
  <url>
    <loc> https://example.test/search?q=a&amp;page=2 </loc>
    <image:image><image:loc>https://cdn.example.test/pic.jpg</image:loc></image:image>
  </url>
  <url><loc><![CDATA[https://example.test/cdata]]></loc></url>
  <url><loc>ftp://example.test/file</loc></url>
  <url><loc>javascript:alert(1)</loc></url>
  <url><loc>https://example.test/</loc></url>
</urlset>
"""

INDEX = """<?xml version="1.0"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://example.test/sitemap-1.xml</loc></sitemap>
  <sitemap><LOC>https://example.test/sitemap-2.xml</LOC></sitemap>
</sitemapindex>
"""


def test_urlset() -> None:
    info = parse_sitemap(URLSET)
    assert info.urls == [
        "https://example.test/",
        "https://example.test/search?q=a&page=2",
        "https://example.test/cdata",
    ]
    assert info.sitemaps == []


def test_sitemap_index() -> None:
    assert parse_sitemap(INDEX) == SitemapInfo(
        urls=[],
        sitemaps=["https://example.test/sitemap-1.xml", "https://example.test/sitemap-2.xml"],
    )


def test_prefixed_namespace() -> None:
    doc = '<sm:urlset xmlns:sm="x"><sm:url><sm:loc>http://h/a</sm:loc></sm:url></sm:urlset>'
    assert parse_sitemap(doc).urls == ["http://h/a"]


def test_entities_are_not_expanded() -> None:
    doc = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">
<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<urlset><url><loc>http://h/&lol2;</loc></url><url><loc>http://h/&xxe;</loc></url></urlset>"""
    assert parse_sitemap(doc).urls == ["http://h/&lol2;", "http://h/&xxe;"]


def test_cap_and_plain_text() -> None:
    many = "<urlset>" + "".join(f"<url><loc>http://h/{i}</loc></url>" for i in range(1500))
    assert len(parse_sitemap(many + "</urlset>").urls) == MAX_URLS
    assert parse_sitemap("http://h/a\nhttps://h/b\nnot a url\n").urls == [
        "http://h/a",
        "https://h/b",
    ]


def test_not_a_sitemap() -> None:
    assert parse_sitemap("") == SitemapInfo()
    assert parse_sitemap("<html><body><a href='/x'>x</a></body></html>") == SitemapInfo()
    assert parse_sitemap("<url><loc>http://h/unterminated") == SitemapInfo()
    assert parse_sitemap("<loc>http://h/orphan</loc>") == SitemapInfo()
