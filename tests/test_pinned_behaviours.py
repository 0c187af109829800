"""Documented behaviours that no other test pinned (issue 13): each test here fails when
the behaviour changes. Scans run against real Flask apps on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify, make_response, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from apigrade.checks import load_checks
from apigrade.checks.authentication import weak_keys
from apigrade.checks.context import CheckContext, ScanState
from apigrade.checks.encryption.cookie_secure import cookie_secure
from apigrade.crack import KEEP, crack, parse_token
from apigrade.crack.candidates import Candidates, WordlistFile, Words
from apigrade.engine.http import Exchange, Probe, Response
from apigrade.engine.target import Target
from apigrade.model import Finding
from apigrade.redact import mask
from apigrade.report import FORMATS, renderer
from apigrade.scoring import deduction, score_report
from helpers_scan import by_check, scan_app, scan_url

WEAK = "auth.weak-signing-key"
COOKIE_CHECKS = ["cookie.missing-httponly", "cookie.missing-secure"]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m apigrade ARGS`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "apigrade", *args], capture_output=True, text=True,
        timeout=timeout, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip


# -- a weak key on a pickle-serialised session is critical -------------------------------
class _PickleSerializer(URLSafeTimedSerializer):
    """itsdangerous with pickle inside; the cookie value is text, as Werkzeug wants it."""

    def dumps(self, obj: Any, salt: str | bytes | None = None) -> str:
        value = super().dumps(obj, salt)
        return value.decode() if isinstance(value, bytes) else value


class PickleSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session, serialised with pickle (as some old apps do)."""

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        return _PickleSerializer(
            app.secret_key, salt=self.salt, serializer=pickle,  # type: ignore[arg-type]
            signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
        )  # fmt: skip


def session_app(key: str, *, pickled: bool) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=key, SESSION_COOKIE_SAMESITE="Lax")
    if pickled:
        app.session_interface = PickleSessions()

    @app.route("/")
    def index() -> Any:
        session.update(user_id=7, role="user")
        return '<!doctype html><title>Shop</title><a href="/api/items">items</a>'

    @app.route("/api/items")
    def items() -> Any:
        return jsonify(items=[])

    return app


def test_weak_key_on_a_pickle_session_is_critical(serve: Callable[..., str]) -> None:
    report = scan_url(serve(session_app("changeme", pickled=True)), only=[WEAK])
    (f,) = by_check(report, WEAK)
    assert (f.severity, f.confidence) == ("critical", "firm")
    assert "pickle" in f.title and "runs code" in f.evidence
    assert report.score <= 39  # a confirmed critical caps the score below 40
    # the same key on a JSON session stays high: the escalation is the pickle's doing
    (json_f,) = by_check(scan_url(serve(session_app("changeme", pickled=False)), only=[WEAK]), WEAK)
    assert (json_f.severity, json_f.confidence) == ("high", "certain")
    assert "pickle" not in json_f.title + json_f.evidence


# -- the forged proof is verified before the report says it verifies ---------------------
def test_forged_proof_is_verified_before_it_is_claimed(monkeypatch: pytest.MonkeyPatch) -> None:
    app = session_app("changeme", pickled=False)
    (good,) = by_check(scan_app(app, only=[WEAK]), WEAK)
    assert "that verifies under this key (not sent)" in good.evidence
    assert "could not be verified" not in good.evidence

    real_forge = weak_keys.forge

    def wrong_key(token: Any, key: Any, payload: Any = KEEP, **kw: Any) -> str:
        scheme = weak_keys.verify_key(token, key)  # the right scheme, signed with another key
        return real_forge(token, f"not-{key}", payload, scheme=scheme)

    for broken in (wrong_key, lambda *_a, **_k: "not-a-token"):
        monkeypatch.setattr(weak_keys, "forge", broken)
        (f,) = by_check(scan_app(app, only=[WEAK]), WEAK)
        assert "a re-signed copy could not be verified locally" in f.evidence
        assert "verifies under this key" not in f.evidence


# -- logout cookies (Max-Age=0, a past Expires) are not flagged --------------------------
def _http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)


