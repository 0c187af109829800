"""User-supplied secrets: validated when read, recognised whatever their header's name,
and never shown by an error message, whatever the exception."""

from __future__ import annotations

import base64
import json

import pytest

from apigrade.checks.authentication.identities import parse_identity
from apigrade.engine.scanner import ScanOptions
from apigrade.engine.target import Target
from apigrade.errors import UsageError
from apigrade.options import parse_cookie, parse_header
from apigrade.redact import (
    MIN_SECRET_LEN,
    Redactor,
    describe_error,
    mask,
    redact_text,
    remember,
    shown_url,
)
from apigrade.store.sanitize import stored_options

SECRET = "S3cr3tValue-abcdef12"
BAD_VALUES = {
    "non-ASCII": "Bearer SUPERSÉCRET123",
    "CRLF": "SUPERSECRET123\r\nX-Injected: 1",
    "LF": "SUPERSECRET123\nmore",
    "NUL": "SUPERSECRET123\x00",
    "ESC": "SUPERSECRET123\x1b[31m",
    "DEL": "SUPERSECRET123\x7f",
}


# -- validation: one line, names the header, never the value ------------------------------
@pytest.mark.parametrize("kind", sorted(BAD_VALUES))
def test_bad_header_value_is_refused_without_showing_it(kind: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_header(f"X-Client-Secret: {BAD_VALUES[kind]}")
    message = str(info.value)
    assert "X-Client-Secret" in message
    assert "SUPERS" not in message and "\n" not in message and "\r" not in message


@pytest.mark.parametrize("kind", sorted(BAD_VALUES))
def test_bad_cookie_value_is_refused_without_showing_it(kind: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_cookie(f"theme=dark; sid={BAD_VALUES[kind]}")
    message = str(info.value)
    assert "sid" in message and "SUPERS" not in message and "\n" not in message


@pytest.mark.parametrize(
    "raw",
    [
        "Authorization Bearer SUPERSECRET123: x",  # a space in the name
        "X-Key=SUPERSECRET123: x",  # '=' is not a token character
        "Naïve-SUPERSECRET123: x",  # non-ASCII name
        "X-\x1bSUPERSECRET123: x",
    ],
)
def test_bad_header_name_is_refused_without_showing_what_follows(raw: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_header(raw)
    message = str(info.value)
    assert message.startswith("bad header ") and "SUPERSECRET123" not in message
    assert "\x1b" not in message


def test_header_without_colon_shows_nothing_of_it() -> None:
    with pytest.raises(UsageError) as info:
        parse_header("Bearer SUPERSECRET123")
    assert "SUPERSECRET123" not in str(info.value) and "no colon" in str(info.value)


def test_good_headers_and_cookies_pass_unchanged() -> None:
    assert parse_header("X-Client-Secret:  abc def\t") == ("X-Client-Secret", "abc def")
    assert parse_header("apikey: a=b;c/d+e") == ("apikey", "a=b;c/d+e")
    assert parse_cookie(" sid=abc; theme=dark ") == "sid=abc; theme=dark"
    assert parse_cookie(None) is None


def test_identity_headers_use_the_shared_parser() -> None:
    assert parse_identity("bob:Authorization: Bearer x1") == ("bob", ("Authorization", "Bearer x1"))
    with pytest.raises(UsageError) as info:
        parse_identity(f"bob:Authorization: {BAD_VALUES['non-ASCII']}")
    assert "bob" in str(info.value) and "SUPERS" not in str(info.value)


# -- what is a secret --------------------------------------------------------------------
def test_every_header_value_is_a_secret_whatever_its_name() -> None:
    red = Redactor.for_options(
        [
            ("X-Client-Secret", "client-secret-1"),
            ("apikey", "apikey-value-2"),
            ("X-Anything", "Token tok-value-3"),
        ],  # fmt: skip
        None,
    )
    text = red.text("a client-secret-1 b apikey-value-2 c tok-value-3")
    for value in ("client-secret-1", "apikey-value-2", "tok-value-3"):
        assert value not in text and mask(value) in text


def test_basic_credential_and_its_decoded_pieces_are_secrets() -> None:
    cred = base64.b64encode(b"alice:BasicPass-93kd").decode()
    red = Redactor.for_options([("Authorization", f"Basic {cred}")], None)
    text = red.text(f"{cred} / alice:BasicPass-93kd / BasicPass-93kd / user alice")
    assert cred not in text and "BasicPass-93kd" not in text
    assert text.endswith("user alice")  # the user name alone is not masked


def test_cookie_values_and_url_userinfo_are_secrets() -> None:
    red = Redactor.for_options(
        [], "sid=CookieSecret-1; theme=dark", ["http://specuser:Sp%40cPass-4@127.0.0.1:1/x"]
    )
    basic = base64.b64encode(b"specuser:Sp@cPass-4").decode()
    text = red.text(f"CookieSecret-1 dark Sp%40cPass-4 Sp@cPass-4 {basic}")
    for value in ("CookieSecret-1", "Sp%40cPass-4", "Sp@cPass-4", basic):
        assert value not in text, value


def test_reflected_spellings_are_masked_too() -> None:
    value = "ab+cd/ef&gh<ij>"
    red = Redactor.for_options([("X-Secret", value)], None)
    for spelling in ("ab%2Bcd%2Fef%26gh%3Cij%3E", "ab+cd/ef&amp;gh&lt;ij&gt;"):
        assert spelling not in red.text(f"body: {spelling}")


def test_short_values_are_not_masked_in_free_text() -> None:
    red = Redactor.for_options([("X-Debug", "1"), ("X-Mode", "abc")], "a=x")
    assert red.secrets == ()
    assert MIN_SECRET_LEN == 4
    assert Redactor.for_options([("X-Mode", "abcd")], None).text("abcd") == mask("abcd")


def test_content_negotiation_values_stay_readable() -> None:
    red = Redactor.for_options([("Accept", "application/json")], None)
    assert red.text("Content-Type: application/json") == "Content-Type: application/json"


def test_scan_redactor_covers_identities_and_spec() -> None:
    opts = ScanOptions(
        headers=[("X-Client-Secret", "client-secret-1")],
        cookie="sid=CookieSecret-1",
        identities={"bob": [("Authorization", "Bearer IdentityTok-7")]},
        spec="http://u:SpecPass-44@127.0.0.1:9/openapi.json",
    )
    red = Redactor.for_scan(opts)
    text = red.text("client-secret-1 CookieSecret-1 IdentityTok-7 SpecPass-44")
    assert all(v not in text for v in ("client-secret-1", "CookieSecret-1", "IdentityTok-7",
                                       "SpecPass-44"))  # fmt: skip
    stored = json.dumps(stored_options(opts))
    assert "SpecPass-44" not in stored and "127.0.0.1:9/openapi.json" in stored


# -- error text ---------------------------------------------------------------------------
def test_describe_error_never_uses_the_repr() -> None:
    try:
        BAD_VALUES["non-ASCII"].encode("ascii")
    except UnicodeEncodeError as exc:
        text = describe_error(exc)
    assert text.startswith("UnicodeEncodeError") and "SUPERS" not in text and "'ascii'" not in text


def test_describe_error_masks_the_scans_secrets_and_url_userinfo() -> None:
    red = Redactor.for_options([("X-Client-Secret", SECRET)], None)
    exc = RuntimeError(f"auth failed for {SECRET} at http://bob:hunter2pw@127.0.0.1/\r\nnext")
    text = describe_error(exc, red)
    assert text.startswith("RuntimeError: auth failed for ")
    assert SECRET not in text and "hunter2pw" not in text and "\n" not in text
    assert mask(SECRET) in text
    assert describe_error(ValueError()) == "ValueError"


def test_values_read_by_the_parser_are_masked_without_a_scan() -> None:
    """The last-resort handlers have no scan: the parser remembered the values."""
    parse_header("X-Remembered: RememberedSecret-55")
    with pytest.raises(UsageError):
        parse_cookie("sid=RememberedBad-66\r\n")
    text = redact_text("RememberedSecret-55 and RememberedBad-66")
    assert "RememberedSecret-55" not in text and "RememberedBad-66" not in text
    remember(["RememberedLater-77"])
    assert "RememberedLater-77" not in describe_error(KeyError("RememberedLater-77"))


def test_url_errors_never_show_userinfo() -> None:
    for url in ("http://bob:UrlPass-1@host:99999/", "ftp://bob:UrlPass-1@host/",
                "http://bob:UrlPass-1@/"):  # fmt: skip
        with pytest.raises(UsageError) as info:
            Target.parse(url)
        assert "UrlPass-1" not in str(info.value) and "***@" in str(info.value)
    assert shown_url("bob:pw@host/x") == "***@host/x"
    assert shown_url("http://h/a@b") == "http://h/a@b"  # '@' in the path is not userinfo


def test_cut_pieces_of_a_secret_are_masked() -> None:
    """A check that shortened a quote before the redactor saw it leaves a piece."""
    secret = "COOKIESECRET99887766"
    red = Redactor.for_options([], f"sid={secret}")
    text = red.text(f'…pre>sid={secret[:15]}"… and …{secret[-11:]} end')
    assert secret[:10] not in text and secret[-8:] not in text
    assert "sid=C" in text and text.endswith(" end")
    assert red.text("COOKIES alone") == "COOKIES alone"  # shorter than PARTIAL_MIN: kept


def test_service_and_mcp_scope_errors_never_show_userinfo() -> None:
    """The service, its dashboard and the MCP server refuse URLs through AllowList."""
    from apigrade.service.scope import AllowList

    allow = AllowList(["127.0.0.1"])
    for url in ("http://bob:ScopePass-1@127.0.0.1:99999/", "gopher://bob:ScopePass-1@h/"):
        with pytest.raises(UsageError) as info:
            allow.check(url)
        assert "ScopePass-1" not in str(info.value)
    assert "ScopePass-1" not in allow.check("http://bob:ScopePass-1@127.0.0.1:8/").url


def test_quoted_and_percent_encoded_values_are_masked_as_decoded() -> None:
    red = Redactor.for_options([("X-Secret", "abc%2Fdef%3D%3D")], 'sid="QuotedCookie-12"')
    text = red.text("abc/def== and QuotedCookie-12")
    assert "abc/def==" not in text and "QuotedCookie-12" not in text
