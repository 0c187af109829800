"""Every pattern that runs on target text is RE2 (linear), and stays fast on hostile bodies.

- No module of the package imports Python's ``re`` unless it is on ``ALLOWED`` below, with
  the reason its patterns never see target-controlled text.
- Every pattern in ``apigrade.rx``'s registry (all modules imported, all signature files
  loaded) is fed ~1 MB bodies built from repeated prefixes of its own literals, plus the
  usual pathological shapes, through ``search`` and the bounded ``finditer``. The bound per
  pattern and body is generous (a shared, noisy machine); ``bench/patterns/`` measures the
  real figures.
- The functions that complete a pattern with a Python check (look-arounds RE2 lacks) get
  the same bodies.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import time
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import apigrade
from apigrade import rx
from apigrade.checks.signature import load_file

SRC = Path(apigrade.__file__).parent
SIZE = 1_000_000  # characters per hostile body
BOUND_S = 2.0  # per pattern and body (search + bounded finditer); measured: bench/patterns

#: Modules that may keep Python's ``re``: their patterns never see what a target sends.
ALLOWED = {
    "redact.py": "the user's own header values, and exception messages capped at 2,000 chars",
    "options.py": "validates the user's own -H / -b names and values",
    "fleet/targets.py": "the user's own targets file",
}

# -- helpers ---------------------------------------------------------------------------------


def modules_importing_re(root: Path) -> dict[str, int]:
    """``relative path -> line`` of every module under ``root`` that imports ``re``."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(n in ("re", "regex", "sre_compile", "sre_parse") for n in names):
                found[path.relative_to(root).as_posix()] = getattr(node, "lineno", 0)
                break
    return found


def load_everything() -> tuple[rx.Pattern, ...]:
    """Import every module of the package and load every signature file; the registry."""
    for info in pkgutil.walk_packages(apigrade.__path__, "apigrade."):
        if info.name.endswith("__main__") or ".migrations" in info.name:
            continue  # runs the CLI / needs an Alembic context
        importlib.import_module(info.name)
    for toml in sorted((SRC / "checks" / "signatures").glob("*.toml")):
        load_file(toml)
    return rx.registered()


def _sample(tree: object, depth: int = 0) -> str:
    """A string that (nearly) matches a parsed pattern: its literals, in order."""
    if depth > 30:
        return ""
    out = []
    for op, av in tree:  # type: ignore[attr-defined]
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(av) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_class_sample(av))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av
            count = min(max(lo, 1), 64) if hi != 0 else 0
            out.append(_sample(sub, depth + 1) * count)
        elif name == "SUBPATTERN":
            out.append(_sample(av[-1], depth + 1))
        elif name == "BRANCH":
            out.append(_sample(av[1][0], depth + 1))
        elif name == "AT":
            out.append("\n" if "LINE" in str(av) else "")
        elif name == "CATEGORY":
            out.append(_category_sample(str(av)))
        elif name == "GROUPREF":
            out.append("a")
        # ASSERT, ASSERT_NOT, GROUPREF_EXISTS...: nothing
    return "".join(out)


def _category_sample(name: str) -> str:
    return {"CATEGORY_DIGIT": "1", "CATEGORY_WORD": "a", "CATEGORY_SPACE": " ",
            "CATEGORY_NOT_DIGIT": "a", "CATEGORY_NOT_WORD": " ",
            "CATEGORY_NOT_SPACE": "a"}.get(name, "a")  # fmt: skip


def _class_sample(items: list[tuple[object, object]]) -> str:
    if items and str(items[0][0]) == "NEGATE":
        excluded = "".join(_class_sample([it]) for it in items[1:])
        return next(c for c in "a0 x-Z" if c not in excluded)
    for op, av in items:
        if str(op) == "LITERAL":
            return chr(av)  # type: ignore[arg-type]
        if str(op) == "RANGE":
            return chr(av[0])  # type: ignore[index]
        if str(op) == "CATEGORY":
            return _category_sample(str(av))
    return "a"


def literal_sample(pattern: str, flags: int) -> str:
    """A near-match of ``pattern``; literal runs of its text when Python cannot parse it."""
    sre = importlib.import_module("re._parser")  # Python's own parser, to read the structure
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _sample(sre.parse(pattern.replace(r"\z", r"\Z"), flags))
    except (re.error, RecursionError, ValueError, StopIteration):
        return "".join(re.findall(r"[A-Za-z0-9 _/:=<>\"'-]+", pattern))