LOGOUT_COOKIES = (
    "auth_token=deleted; Max-Age=0; Path=/",
    "remember_token=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
    f"sessionid=bye; Expires={_http_date(datetime.now(UTC) - timedelta(days=1))}; Path=/",
    # Max-Age wins over Expires: this one is a deletion too
    "jwt_session=x; Max-Age=0; Expires=Wed, 01 Jan 2100 00:00:00 GMT; Path=/",
)
LIVE_COOKIE = "login_token=abc123def456; Path=/"  # same (missing) flags, still alive


def logout_app() -> Flask:
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        resp = make_response('<!doctype html><title>t</title><a href="/logout">log out</a>')
        for cookie in (*LOGOUT_COOKIES, LIVE_COOKIE):  # the live one last: order is no excuse
            resp.headers.add("Set-Cookie", cookie)
        return resp

    @app.route("/logout")
    def logout() -> Any:
        resp = make_response('<!doctype html><title>bye</title><a href="/">home</a>')
        for cookie in LOGOUT_COOKIES:
            resp.headers.add("Set-Cookie", cookie)
        return resp

    return app


def test_logout_cookies_are_not_flagged_for_missing_flags(
    scan_both: Callable[..., Any],
) -> None:
    for report in scan_both(logout_app(), only=COOKIE_CHECKS):
        flagged = {(f.check_id, f.parameter) for f in report.findings}
        assert flagged == {
            ("cookie.missing-httponly", "login_token"),
            ("cookie.missing-samesite", "login_token"),
        }, flagged  # fmt: skip


class _Ctx(CheckContext):
    def __init__(self, target: Target) -> None:
        state = ScanState(target=target, engine=None, baseline=None)  # type: ignore[arg-type]
        super().__init__(state, "cookie.missing-secure", lambda _c, _h: None)


def test_logout_cookies_are_not_flagged_for_missing_secure_on_https() -> None:
    load_checks()
    url = "https://api.example.com/logout"
    headers = tuple(("Set-Cookie", c) for c in (*LOGOUT_COOKIES, LIVE_COOKIE))
    ex = Exchange(probe=Probe(url=url), response=Response(200, headers, b""), url=url)
    hits = list(cookie_secure(ex, _Ctx(Target.parse("https://api.example.com/"))))
    assert [h.parameter for h in hits] == ["login_token"]


# -- "largest deduction first" with mixed severities in one check ------------------------
def _f(check: str, sev: str, conf: str, n: int) -> Finding:
    return Finding.model_validate(dict(
        id=f"{check}{n}", check_id=check, title="t", severity=sev, confidence=conf,
        category="misconfiguration", owasp="API8:2023", cwe=489, url=f"http://x/{n}",
    ))  # fmt: skip


def test_largest_deduction_first_with_mixed_severities() -> None:
    # one check: high/tentative 8, medium/certain 8, low/firm 2.4, info 0 -> 8 + 4 + 0.6 + 0
    mixed = [("info", "certain"), ("low", "firm"), ("high", "tentative"), ("medium", "certain")]
    other = _f("b.other", "low", "certain", 9)  # another check: its own decay, 3 points
    for order in itertools.permutations(mixed):
        findings = [_f("a.mixed", s, c, i) for i, (s, c) in enumerate(order)]
        assert deduction(findings) == pytest.approx(12.6)
        assert score_report(findings)[0] == 87  # 87.4; smallest first would give 96
        assert score_report([*findings, other])[0] == 84  # 84.4


def remember_app() -> Flask:
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        resp = make_response('<!doctype html><title>t</title><a href="/api">api</a>')
        life = 60 * 86400  # both cookies live 60 days
        # "remember me" is long-lived by design (info, 0 points) and comes first
        resp.set_cookie("remember_token", "r" * 20, max_age=life, httponly=True, samesite="Lax")
        resp.set_cookie("session_token", "s" * 20, max_age=life, httponly=True, samesite="Lax")
        return resp

    @app.route("/api")
    def api() -> Any:
        return jsonify(ok=True)

    return app


