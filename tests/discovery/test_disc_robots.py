"""robots.txt parsing."""

from __future__ import annotations

from apigrade.discovery.robots import RobotsInfo, parse_robots

ROBOTS = """\ufeff# comment
User-agent: *
Disallow: /admin/
Disallow: /private$
Allow: /public/*.html
Disallow: /*.php$
Disallow: /
Disallow:
disallow: /admin/   # duplicate, lower-case key
Disallow: relative/path
Crawl-delay: 10

User-agent: Googlebot
Allow: /search?q=*
Sitemap: https://example.test/sitemap_index.xml
sitemap: /other-sitemap.xml
Sitemap:
"""


def test_paths_and_sitemaps() -> None:
    info = parse_robots("https://example.test/app/", ROBOTS)
    assert info.paths == [
        "https://example.test/admin/",
        "https://example.test/private",
        "https://example.test/public/",
        "https://example.test/search?q=",
    ]
    assert info.sitemaps == [
        "https://example.test/sitemap_index.xml",
        "https://example.test/other-sitemap.xml",
    ]


def test_not_robots() -> None:
    assert parse_robots("http://h/", "") == RobotsInfo()
    assert parse_robots("http://h/", "<html><body>Hello</body></html>") == RobotsInfo()
    assert parse_robots("http://h/", "Disallow: javascript:alert(1)") == RobotsInfo()


def test_crlf_and_whitespace() -> None:
    info = parse_robots("http://h/", "User-agent: *\r\nDisallow:   /x/y  \r\n\tAllow : /z\r\n")
    assert info.paths == ["http://h/x/y", "http://h/z"]
