"""Candidate secrets built from what the target shows: app names, page titles, host names."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable

from apigrade import rx

# Every quantifier is bounded, so hostile pages (thousands of unclosed tags) stay linear.
_TITLE = rx.compile(r"<title\b[^<>]{0,200}>([^<]{1,200})", rx.I)
_H1 = rx.compile(r"<h1\b[^<>]{0,200}>([^<]{1,200})", rx.I)
_META = rx.compile(
    r"<meta\b[^<>]{0,300}?(?:name|property)\s{0,5}=\s{0,5}[\"'](?:application-name|"
    r"og:site_name|og:title|apple-mobile-web-app-title)[\"'][^<>]{0,300}>",
    rx.I,
)
_CONTENT = rx.compile(r"content\s{0,5}=\s{0,5}[\"']([^\"'<>]{1,80})[\"']", rx.I)
_JSON_NAME = rx.compile(
    r"\"(?:title|name|app_name|appName|application|service)\"\s{0,5}:\s{0,5}\"([^\"]{1,80})\""
)
_WORD = rx.compile(r"[A-Za-z0-9]+")
_GENERIC = {
    "www", "api", "app", "apps", "com", "net", "org", "io", "dev", "co", "uk", "de", "local",
    "localhost", "the", "and", "for", "of", "to", "a", "an", "in", "on", "home", "index",
    "page", "welcome", "login", "sign", "not", "found", "error", "internal", "server",
    "swagger", "ui", "docs", "documentation", "redoc", "openapi", "v1", "v2", "v3",
}
_SUFFIXES = ("", "-secret", "_secret", "secret", "-secret-key", "_secret_key", "secretkey",
             "-key", "_key", "key", "-dev", "_dev", "123", "-jwt-secret", "_jwt_secret")
MAX_NAMES = 200
MAX_WORDS = 20_000


def _names_from_text(text: str) -> list[str]:
    found: list[str] = []
    for pat in (_TITLE, _H1):
        found += pat.findall(text[:200_000])
    for tag in _META.findall(text[:200_000]):
        found += _CONTENT.findall(tag)
    found += _JSON_NAME.findall(text[:200_000])
    stripped = text.strip()
    if stripped[:1] in "{[" and len(stripped) <= 1_000_000:
        try:
            doc = json.loads(stripped)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("info"), dict):
            title = doc["info"].get("title")  # OpenAPI / Swagger document
            if isinstance(title, str):
                found.append(title)
    return [" ".join(html.unescape(f).split())[:80] for f in found if f.strip()]


_SCHEME = rx.compile(r"^[a-z][a-z0-9+.-]*://")
_IP_HOST = rx.compile(r"[\d.]+|\[[0-9a-f:]+\]")


def _names_from_host(host: str) -> list[str]:
    host = host.strip().lower().rstrip(".")
    host = _SCHEME.sub("", host).split("/")[0].split(":")[0]
    if not host or _IP_HOST.fullmatch(host):
        return []
    labels = [label for label in host.split(".") if label]
    names = [host, ".".join(labels[-2:])] if len(labels) >= 2 else [host]
    names += [label for label in labels if label not in _GENERIC]
    return names


def _forms(name: str) -> list[str]:
    """Spellings of one name: as is, joined, dashed, snake, camel, lower, Capitalised."""
    words = _WORD.findall(name)
    if not words:
        return []
    lower = [w.lower() for w in words]
    forms = [
        name, name.lower(), "".join(lower), "-".join(lower), "_".join(lower),
        "".join(w.capitalize() for w in lower), " ".join(lower),
    ]
    if len(words) == 1:
        forms += [words[0].capitalize(), words[0].upper()]
    else:
        forms += [w for w in lower if w not in _GENERIC and len(w) > 2]
    return forms


def harvest_words(texts: Iterable[str], hostnames: Iterable[str] = ()) -> list[str]:
    """Candidate secrets from page titles, app names (HTML, JSON, OpenAPI ``info.title``) and
    host names, each with variants (``name``, ``name-secret``, ``name_secret_key``,
    lower-case, Capitalised, ...). Deduplicated, at most 20,000 words."""
    names: list[str] = []
    for host in hostnames:
        names += _names_from_host(host)
    for text in texts:
        names += _names_from_text(text)
    bases: dict[str, None] = {}
    for name in dict.fromkeys(names):
        if len(bases) >= MAX_NAMES:
            break
        for form in _forms(name):
            if form and form.lower() not in _GENERIC:
                bases.setdefault(form, None)
    out: dict[str, None] = {}
    for base in bases:
        for suffix in _SUFFIXES:
            out.setdefault(base + suffix, None)
            if base.isupper() and suffix:
                out.setdefault(base + suffix.upper(), None)
    return list(out)[:MAX_WORDS]