def test_mixed_severities_of_one_check_in_a_real_scan(serve: Callable[..., str]) -> None:
    report = scan_url(serve(remember_app()), only=["cookie.missing-httponly"])
    kinds = sorted((f.check_id, f.parameter, f.severity.value) for f in report.findings)
    assert kinds == [
        ("cookie.long-lifetime", "remember_token", "info"),
        ("cookie.long-lifetime", "session_token", "low"),
    ]
    # low first (3 x 1), then info (0 x 1/2): 97. (The scanner hands findings to scoring
    # worst first; the order itself is pinned by the test above, on any permutation.)
    assert report.score == 97 and report.categories["misconfiguration"].score == 97


# -- the sign of score_delta: diff, verify and --baseline --------------------------------
def stateful_app(state: dict[str, str]) -> Flask:
    """``good``: no cookie; ``bad``: a session cookie without flags; ``worse``: two."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        resp = make_response('<!doctype html><title>t</title><a href="/api/items">items</a>')
        if state["mode"] in ("bad", "worse"):
            resp.headers.add("Set-Cookie", "auth_token=abc123def456; Path=/")
        if state["mode"] == "worse":
            resp.headers.add("Set-Cookie", "sessionid=zzz987654321; Path=/")
        return resp

    @app.route("/api/items")
    def items() -> Any:
        return jsonify(items=[])

    return app


def _json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def _delta_ok(cmp: dict[str, Any], sign: int) -> None:
    """The delta is current minus baseline, with the expected sign."""
    delta = cmp["score_delta"]
    assert delta == cmp["current"]["score"] - cmp["baseline"]["score"]
    assert delta * sign > 0, cmp


def test_score_delta_sign_for_regression_and_fix(serve: Callable[..., str], tmp_path: Path) -> None:
    state = {"mode": "good"}
    url = serve(stateful_app(state))
    db = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    good = _json(cli("scan", url, "--db", db, "-f", "json"))

    state["mode"] = "bad"  # --baseline: a regression is negative
    cmp = _json(cli("scan", url, "--db", db, "--baseline", "last", "-f", "json"))
    _delta_ok(cmp, -1)
    assert cmp["baseline"]["scan_id"] == good["scan_id"] and cmp["new"] and not cmp["fixed"]
    bad_id = cmp["current"]["scan_id"]

    state["mode"] = "good"  # --baseline: a fix is positive
    cmp = _json(cli("scan", url, "--db", db, "--baseline", "last", "-f", "json"))
    _delta_ok(cmp, +1)
    assert cmp["fixed"] and not cmp["new"]

    # diff: the same two scans, both ways, in JSON and as text
    worse_way = _json(cli("diff", good["scan_id"], bad_id, "--db", db, "-f", "json"))
    _delta_ok(worse_way, -1)
    better_way = _json(cli("diff", bad_id, good["scan_id"], "--db", db, "-f", "json"))
    _delta_ok(better_way, +1)
    assert better_way["score_delta"] == -worse_way["score_delta"]
    text = cli("diff", good["scan_id"], bad_id, "--db", db).stdout
    assert f"score delta {worse_way['score_delta']:+d}," in text and "score delta -" in text

    # verify the bad scan: fixed is positive, worse is negative
    fixed = _json(cli("verify", bad_id, "--db", db, "--no-store", "-f", "json"))
    _delta_ok(fixed, +1)
    assert fixed["fixed"] and not fixed["new"]
    state["mode"] = "worse"
    worse = _json(cli("verify", bad_id, "--db", db, "--no-store", "-f", "json"))
    _delta_ok(worse, -1)
    assert worse["new"] and not worse["fixed"]


# -- every user header is masked, "token" in its name or not -----------------------------
SESSION_TOKEN = "SessTokValue-8c1f44a2d9"
ANYTHING = "AnyHeaderValue-61b3e0f7k"


def reflecting_app() -> Flask:
    """Reflects both headers in a banner, a page and a traceback."""
    app = Flask(__name__)

    def both() -> str:
        return f"{request.headers.get('X-Session-Token')} {request.headers.get('X-Anything')}"

    @app.after_request
    def leak(resp: Any) -> Any:
        resp.headers["X-Powered-By"] = "PHP/5.1 " + both()
        return resp

    @app.route("/")
    def index() -> Any:
        return f"<html><title>echo</title><a href='/api/me'>me</a><pre>{both()}</pre></html>"

    @app.route("/api/me")
    def me() -> Any:
        trace = ('Traceback (most recent call last):\n  File "/app/views.py", line 3, in me\n'
                 f"RuntimeError: auth failed for {both()}\n")  # fmt: skip
        return trace, 500, {"Content-Type": "text/plain"}

    return app


def test_token_and_plain_headers_are_masked_in_every_format(
    serve: Callable[..., str], tmp_path: Path
) -> None:
    url = serve(reflecting_app())
    formats = [f for f in FORMATS if renderer(f) is not None]
    assert set(formats) == set(FORMATS)
    args = ["scan", url, "--no-store", "-H", f"X-Session-Token: {SESSION_TOKEN}",
            "-H", f"X-Anything: {ANYTHING}", "--output-dir", str(tmp_path)]  # fmt: skip
    for fmt in formats:
        args += ["-f", fmt]
    proc = cli(*args)
    assert proc.returncode in (0, 1), proc.stderr
    outputs = sorted(tmp_path.iterdir())
    assert len(outputs) == len(formats)
    for where, text in [
        *((p.name, p.read_text()) for p in outputs),
        ("stdio", proc.stdout + proc.stderr),
    ]:
        for value in (SESSION_TOKEN, ANYTHING):
            assert value not in text, (where, value)
            assert value[:10] not in text and value[-10:] not in text, (where, value)
    report = (tmp_path / "apigrade.json").read_text()
    # the target did reflect both, and the report shows them masked
    assert mask(SESSION_TOKEN) in report and mask(ANYTHING) in report


# -- the multi-process crack counts exactly ----------------------------------------------
def flask_cookie(key: str) -> str:
    app = Flask("pinned")
    app.secret_key = key
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    return str(serializer.dumps({"user": "alice"}))


@pytest.mark.parametrize("position", [0, 999, 1000, 2500, 5999])
@pytest.mark.parametrize("processes", [2, 3])
def test_multiprocess_crack_reports_the_exact_count(position: int, processes: int) -> None:
    """Found at the n-th candidate: exactly n tried, as in one process, however the
    workers' chunks happen to finish (the key sits at chunk edges and inside one)."""
    words = [f"w{i}" for i in range(6000)]
    words[position] = "the-key"
    token = parse_token(flask_cookie("the-key"))
    assert token is not None
    inline = crack(token, words, processes=1, chunk_lines=1000)
    assert inline.key == b"the-key" and inline.tried == position + 1
    for _ in range(3):  # a race shows up as a different count in one of the runs
        result = crack(token, words, processes=processes, chunk_lines=1000)
        assert result.key == b"the-key" and result.processes == processes
        assert result.tried == position + 1


