"""Issue 12, case 7: the login throttle and the Host check of ``apigrade serve``.

- the throttle is keyed by the socket peer: a fresh X-Forwarded-For per try changes
  nothing unless ``--trust-proxy`` names the proxy;
- the right key is never refused because others failed from the same address;
- a request whose ``Host`` is not the bound address (or an ``--allowed-host``) gets 400,
  which never echoes the value (DNS rebinding).
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_fixtures import *  # noqa: E402,F403
from fleet_fixtures import error_lines  # noqa: E402
from isolation_fixtures import API_KEY, serving  # noqa: E402

from apigrade.errors import UsageError  # noqa: E402
from apigrade.service.app import trusted_proxies  # noqa: E402
from apigrade.service.auth import Auth, peer_key  # noqa: E402
from apigrade.service.hosts import AllowedHosts, split_host  # noqa: E402

pytestmark = pytest.mark.fleet
KEY = {"X-API-Key": API_KEY}
WRONG = {"X-API-Key": "wrong-key-123"}
LIMIT = 20  # Auth's default: failures a minute per peer


# -- units ----------------------------------------------------------------------------------
def test_the_right_key_passes_a_throttled_peer_and_only_failures_count() -> None:
    auth = Auth("the-right-key", max_failures=3)
    assert [auth.authenticate("nope", "1.2.3.4") for _ in range(3)] == ["wrong"] * 3
    assert auth.authenticate("nope", "1.2.3.4") == "throttled"
    assert auth.authenticate(None, "1.2.3.4") == "throttled"
    assert auth.authenticate("the-right-key", "1.2.3.4") == "ok"  # the owner is not locked out
    assert auth.authenticate("nope", "5.6.7.8") == "wrong"  # other peers are not throttled
    assert auth.authenticate(None, "5.6.7.8") == "missing"
    fresh = Auth("the-right-key", max_failures=3)
    for _ in range(10):
        assert fresh.authenticate("the-right-key", "9.9.9.9") == "ok"
        assert fresh.authenticate(None, "9.9.9.9") == "missing"  # a missing key is no failure
    assert fresh.authenticate("nope", "9.9.9.9") == "wrong"


def test_peer_key_groups_an_ipv6_machine_and_unmaps_ipv4() -> None:
    assert peer_key("2001:db8::1") == peer_key("2001:db8::ffff") == "2001:db8::/64"
    assert peer_key("2001:db8:0:1::1") != peer_key("2001:db8::1")
    assert peer_key("::ffff:10.0.0.1") == peer_key("10.0.0.1") == "10.0.0.1"
    assert peer_key(None) == "?"


def test_default_allowed_hosts_are_the_bound_address_and_port() -> None:
    local = AllowedHosts.for_bind("127.0.0.1", 8080)
    for ok in ("127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080", "[::1]:8080"):
        assert local.allows(ok), ok
    for bad in ("evil.example:8080", "127.0.0.1:8081", "127.0.0.1", "localhost", "",
                "127.0.0.1:8080:1", "[::1", "a b:8080", "127.0.0.1:99999", None):
        assert not local.allows(bad), bad
    assert AllowedHosts.for_bind("127.0.0.1", 80).allows("localhost")  # default port implied
    assert AllowedHosts.for_bind("127.0.0.1", 443).allows("localhost", "https")
    public = AllowedHosts.for_bind("10.1.2.3", 8080, ["api.example.test", "*.corp.test:443"])
    assert public.allows("10.1.2.3:8080") and public.allows("api.example.test:9999")
    assert public.allows("x.corp.test", "https") and not public.allows("x.corp.test:80")
    assert not public.allows("localhost:8080")  # not bound to loopback
    wildcard = AllowedHosts.for_bind("0.0.0.0", 8080)  # noqa: S104 - the bind being tested
    assert wildcard.allows("localhost:8080") and not wildcard.allows("0.0.0.0:8080")
    assert AllowedHosts.for_bind("127.0.0.1", 0).allows("127.0.0.1:43210")
    assert split_host("[::1]:80") == ("::1", 80) and split_host("Example.TEST") == ("example.test", 80)


def test_bad_allowed_host_and_trust_proxy_values_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--allowed-host"):
        AllowedHosts.for_bind("127.0.0.1", 8080, ["http://x/"])
    with pytest.raises(UsageError, match="--trust-proxy"):
        trusted_proxies(["proxy.example"])
    assert trusted_proxies(["10.0.0.1", "10.0.0.0/8"]) == ("10.0.0.1", "10.0.0.0/8")


# -- apigrade serve on a socket ----------------------------------------------------------------
def _fail_with_fresh_forwarded_for(c: httpx.Client, n: int, first: int = 1) -> list[int]:
    return [c.get("/api/targets", headers={**WRONG, "X-Forwarded-For": f"10.9.{i // 250}.{i % 250}"})
            .status_code for i in range(first, first + n)]


def test_forwarded_for_cannot_bypass_the_throttle_and_the_owner_is_never_locked_out(
    tmp_path: Path,
) -> None:
    with serving(tmp_path) as svc, httpx.Client(base_url=svc.url, timeout=10) as c:
        assert _fail_with_fresh_forwarded_for(c, LIMIT) == [403] * LIMIT
        # the 21st try from the same socket peer is refused, whatever it claims to forward
        r = c.get("/api/targets", headers={**WRONG, "X-Forwarded-For": "192.0.2.77"})
        assert r.status_code == 429 and r.headers["retry-after"] == "60"
        assert c.get("/api/targets").status_code == 429  # no key: refused too
        # the owner, from the same address, still gets in: the API...
        assert c.get("/api/targets", headers=KEY).status_code == 200
        # ...and the dashboard login
        c.get("/login")
        csrf = c.cookies["apigrade_login_csrf"]
        r = c.post("/login", data={"csrf": csrf, "api_key": "wrong-key-123"})
        assert r.status_code == 429
        r = c.post("/login", data={"csrf": csrf, "api_key": API_KEY})
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert c.get("/").status_code == 200


def test_trust_proxy_makes_forwarded_clients_count_separately(tmp_path: Path) -> None:
    with serving(tmp_path, "--trust-proxy", "127.0.0.1") as svc, httpx.Client(
        base_url=svc.url, timeout=10
    ) as c:
        one = {**WRONG, "X-Forwarded-For": "198.51.100.1"}
        assert [c.get("/api/targets", headers=one).status_code for _ in range(LIMIT)] == [403] * LIMIT
        assert c.get("/api/targets", headers=one).status_code == 429
        other = {**WRONG, "X-Forwarded-For": "198.51.100.2"}  # another client behind the proxy
        assert c.get("/api/targets", headers=other).status_code == 403


def test_wrong_host_is_refused_without_echo_and_right_hosts_are_served(tmp_path: Path) -> None:
    with serving(tmp_path, "--allowed-host", "apigrade.example.test") as svc, httpx.Client(
        base_url=svc.url, timeout=10
    ) as c:
        for host in ("rebind-attacker.example", f"rebind-attacker.example:{svc.port}",
                     f"127.0.0.1:{svc.port + 1}", "<script>x</script>"):
            for path in ("/api/targets", "/login", "/healthz"):
                r = c.get(path, headers={**KEY, "Host": host})
                assert r.status_code == 400, (host, path)
                assert "not allowed" in r.json()["error"]
                assert "rebind" not in r.text and "script" not in r.text  # never echoed
        for host in (f"127.0.0.1:{svc.port}", f"localhost:{svc.port}", f"[::1]:{svc.port}",
                     "apigrade.example.test", f"apigrade.example.test:{svc.port}"):
            assert c.get("/api/targets", headers={**KEY, "Host": host}).status_code == 200, host
        assert c.get("/api/targets", headers=KEY).status_code == 200  # httpx's own Host
    assert "answering Host 127.0.0.1:" in svc.stderr


def test_serve_refuses_bad_hardening_options_in_one_line(tmp_path: Path) -> None:
    from fleet_fixtures import run_cli

    env = {"APIGRADE_API_KEY": API_KEY, "APIGRADE_DB": f"sqlite:///{tmp_path / 'x.sqlite'}"}
    for args, word in ((["--trust-proxy", "proxy.example"], "--trust-proxy"),
                       (["--allowed-host", "http://x/"], "--allowed-host")):
        r = run_cli("serve", "--allow", "127.0.0.1", *args, env=env)
        assert r.returncode == 2 and word in r.stderr, r.stderr
        assert len(error_lines(r.stderr)) == 1 and "Traceback" not in r.stderr
