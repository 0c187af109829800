"""Finding keys offline: every format, every candidate source, one and many processes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from crack_helpers import flask_cookie
from itsdangerous import URLSafeTimedSerializer

from apigrade.crack import (
    CrackProgress,
    WordlistFile,
    Words,
    crack,
    default_candidates,
    parse_token,
)
from apigrade.crack.candidates import Candidates
from apigrade.crack.tokens import SignedToken

FILLER = [f"word{i}" for i in range(3000)]


def token_of(value: str, **kw: object) -> SignedToken:
    token = parse_token(value, **kw)  # type: ignore[arg-type]
    assert token is not None
    return token


@pytest.mark.parametrize("data", [{"user": "bob"}, {"blob": "z" * 800, "ok": True}])
@pytest.mark.parametrize("key", ["s3cret", "correct horse battery staple"])
def test_flask_session_found(data: dict[str, object], key: str) -> None:
    token = token_of(flask_cookie(key, data))
    result = crack(token, [*FILLER, key, "after"])
    assert result.found and result.key == key.encode()
    assert result.key_text == key
    assert result.scheme is not None and result.scheme.salt == "cookie-session"
    assert result.tried >= len(FILLER)


def test_default_lists_find_tutorial_key() -> None:
    token = token_of(flask_cookie("you-will-never-guess"))
    result = crack(token, default_candidates(), processes=1)
    assert result.key == b"you-will-never-guess"


def test_package_wordlist_used() -> None:
    words = default_candidates().sources[1]
    assert isinstance(words, Words) and len(words) > 50_000
    key = words.words[40_000].decode("utf-8", "surrogatepass")
    token = token_of(flask_cookie(key))
    result = crack(token, default_candidates(), processes=2)
    assert result.key == key.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_jwt_found(alg: str) -> None:
    key = "jwt-signing-key-from-the-tutorial!" * 2  # >= 64 bytes: no PyJWT key warning
    token = token_of(jwt.encode({"sub": "9"}, key, algorithm=alg))
    result = crack(token, [*FILLER, key])
    assert result.key == key.encode()


def test_django_found() -> None:
    django = pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        settings.configure(SECRET_KEY="django-insecure-tutorial", USE_TZ=True)
    django.setup()
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from django.core import signing

    key = settings.SECRET_KEY
    words = [*FILLER, key]
    values = [
        (signing.dumps({"user": 1}, key=key), None),
        (signing.dumps(list(range(200)), key=key, compress=True), None),
        (signing.get_cookie_signer(salt="theme").sign("dark"), "theme"),
        (signing.get_cookie_signer(salt="django.contrib.messages").sign_object(["m"]), "messages"),
        (signing.Signer(key=key, algorithm="sha1").sign("legacy"), None),
    ]
    store = SessionStore()
    store["user"] = "admin"
    store.save()
    values.append((store.session_key, "sessionid"))
    for value, name in values:
        token = token_of(value, name=name)
        result = crack(token, words)
        assert result.key == key.encode(), (value, name)


def test_flask_login_and_wtf_found() -> None:
    import hashlib
    import hmac

    remember = f"5|{hmac.new(b'remember', b'5', hashlib.sha512).hexdigest()}"
    assert crack(token_of(remember), [*FILLER, "remember"]).key == b"remember"
    csrf = URLSafeTimedSerializer("csrfkey", salt="wtf-csrf-token").dumps("a" * 40)
    assert crack(token_of(csrf), [*FILLER, "csrfkey"]).key == b"csrfkey"


def test_unknown_salt_found_among_common_salts() -> None:
    value = URLSafeTimedSerializer("mailkey", salt="password-reset").dumps("bob@example.test")
    result = crack(token_of(value), ["a", "b", "mailkey"])
    assert result.key == b"mailkey"
    assert result.scheme is not None and result.scheme.salt == "password-reset"


def test_random_keys_not_found() -> None:
    for value in (
        flask_cookie(secrets.token_hex(32)),
        jwt.encode({"a": 1}, secrets.token_hex(32), algorithm="HS256"),
    ):
        result = crack(token_of(value), default_candidates(), processes=2)
        assert not result.found and result.key is None and result.scheme is None
        assert result.tried > 50_000


def test_long_and_odd_keys() -> None:
    """Keys longer than the hash block (HMAC hashes them first), non-ASCII and bytes."""
    for key in ("k" * 200, "ключ-é", "tab\tinside"):
        token = token_of(flask_cookie(key))
        assert crack(token, ["x" * 300, key]).key == key.encode()
    token = token_of(jwt.encode({"a": 1}, "L" * 300, algorithm="HS512"))
    assert crack(token, ["L" * 299, "L" * 300]).key == b"L" * 300


def test_user_wordlist_streamed_multiprocess(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    lines = [f"cand{i}" for i in range(60_000)]
    lines[45_000] = "hidden-key"
    # CRLF endings, blank lines and no final newline must all be handled.
    path.write_bytes(("\r\n".join(lines[:30_000]) + "\r\n\n\n" + "\n".join(lines[30_000:])).encode())
    token = token_of(flask_cookie("hidden-key"))
    seen: list[CrackProgress] = []
    result = crack(token, WordlistFile(path), processes=2, chunk_lines=5_000,
                   progress=seen.append, progress_every=0)
    assert result.key == b"hidden-key" and result.processes == 2
    assert seen and seen[-1].total == 60_002  # raw lines, blank ones included
    miss = crack(token_of(flask_cookie("not-there")), WordlistFile(path), processes=2,
                 chunk_lines=5_000)
    assert not miss.found and miss.tried == 60_000


def test_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_bytes(b"a\nb\nlastkey\r")
    assert crack(token_of(flask_cookie("lastkey")), WordlistFile(path)).key == b"lastkey"


def test_early_stop() -> None:
    """A hit near the start of a huge lazy source stops the search: little of it is read."""
    consumed = 0

    def endless() -> Iterator[bytes]:
        nonlocal consumed
        for i in range(10_000_000):
            consumed += 1
            yield b"early" if i == 1_000 else b"w%d" % i

    result = crack(token_of(flask_cookie("early")), endless(), processes=2, chunk_lines=2_000)
    assert result.key == b"early"
    assert consumed < 50_000


def test_candidates_chain_dedupes_in_memory_sources(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_text("x\ny\n")
    chain = Candidates(Words(["a", "b", "a"]), Words(["b", "c"]), WordlistFile(path))
    chunks = list(chain.chunks(100))
    assert chunks[:2] == [[b"a", b"b"], [b"c"]]
    assert chain.total() == 2 + 2 + 2


def test_progress_reports_rate() -> None:
    seen: list[CrackProgress] = []
    crack(token_of(flask_cookie("zz")), FILLER, progress=seen.append)
    assert seen[-1].tried == len(FILLER) and seen[-1].rate > 0


def test_called_from_a_thread_uses_a_safe_start_method() -> None:
    """From a threaded caller (e.g. the scanner's worker thread) workers are not forked from
    the threaded process; the search still runs on several processes."""
    import threading

    from apigrade.crack.cracker import _context

    results: list[object] = []
    methods: list[str] = []

    def job() -> None:
        methods.append(_context().get_start_method())
        token = token_of(flask_cookie("threaded"))
        results.append(crack(token, [*FILLER, "threaded"], processes=2, chunk_lines=1_000))

    worker = threading.Thread(target=job)
    worker.start()
    worker.join(60)
    assert methods == ["forkserver"]
    (result,) = results
    assert getattr(result, "key", None) == b"threaded"
    assert getattr(result, "processes", None) == 2


def test_worker_failure_is_reported() -> None:
    import dataclasses

    from apigrade.crack import CrackError

    token = token_of(flask_cookie("x"))
    broken = dataclasses.replace(token.schemes[0], digest="md5")  # no batch engine for md5
    token = dataclasses.replace(token, schemes=(broken,))
    with pytest.raises(CrackError, match="KeyError"):
        crack(token, FILLER, processes=2, chunk_lines=1_000)
    with pytest.raises(KeyError):
        crack(token, FILLER, processes=1)