def test_multiprocess_crack_counts_misses_and_skipped_lines_exactly(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    lines = [f"cand{i}" for i in range(4500)]
    lines[100:100] = ["", "", "x" * 5000]  # blank lines and an over-long line are not tried
    path.write_text("\n".join(lines) + "\n")
    words = Words(["a", "b", "a", "c"])  # deduplicated: 3 candidates
    token = parse_token(flask_cookie("not-in-any-list"))
    assert token is not None
    miss = crack(token, Candidates(words, WordlistFile(path)), processes=2, chunk_lines=1000)
    assert not miss.found and miss.tried == 3 + 4500
    # a token with many schemes (unknown salt) is chunked differently: the count still holds
    many = parse_token(URLSafeTimedSerializer("k-unknown", salt="reset-salt").dumps("bob"))
    assert many is not None and len(many.schemes) > 1
    assert crack(many, WordlistFile(path), processes=2, chunk_lines=1000).tried == 4500


def test_crack_command_prints_the_exact_count(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("\n".join([*(f"w{i}" for i in range(3000)), "", "cmd-key", "after"]) + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "apigrade.crack", f"session={flask_cookie('cmd-key')}",
         "--wordlist", str(path), "--no-builtin", "-p", "2"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3,001 candidates tried" in proc.stdout and "2 processes" in proc.stdout
