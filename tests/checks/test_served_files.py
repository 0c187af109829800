"""Exposed files judged by what they contain, wherever files are served (issue 15, cap. 6)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from apigrade.checks import load_checks
from apigrade.checks.common.served import asset_refs, served_dirs
from apigrade.checks.data_exposure import served_files
from apigrade.checks.registry import REGISTRY
from apigrade.checks.signature import load_file
from apigrade.engine.http import Exchange, Probe, Response
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_served as apps  # noqa: E402
from apps_api import extra_requests, scan_app, scan_url  # noqa: E402

SIGNATURES = Path(__file__).resolve().parents[2] / "src/apigrade/checks/signatures"
NEW_SIGS = [
    "files.git-metadata",
    "files.vim-swap",
    "files.instance-config",
    "files.log-credentials",
]
PY_CHECKS = ["files.backup-copy", "files.dump-in-served-dir"]
ONLY = [*NEW_SIGS, *PY_CHECKS, "files.dotenv"]
EXPECTED = {
    ("files.dotenv", "/.env"),  # two lines: a comment and SECRET_KEY=
    ("files.git-metadata", "/.git/HEAD"),
    ("files.git-metadata", "/.git/index"),
    ("files.instance-config", "/instance/application.cfg"),
    ("files.log-credentials", "/logs/app.log"),
    ("files.backup-copy", "/static/js/.app.js.swp"),
    ("files.backup-copy", "/static/js/app.js.bak"),  # an older version of the script
    ("files.backup-copy", "/static/views.py~"),
    ("files.backup-copy", "/legacy/index.php.bak"),  # the source, not the rendered page
    ("files.dump-in-served-dir", "/assets/dump.sql"),
    ("files.dump-in-served-dir", "/uploads/app.db"),
    ("files.dump-in-served-dir", "/uploads/backup.zip"),
    ("files.secret-in-served-dir", "/assets/.env"),
}

Both = Callable[..., tuple[ScanReport, ScanReport]]


def found(report: ScanReport) -> set[tuple[str, str]]:
    return {(f.check_id, urlsplit(f.url).path) for f in report.findings}


def test_metadata_and_bounds() -> None:
    load_checks()
    sigs = load_file(SIGNATURES / "exposed_dumps.toml")
    assert [s.meta.id for s in sigs] == NEW_SIGS
    assert len({p for s in sigs for p in s.paths}) == 21
    for s in sigs:
        assert s.soft404 and any(m.type == "status" for m in s.matchers)
        assert s.meta.category == "misconfiguration" and s.meta.owasp == "API8:2023"
        assert s.meta.cwe in (530, 538)
    for cid, cwe in (("files.backup-copy", 530), ("files.dump-in-served-dir", 530),
                     ("files.secret-in-served-dir", 538)):  # fmt: skip
        meta = REGISTRY.meta(cid)
        assert meta.cwe == cwe and meta.owasp == "API8:2023" and "Flask" in meta.remediation
    assert served_files.MAX_FILES * 7 <= served_files.MAX_COPY_PROBES
    assert served_files.copy_names("/static/js/app.js") == [
        "/static/js/.app.js.swp", "/static/js/app.js.bak", "/static/js/app.js.old",
        "/static/js/app.js~", "/static/js/app.js.orig", "/static/js/app.js.save",
        "/static/js/app.js.tmp",
    ]  # fmt: skip


def test_leftovers_beside_served_files(scan_both: Both, tmp_path: Path) -> None:
    for report in scan_both(apps.leaky_app(tmp_path), only=ONLY):
        assert found(report) == EXPECTED
        for f in report.findings:
            assert not any(s in f.evidence for s in apps.SECRETS), f.evidence
        by = {urlsplit(f.url).path: f for f in report.findings}
        assert by["/static/js/.app.js.swp"].confidence == "certain"
        assert by["/static/views.py~"].severity == "medium"  # server-side source
        assert by["/static/js/app.js.bak"].severity == "low"  # a copy of a public script
        assert by["/uploads/app.db"].cwe == 530 and by["/assets/.env"].cwe == 538
        assert "files.sql-dump" in by["/assets/dump.sql"].evidence
        assert by["/logs/app.log"].evidence.endswith("password")  # the name, not the value


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda tmp: apps.fixed_app(tmp), id="fixed"),
        pytest.param(lambda tmp: apps.catch_all_app(), id="catch-all"),
    ],
)
def test_no_false_alarms(scan_both: Both, tmp_path: Path, make: Callable[[Path], Any]) -> None:
    for report in scan_both(make(tmp_path), only=ONLY):
        assert found(report) == set()


def test_archive_named_after_the_host(serve: Callable[..., str], tmp_path: Path) -> None:
    def app() -> Any:
        root = apps.make_site(tmp_path, leaks=False)
        for host in ("testserver", "localhost"):  # in-process name, socket name
            (root / f"project/{host}.zip").write_bytes(apps._zip("www/index.php", "<?php"))
        return apps.served_app(root)

    url = serve(app()).replace("127.0.0.1", "localhost")
    for report, host in ((scan_app(app(), only=PY_CHECKS), "testserver"),
                         (scan_url(url, only=PY_CHECKS), "localhost")):  # fmt: skip
        assert found(report) == {("files.dump-in-served-dir", f"/{host}.zip")}
        assert "www/index.php" in report.findings[0].evidence


def test_request_budget(tmp_path: Path) -> None:
    extra = extra_requests(apps.fixed_app(tmp_path), PY_CHECKS)
    # 5 served files x 7 names, 4 folders x 10 names, 2 host-named archives; nothing
    # matched, so no original is fetched and no soft-404 baseline is needed
    assert 0 < extra <= 5 * 7 + 4 * 10 + 2


def test_resemblance_and_folders() -> None:
    js = apps.APP_JS.encode()
    assert served_files.resemblance(js, js) == 1.0
    assert served_files.resemblance(js.replace(b"storefront", b"shop"), js) >= 0.6
    assert served_files.resemblance(b"<html>not found</html>", js) == 0.0
    assert served_files.resemblance(b"", js) == 0.0
    refs = asset_refs("http://h/a/", '<img src="i.png"><a href=/u/r.pdf>x</a><a href="#t">')
    assert refs == ["http://h/a/i.png", "http://h/u/r.pdf"]
    dirs = served_dirs(["/static/js/app.js", "/static/css/a.css", "/uploads/r.pdf", "/x.js"], 3)
    assert dirs == ["/static/", "/uploads/", "/static/css/"]


def _exchange(path: str, body: bytes, ctype: str = "text/plain") -> Exchange:
    url = "http://h" + path
    response = Response(status=200, headers=(("Content-Type", ctype),), body=body)
    return Exchange(probe=Probe(url=url), response=response, url=url)


def test_signature_evidence_shows_names_not_values() -> None:
    sigs = {s.meta.id: s for s in load_file(SIGNATURES / "exposed_dumps.toml")}
    cases = [
        ("files.instance-config", "/instance/config.json",
         b'{"DEBUG": true, "SECRET_KEY": "supersecretvalue1"}', "supersecretvalue1"),
        ("files.log-credentials", "/app.log",
         b'2026-01-01 10:00:00 INFO login {"user": "a", "password": "Hunter2x"}\n', "Hunter2x"),
        ("files.log-credentials", "/logs/error.log",
         b"ERROR: GET /x Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abcdefgh\n", "eyJhbGci"),
    ]  # fmt: skip
    for sid, path, body, secret in cases:
        ex = _exchange(path, body)
        assert sigs[sid].matches(ex), sid
        assert secret not in sigs[sid].evidence(ex)
    # a log without credentials, a masked one, and an HTML page about logs are not leaks
    for body, ctype in ((b"2026-01-01 10:00:00 INFO started\n", "text/plain"),
                        (b"2026-01-01 10:00:00 INFO password=***\n", "text/plain"),
                        (b"<html><body>2026-01-01 10:00 password=abc123</body></html>", "text/html")):  # fmt: skip
        assert not sigs["files.log-credentials"].matches(_exchange("/app.log", body, ctype))
    assert not sigs["files.git-metadata"].matches(
        _exchange("/.git/HEAD", b"<html>ref: refs/heads/x")
    )
