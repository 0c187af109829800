"""Data exposure: provider keys and internal addresses in responses, masked, never twice."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api2 as apps  # noqa: E402
from apps_api2 import by_check, mine, scan_app, scan_url  # noqa: E402

from apigrade.checks.data_exposure.secrets import find_ips, find_secrets, owned_by_files  # noqa: E402

SECRET, IP = "secrets.exposed-secret", "exposure.internal-ip"
PUBLIC = "http://api.example.test/"  # in-process, but not a private address
RAW = (apps.AWS_KEY, apps.STRIPE_KEY, apps.GITHUB_TOKEN, apps.GOOGLE_KEY, apps.SLACK_HOOK, apps.JWT)


def test_secrets_are_found_masked_once(serve: Callable[..., str]) -> None:
    app = apps.secrets_app()
    for report in (scan_app(app, base_url=PUBLIC), scan_url(serve(app))):
        found = {urlsplit(f.url).path: f for f in by_check(report, SECRET)}
        assert set(found) == {"/", "/static/app.js", "/api/status", "/api/config"}
        assert all(f.cwe == 213 and f.category == "data-exposure" for f in found.values())
        assert "AWS access key id" in found["/"].evidence and found["/"].severity == "medium"
        assert "Google API key" in found["/"].evidence
        bundle = found["/static/app.js"]
        assert bundle.severity == "high" and "Stripe live secret key" in bundle.evidence
        assert "JWT" in bundle.evidence
        assert "BEGIN RSA PRIVATE KEY" in found["/api/status"].evidence
        # JSON keys of these formats are props.excessive-data-exposure's; the webhook is ours
        assert "Slack webhook URL" in found["/api/config"].evidence
        assert "GitHub" not in found["/api/config"].evidence
        for f in report.findings:
            assert not any(raw in f.evidence for raw in RAW), f.check_id
        # the served .env is files.dotenv's finding, not a second one here
        assert by_check(report, "files.dotenv") and "/.env" not in found


def test_internal_address_only_for_a_public_target(serve: Callable[..., str]) -> None:
    public = scan_app(apps.secrets_app(), base_url=PUBLIC)
    [ip] = by_check(public, IP)
    assert "10.20.30.40" in ip.evidence and ip.cwe == 497 and ip.severity == "low"
    assert "10.0.0.0" not in ip.evidence  # a CIDR range in documentation is not a host
    assert by_check(scan_url(serve(apps.secrets_app())), IP) == []  # 127.0.0.1: expected


def test_clean_app_has_no_secrets() -> None:
    report = scan_app(apps.secrets_app(leaky=False), base_url=PUBLIC)
    assert mine(report, [SECRET, IP]) == []


def test_patterns_skip_placeholders_and_versions() -> None:
    text = "AKIAIOSFODNN7EXAMPLE sk_live_xxxxxxxxxxxxxxxxxxxxxxxx ghp_" + "x" * 36
    assert list(find_secrets(text, pages=True, json_api=False)) == []
    assert [k.name for k, _ in find_secrets(apps.JWT, pages=False, json_api=False)] == []
    assert [k.name for k, _ in find_secrets(apps.JWT, pages=True, json_api=False)] == ["JWT"]
    owned = list(find_secrets(apps.STRIPE_KEY, pages=False, json_api=True))
    assert owned == []  # in JSON: the excessive-data check's
    ips = "10.1.2.3, v10.1.2.3.4, 192.168.1.0/24, 172.32.0.1, 172.16.5.4, 1.10.0.12"
    assert list(find_ips(ips)) == ["10.1.2.3", "172.16.5.4"]


def test_file_urls_belong_to_the_file_checks() -> None:
    for url in ("http://h/.env", "http://h/static/.env", "http://h/config.py", "http://h/x.yml",
                "http://h/backup.sql", "http://h/app.py.bak"):  # fmt: skip
        assert owned_by_files(url), url
    for url in ("http://h/", "http://h/static/app.js", "http://h/api/config", "http://h/k.pem"):
        assert not owned_by_files(url), url
