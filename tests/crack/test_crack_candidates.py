"""Candidate sources: built-in defaults, the packaged list, files, harvested words."""

from __future__ import annotations

from pathlib import Path

from apigrade.crack import builtin_defaults, harvest_words, package_wordlist
from apigrade.crack.candidates import WordlistFile, package_wordlist_path
from apigrade.crack.defaults import DEFAULT_SECRETS


def test_builtin_defaults() -> None:
    words = builtin_defaults()
    assert len(DEFAULT_SECRETS) >= 60 and len(words) == len(set(DEFAULT_SECRETS))
    for expected in ("dev", "super secret key", "you-will-never-guess", "keyboard cat"):
        assert expected.encode() in words.words


def test_package_wordlist_is_a_dependency_not_a_copy() -> None:
    path = package_wordlist_path()
    assert path is not None and path.is_file()
    assert "flask_unsign_wordlist" in str(path)
    words = package_wordlist()
    assert len(words) > 50_000
    # Lines are Python literals; quotes are removed.
    assert not any(w.startswith(b"'") and w.endswith(b"'") for w in words.words[:1000])


def test_wordlist_file_chunks_are_line_aligned(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_bytes(b"".join(b"line%d\n" % i for i in range(50_000)))
    source = WordlistFile(path)
    chunks = list(source.chunks(1_000))
    assert len(chunks) > 10
    assert all(isinstance(c, bytes) and c.endswith(b"\n") for c in chunks)
    assert b"".join(c for c in chunks if isinstance(c, bytes)) == path.read_bytes()
    assert source.total() == 50_000
    assert next(iter(source)) == b"line0"


def test_harvest_words_variants() -> None:
    page = (
        "<html><head><title>Acme Billing Portal</title>"
        '<meta property="og:site_name" content="AcmePay"></head>'
        "<body><h1>Welcome</h1></body></html>"
    )
    spec = '{"openapi": "3.0.0", "info": {"title": "Inventory Service", "version": "1"}}'
    words = harvest_words([page, spec], ["api.acme-corp.example", "127.0.0.1"])
    for expected in (
        "acme-corp", "acme-corp-secret", "acme-corp_secret_key", "Acme Billing Portal",
        "acmebillingportal", "acme_billing_portal_secret_key", "AcmePay", "acmepay-secret",
        "Acmepay", "inventory-service", "InventoryService", "billing", "billing_secret",
    ):
        assert expected in words, expected
    assert "127.0.0.1" not in words and "api" not in words and "welcome" not in words
    assert len(words) == len(set(words))


def test_harvest_is_bounded() -> None:
    titles = [f"<title>Name {i}</title>" for i in range(5_000)]
    assert len(harvest_words(titles, [])) <= 20_000


def test_harvest_is_linear_on_hostile_pages() -> None:
    import time

    pages = ["<title>" * 30_000, "<h1 " * 40_000, "<meta name='og:title' " * 10_000,
             '{"name": "' * 20_000, "<title>" + "a" * 300_000]
    start = time.perf_counter()
    harvest_words(pages, [])
    assert time.perf_counter() - start < 2
    long_title = harvest_words(["<title>Shop " + "x" * 500 + "</title>"], [])
    assert any(w.startswith("Shop xxx") for w in long_title)  # long titles are cut, not lost
