"""--allow patterns: the service refuses every target that no pattern names."""

from __future__ import annotations

import pytest

from apigrade.errors import UsageError
from apigrade.service.auth import Auth
from apigrade.service.scope import AllowList

pytestmark = pytest.mark.fleet


@pytest.mark.parametrize(
    ("patterns", "url", "allowed"),
    [
        ([], "http://127.0.0.1/", False),
        (["api.example.com"], "https://API.example.com:8443/v1", True),
        (["api.example.com"], "https://api.example.com.evil.test/", False),
        (["*.example.com"], "https://a.b.example.com/", True),
        (["*.example.com"], "https://example.com/", False),
        (["*.example.com"], "https://badexample.com/", False),
        (["api.example.com:8443"], "https://api.example.com:8443/", True),
        (["api.example.com:8443"], "https://api.example.com/", False),
        (["127.0.0.1:*"], "http://127.0.0.1:5000/", True),
        (["10.0.0.0/8"], "http://10.2.3.4/", True),
        (["10.0.0.0/8"], "http://169.254.169.254/latest/meta-data/", False),
        (["10.0.0.0/8"], "http://ten.example.com/", False),
        (["[::1]:8080"], "http://[::1]:8080/", True),
        (["::1/128"], "http://[::1]:9/", True),
        (["*"], "http://anything.test/", True),
    ],
)
def test_allow_patterns(patterns: list[str], url: str, allowed: bool) -> None:
    assert AllowList(patterns).allows(url) is allowed


@pytest.mark.parametrize("bad", ["http://x/", "a*.example.com", "x:99999", "10.0.0.0/99", "",
                                 "[::1"])
def test_bad_patterns(bad: str) -> None:
    with pytest.raises(UsageError):
        AllowList([bad])


def test_refusal_message_names_host_and_port() -> None:
    with pytest.raises(UsageError, match=r"10\.0\.0\.1:80 is not allowed"):
        AllowList(["127.0.0.1"]).check("http://10.0.0.1/")


def test_key_check_and_csrf_tokens() -> None:
    auth = Auth("k" * 16, max_failures=2)
    assert auth.key_ok("k" * 16) and not auth.key_ok("k" * 15) and not auth.key_ok(None)
    session = auth.new_session()
    assert auth.session_ok(session) and not auth.session_ok("forged")
    token = auth.csrf_token(session)
    assert auth.csrf_ok(session, token) and not auth.csrf_ok(auth.new_session(), token)
    auth.end_session(session)
    assert not auth.session_ok(session)
    auth.failed("1.2.3.4")
    assert not auth.throttled("1.2.3.4")
    auth.failed("1.2.3.4")
    assert auth.throttled("1.2.3.4") and not auth.throttled("5.6.7.8")