def repeat_to(piece: str, size: int = SIZE) -> str:
    return (piece * (size // max(len(piece), 1) + 1))[:size] if piece else ""


SHAPES: dict[str, str] = {
    "jwt-eyJ": repeat_to("-eyJ"),
    "one-char": "a" * SIZE,
    "lt": "<" * SIZE,
    "quote": '"' * SIZE,
    "equals": "=" * SIZE,
    "spaces": " " * SIZE,
    "newlines": "\n" * SIZE,
    "a-dot": repeat_to("a."),
    "brackets": "[" * SIZE,
    "digits": "1" * SIZE,
    "long-line-mixed": repeat_to("aZ09_-/:."),
    "tags": repeat_to("<a "),
    "non-ascii": repeat_to("é€𝄞"),
    "non-ascii-mixed": repeat_to("aé<\"="),
}


def hostile_bodies(pattern: rx.Pattern) -> Iterator[tuple[str, str]]:
    """(name, ~1 MB body): prefixes of the pattern's own literals repeated, then SHAPES."""
    sample = literal_sample(pattern.pattern, pattern.flags)
    cuts = sorted({len(sample), len(sample) - 1, len(sample) // 2, 2 * len(sample) // 3} - {0})
    for cut in cuts:
        if cut > 0:
            yield f"prefix[:{cut}]", repeat_to(sample[:cut])
    if sample:
        yield "prefix+space", repeat_to(sample + " ")
    yield from SHAPES.items()


def _search_and_iterate(pattern: rx.Pattern, body: str) -> None:
    """How the code uses patterns: a search, and the bounded finditer."""
    pattern.search(body)
    for _ in pattern.finditer(body):
        pass


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


PATTERNS = load_everything()
TIMES: dict[str, tuple[float, str]] = {}


# -- the allow-list --------------------------------------------------------------------------


def test_only_allowed_modules_import_re() -> None:
    found = modules_importing_re(SRC)
    unexpected = {path: line for path, line in found.items() if path not in ALLOWED}
    assert not unexpected, (
        f"these modules import Python's re (backtracking) instead of apigrade.rx: {unexpected}; "
        "compile their patterns with apigrade.rx, or add them to ALLOWED with the reason "
        "their patterns never see target text"
    )
    stale = sorted(set(ALLOWED) - set(found))
    assert not stale, f"ALLOWED lists modules that no longer import re: {stale}"


def test_the_import_scan_sees_every_form_of_import(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "a.py").write_text("import os, re\n")
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from re import compile\n")
    (tmp_path / "c.py").write_text("from apigrade import rx\nimport regexish\nx = 're'\n")
    (tmp_path / "d.py").write_text("from . import re\n")  # a sibling module named re
    assert modules_importing_re(tmp_path) == {"a.py": 1, "pkg/b.py": 2}


# -- rx behaves like re where the project relies on it ---------------------------------------

PARITY = [
    (r"\d+", 0, "a12b3 é4"),
    (r"x*", 0, "axxbx"),
    (r"(a)|b", 0, "abcab"),
    (r"(?P<k>\w+)=(?P<v>[^;]*)", 0, "a=1; b=é2;c="),
    (r"^\s*at (\S+)", rx.M, "x\n\xa0 at f\n  at é\u3000g\n"),
    (r"<b>(.*?)</b>", rx.S | rx.I, "<B>x\ny</b><b>é</b>"),
    (r"end\Z", 0, "the end"),
    (r"\u00e9+", 0, "eééé"),
    (r"", 0, "aé"),
    (r"[^<]+", 0, "a<é€𝄞<b"),
]


@pytest.mark.parametrize(("pattern", "flags", "text"), PARITY)
def test_rx_matches_like_re(pattern: str, flags: int, text: str) -> None:
    ours, theirs = rx.compile(pattern, flags, register=False), re.compile(pattern, flags)
    assert [m.span() for m in ours.finditer(text)] == [m.span() for m in theirs.finditer(text)]
    assert ours.findall(text) == theirs.findall(text)
    assert ours.split(text) == theirs.split(text)
    assert ours.sub(lambda m: "<" + m.group(0) + ">", text) == theirs.sub(
        lambda m: "<" + m.group(0) + ">", text
    )
    for pos in range(len(text) + 1):
        mine, ref = ours.search(text, pos), theirs.search(text, pos)
        assert (mine and (mine.span(), mine.groups())) == (ref and (ref.span(), ref.groups()))
    first = ours.search(text)
    if first is not None and ours.groupindex:
        assert first.groupdict() == theirs.search(text).groupdict()  # type: ignore[union-attr]


def test_rx_differences_from_re_are_the_documented_ones() -> None:
    assert rx.compile(r"a$", register=False).search("a\n") is None  # re: matches before "\n"
    for ascii_only in (r"\w", r"\d"):  # re: Unicode letters and digits too
        assert re.search(ascii_only, "é٣") and not rx.compile(ascii_only, register=False).search("é٣")
    with pytest.raises(rx.PatternError, match="template"):
        rx.compile("(a)", register=False).sub(r"\1", "a")


def test_lone_surrogates_are_matched_as_replacement_characters() -> None:
    text = "a\udc80b"  # an undecodable byte, as surrogateescape leaves it
    m = rx.compile(r"a(.)b", register=False).search(text)
    assert m is not None and m.group(1) == "\udc80" and m.span() == (0, 3)
    assert rx.replace_surrogates(text) == "a\ufffdb"
    assert rx.replace_surrogates(text, "") == "ab"
    assert rx.replace_surrogates("plain é") == "plain é"


def test_finditer_takes_at_most_limit_matches() -> None:
    pattern = rx.compile("a", register=False)
    assert len(list(pattern.finditer("a" * 50, limit=7))) == 7
    assert len(pattern.findall("a" * 50, limit=None)) == 50
    assert len(pattern.findall("a" * (rx.DEFAULT_LIMIT + 5))) == rx.DEFAULT_LIMIT
    assert pattern.sub("b", "aaaa", count=2) == "bbaa"


def test_accept_resumes_after_the_start_of_a_refused_match() -> None:
    key = rx.compile(r"\b(AIza[0-9A-Za-z_\-]{6})", register=False)

    def not_followed_by_key_char(m: rx.Match) -> bool:
        after = m.string[m.end(1) : m.end(1) + 1]
        return not (after.isalnum() or after in "_-")

    for text in ("AIza12345-AIzaabcdef ok", "é AIza12345-AIzaabcdef €"):
        found = [m.group(1) for m in key.finditer(text, accept=not_followed_by_key_char)]
        assert found == ["AIzaabcdef"]  # inside the refused one: found as re's (?!...) does
        assert key.search(text, accept=not_followed_by_key_char).group(1) == "AIzaabcdef"  # type: ignore[union-attr]
    assert key.search("AIza1234567", accept=not_followed_by_key_char) is None


def test_module_patterns_are_registered_with_their_place() -> None:
    first, again = (rx.compile(r"registered-here") for _ in range(2))
    assert first is again  # one definition, compiled once
    assert first in rx.registered()
    assert first.where.startswith(f"{__name__}:")
    run_time = rx.compile(r"built-from-a-spec", register=False)
    assert run_time not in rx.registered()


# -- the registry ----------------------------------------------------------------------------


def test_registry_holds_the_patterns_of_every_kind_of_module() -> None:
    where = {p.where for p in PATTERNS}
    for expected in (
        "apigrade.checks.data_exposure.secrets:",
        "apigrade.fingerprint:",
        "apigrade.discovery.html:",
        "apigrade.crack.harvest:",
        "apigrade.report.escape:",
        "exposed_files.toml check #",
        "inventory_debug.toml check #",
    ):
        assert any(w.startswith(expected) for w in where), expected
    assert len(PATTERNS) > 150


def test_a_pattern_re2_cannot_express_fails_when_compiled() -> None:
    for bad in (r"(a)\1", r"x(?=y)", r"(?<!a)b", r"a{1,2000}"):
        with pytest.raises(rx.PatternError, match="RE2 cannot compile"):
            rx.compile(bad, register=False)
    with pytest.raises(rx.PatternError):
        rx.compile("a b", rx.X, register=False)


def test_a_signature_regex_re2_cannot_express_fails_loading(tmp_path: Path) -> None:
    from apigrade.checks.registry import RegistryError

    meta = (
        '[[check]]\nid = "files.rx-test"\ntitle = "t"\ncategory = "misconfiguration"\n'
        'severity = "low"\nconfidence = "firm"\ncwe = 1\nowasp = "API8:2023"\n'
        'description = "d"\nremediation = "r"\nreferences = []\npaths = ["/x"]\n'
        '[[check.matchers]]\ntype = "regex"\n'
    )
    good = tmp_path / "good.toml"
    good.write_text(meta + "regex = ['^SECRET=(\\\\w+)']\n")
    assert load_file(good)
    bad = tmp_path / "bad.toml"
    bad.write_text(meta + "regex = ['SECRET=(?!x)']\n")
    with pytest.raises(RegistryError, match="bad.toml check #1: RE2 cannot compile"):
        load_file(bad)


@pytest.mark.parametrize("pattern", PATTERNS, ids=[f"{p.where}" for p in PATTERNS])
def test_pattern_is_fast_on_hostile_bodies(pattern: rx.Pattern) -> None:
    worst = (0.0, "")
    for name, body in hostile_bodies(pattern):
        took = timed(partial(_search_and_iterate, pattern, body))
        worst = max(worst, (took, name))
        assert took < BOUND_S, f"{pattern!r} ({pattern.where}) took {took:.2f}s on {name}"
    TIMES[pattern.where + " " + pattern.pattern[:40]] = worst


# -- rewritten look-arounds and back-references agree with the originals ---------------------
# Each original Python pattern (before RE2) is the oracle, on short generated texts where
# backtracking costs nothing.

ORACLE = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@ORACLE
@given(st.text("<>ab/é", max_size=40))
def test_strip_tags_is_the_bounded_tag_sub(text: str) -> None:
    from apigrade.checks.data_exposure import verbose_errors

    short = 7  # the same code with a small bound, so generated texts reach it
    original = re.sub(r"<[^>]{0,5}>", "", text)
    saved = verbose_errors._MAX_TAG
    verbose_errors._MAX_TAG = short
    try:
        assert verbose_errors._strip_tags(text) == original
    finally:
        verbose_errors._MAX_TAG = saved


@ORACLE
@given(st.from_regex(r"\A[09]{1,3}[6-]?[0-9]{0,2}-?[0-9]{0,4}\Z"))
def test_ssn_shape_is_the_lookahead_pattern(value: str) -> None:
    from apigrade.checks.property_authorization.excessive_data import _ssn

    original = re.compile(r"^(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")
    assert _ssn(value) == bool(original.match(value))
    for ssn in ("123-45-6789", "000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000"):
        assert _ssn(ssn) == bool(original.match(ssn))


@ORACLE
@given(st.text("10.2./3a_ é,", max_size=40))
def test_private_ips_are_the_lookaround_pattern(text: str) -> None:
    from apigrade.checks.data_exposure.secrets import _PRIVATE_IP, _ip_alone

    original = re.compile(
        r"(?<![\w.])((?:10\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01])|192\.168)\.\d{1,3}\.\d{1,3})(?![\w.]|/\d)"
    )
    ours = [m.span(1) for m in _PRIVATE_IP.finditer(text, accept=_ip_alone)]
    assert ours == [m.span(1) for m in original.finditer(text)]
    assert [m.group(1) for m in _PRIVATE_IP.finditer("ip 10.0.0.1, 10.1.2.3/8 x10.0.0.2", accept=_ip_alone)] == ["10.0.0.1"]


@ORACLE
@given(st.text("AIza0b_-. ", max_size=60))
def test_key_ends_are_the_lookahead_pattern(text: str) -> None:
    from apigrade.checks.data_exposure.secrets import KINDS

    google = next(k for k in KINDS if k.name == "Google API key")
    short = rx.compile(r"\b(AIza[0-9A-Za-z_\-]{3})", register=False)  # same check, shorter key
    original = re.compile(r"\b(AIza[0-9A-Za-z_\-]{3})(?![0-9A-Za-z_\-])")
    assert [m.span(1) for m in short.finditer(text, accept=google.accept)] == [
        m.span(1) for m in original.finditer(text)
    ]


@ORACLE
@given(st.text("SECRET_KEY=' \n\"x", max_size=40))
def test_config_assignment_is_the_lookahead_pattern(text: str) -> None:
    from apigrade.checks.input_validation.traversal import config_proof

    original = re.compile(
        r"(?m)^[ \t]*((?:SECRET_KEY|[A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|API_KEY|DATABASE_URI|DATABASE_URL)"
        r"[A-Z0-9_]*|DEBUG)[ \t]*=(?!=)[ \t]*)(['\"]?)([^\r\n'\"]*)"
    )
    m = original.search(text)
    got = config_proof(text)
    if text.lstrip().startswith("<"):
        return
    assert (got is None) == (m is None)
    if m is not None:
        assert got is not None and got.startswith(f"Python config read: {m.group(1)}{m.group(2)}")


@ORACLE
@given(st.text("/:ab_1%F .", max_size=30))
def test_js_path_rules_are_the_lookaround_patterns(path: str) -> None:
    from apigrade.discovery import html

    noise = re.compile(r"//|/\.\.?(?:/|$)|%(?![0-9A-Fa-f]{2})")
    route = re.compile(r"/:([A-Za-z_][A-Za-z0-9_]{0,63})(?=/|$)")
    assert bool(html._JS_NOISE.search(path)) == bool(noise.search(path))
    assert html._JS_ROUTE_PARAM.sub(html._route_param, path) == route.sub(
        lambda g: "/{" + g.group(1) + "}", path
    )


@ORACLE
@given(st.lists(st.sampled_from(["'", '"', "`", "/api/x", "/a:b", " ", "http://h:1/p"]), max_size=8))
def test_js_urls_close_with_their_opening_quote(parts: list[str]) -> None:
    from apigrade.discovery import html

    text = "".join(parts)
    original = re.compile(
        r"""(?P<q>["'`])(?P<u>(?:https?://[A-Za-z0-9.\-]{1,253}(?::[0-9]{1,5})?)?"""
        r"""/[A-Za-z0-9_\-.~%][A-Za-z0-9_\-.~%/:@!,;=&?+]{0,197})(?P=q)"""
    )
    ours = [m.group("u0") or m.group("u1") or m.group("u2") for m in html._JS_URL.finditer(text)]
    assert ours == [m.group("u") for m in original.finditer(text)]


@ORACLE
@given(st.lists(st.sampled_from(["<loc", "<url", "</loc>", ">", "/>", " a='1'", "x", "<locx>", "/"]), max_size=10))
def test_sitemap_tags_are_the_lookahead_pattern(parts: list[str]) -> None:
    from apigrade.discovery import sitemap

    text = "".join(parts)
    original = re.compile(
        r"<(?P<end>/?)\s*(?:(?P<prefix>[A-Za-z_][\w.-]{0,50}):)?(?P<name>urlset|sitemapindex|url|sitemap|loc)"
        r"(?=[\s/>])[^<>]{0,1000}?(?P<selfclose>/?)>",
        re.IGNORECASE,
    )
    ours = [(m.span(), m.group("name"), m.group("selfclose")) for m in sitemap._TAG.finditer(text)]
    assert ours == [(m.span(), m.group("name"), m.group("selfclose")) for m in original.finditer(text)]


def test_framework_pages_with_back_references_are_still_recognised() -> None:
    from apigrade.fingerprint import FpInput, fingerprint

    werkzeug = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>"
    mismatch = werkzeug.replace("<h1>Not Found", "<h1>Gone")
    django = "<title>403 Forbidden</title>\n</head>\n<body>\n<h1>403 Forbidden</h1><p></p>"
    django_mismatch = django.replace("<h1>403 Forbidden", "<h1>Bad Request (400)")

    def names(body: str) -> set[str]:
        return set(fingerprint([FpInput(status=404, body=body)]).frameworks)

    assert "werkzeug" in names(werkzeug) and "werkzeug" not in names(mismatch)
    assert "django" in names(django) and "django" not in names(django_mismatch)


# -- patterns completed by a Python check ----------------------------------------------------


def _wrapped() -> dict[str, Callable[[str], object]]:
    from apigrade.checks.authentication import body_tokens
    from apigrade.checks.data_exposure import secrets, verbose_errors
    from apigrade.checks.input_validation.traversal import config_proof
    from apigrade.checks.misconfiguration.debug_toolbar import config_rows
    from apigrade.discovery import html
    from apigrade.discovery.sitemap import parse_sitemap
    from apigrade.fingerprint import itsdangerous_kind
    from apigrade.report.escape import strip_controls

    return {
        "secrets.find_secrets": lambda t: list(secrets.find_secrets(t, pages=True, json_api=False)),
        "secrets.find_ips": lambda t: list(secrets.find_ips(t)),
        "verbose_errors.find_signs": lambda t: verbose_errors.find_signs(t, "text/html"),
        "traversal.config_proof": config_proof,
        "debug_toolbar.config_rows": config_rows,
        "html.extract_urls_from_script": lambda t: html.extract_urls_from_script("http://x/", t),
        "html._defuse (every comment closer)": html._defuse,
        "authentication.body_tokens (every run)": body_tokens,
        "verbose_errors._redact (sub)": verbose_errors._redact,
        "escape.strip_controls (sub)": strip_controls,
        "sitemap.parse_sitemap": parse_sitemap,
        "fingerprint.itsdangerous_kind": itsdangerous_kind,
    }


WRAPPED_BODIES = {
    **SHAPES,
    "ip-runs": repeat_to("10.0.0.1."),
    "aws-keys": repeat_to("aws_secret_key=" + "A" * 41),
    "google-keys": repeat_to("AIza" + "b" * 36 + "-"),
    "assignments": repeat_to("SECRET_KEY == 'x'\n"),
    "tags-unclosed": repeat_to("<" + "a" * 3000),
    "js-quotes": repeat_to("'/a:"),
    "sitemap-tags": repeat_to("<loc "),
    "token-runs": repeat_to("a" * 24 + ".b "),
    "comment-closers": repeat_to("-->"),
    "userinfo": repeat_to("http://u:p@"),
    "controls": repeat_to("\x1b[0m\x9b"),
}


@pytest.mark.parametrize("name", sorted(_wrapped()))
def test_checked_patterns_are_fast_on_hostile_bodies(name: str) -> None:
    fn = _wrapped()[name]
    for body_name, body in WRAPPED_BODIES.items():
        took = timed(partial(fn, body))
        assert took < BOUND_S, f"{name} took {took:.2f}s on {body_name}"


def test_the_jwt_body_that_took_minutes_is_linear_now() -> None:
    """1 MB of ``-eyJ`` in a page: 6 min 47 s for two requests before RE2 (issue 12)."""
    from apigrade.checks.data_exposure.secrets import find_secrets

    body = repeat_to("-eyJ")
    took = timed(lambda: list(find_secrets(body, pages=True, json_api=False)))
    assert took < BOUND_S
    # and the pattern still finds a real token in the same haystack
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    found = list(find_secrets(body[:5000] + " " + token + " " + body[:5000], pages=True, json_api=False))
    assert [v for k, v in found if k.name == "JWT"] == [token]


def test_a_scan_of_the_jwt_page_is_quick(tmp_path: Path) -> None:
    """Issue 12's page, served on 127.0.0.1 at ``/``: 1 MB of ``-eyJ`` as ``text/html``.

    Before RE2 the scan took 6 min 47 s; measured with RE2: about 2 s.
    """
    import json
    import subprocess
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from hostile_server import HostileServer, send

    page = repeat_to("-eyJ").encode()
    srv = HostileServer(
        behaviours={"/": lambda c: send(c, "200 OK", page, "Content-Type: text/html")}
    )
    out = tmp_path / "r.json"
    try:
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "apigrade", "scan", srv.url, "--timeout", "5",
             "-f", "json", "-o", str(out)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        elapsed = time.monotonic() - start
    finally:
        srv.close()
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["complete"] is True
    assert "/" in srv.paths
    assert elapsed < 60, elapsed


def test_zz_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the slowest pattern×body pairs of this run (after the parametrized test)."""
    if not TIMES:
        pytest.skip("the pattern test did not run")
    top = sorted(TIMES.items(), key=lambda kv: -kv[1][0])[:5]
    with capsys.disabled():
        print(f"\n{len(TIMES)} patterns; slowest (search + finditer, ~1 MB body):")
        for what, (took, body) in top:
            print(f"  {took * 1000:8.1f} ms  {body:16} {what}")
