"""Engine I/O: raw targets, scope, redirects, cache, budget, body caps."""

from __future__ import annotations

import asyncio
import gzip

from apigrade.engine.client import Engine, EngineConfig
from apigrade.engine.http import Probe
from apigrade.engine.target import Target
from rawhttp import http_response


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def _send(url: str, probes: list[Probe], **cfg: object):  # type: ignore[no-untyped-def]
    async with Engine(Target.parse(url), EngineConfig(**cfg)) as engine:  # type: ignore[arg-type]
        results = [await engine.send(p) for p in probes]
        return engine, results


def test_raw_target_reaches_server_byte_for_byte(raw_server) -> None:
    srv = raw_server()
    targets = ["/static/../config.py", "/static/..%2f..%2fetc/passwd", "/a/./b/%2e%2e/c?x=../y"]
    probes = [Probe(url=srv.url, raw_target=t) for t in targets]
    _, results = run(_send(srv.url, probes))
    assert all(r is not None and r.status == 200 for r in results)
    assert [line.split(b" ")[1].decode() for line in srv.lines] == targets
    assert results[0].url == srv.url.rstrip("/") + "/static/../config.py"


def test_plain_url_is_normalised_but_raw_is_not(raw_server) -> None:
    srv = raw_server()
    run(_send(srv.url, [Probe(url=srv.url + "static/../config.py")]))
    assert srv.lines[0].split(b" ")[1] == b"/config.py"


def test_redirect_to_other_host_is_not_followed(raw_server) -> None:
    other = raw_server(host="127.0.0.2")
    srv = raw_server(lambda line: http_response(302, b"", {"Location": other.url + "x"}))
    _, [ex] = run(_send(srv.url, [Probe(url=srv.url)]))
    assert ex is not None and ex.status == 302
    assert other.lines == []


def test_redirect_to_metadata_address_and_scheme_change_not_followed(raw_server) -> None:
    for location in ("http://169.254.169.254/latest/meta-data/", "https://127.0.0.1/"):
        srv = raw_server(lambda line, loc=location: http_response(302, b"", {"Location": loc}))
        _, [ex] = run(_send(srv.url, [Probe(url=srv.url)], timeout=2))
        assert ex is not None and ex.status == 302
        assert len(srv.lines) == 1


def test_same_origin_redirects_followed_at_most_five_hops(raw_server) -> None:
    def hop(line: bytes) -> bytes:
        n = int(line.split(b" ")[1].strip(b"/") or b"0")
        return http_response(302, b"", {"Location": f"/{n + 1}"})

    srv = raw_server(hop)
    _, [ex] = run(_send(srv.url, [Probe(url=srv.url)]))
    assert ex is not None and ex.status == 302
    assert len(srv.lines) == 6  # the request and five hops
    assert len(ex.redirects) == 5


def test_off_scope_probe_is_refused_without_a_request(raw_server) -> None:
    srv = raw_server()
    other = raw_server(host="127.0.0.3")
    engine, [ex] = run(_send(srv.url, [Probe(url=other.url)]))
    assert ex is None and other.lines == [] and engine.stats.refused == 1


def test_unsafe_methods_need_active(raw_server) -> None:
    srv = raw_server()
    engine, [ex] = run(_send(srv.url, [Probe(url=srv.url, method="POST", body=b"{}")]))
    assert ex is None and srv.lines == []
    _, [ex] = run(_send(srv.url, [Probe(url=srv.url, method="POST", body=b"{}")], active=True))
    assert ex is not None and srv.lines[0].startswith(b"POST ")


def test_identical_probes_cost_one_request(raw_server) -> None:
    srv = raw_server()

    async def go():  # type: ignore[no-untyped-def]
        async with Engine(Target.parse(srv.url)) as engine:
            a = await asyncio.gather(*(engine.send(Probe(url=srv.url + "x")) for _ in range(5)))
            b = await engine.send(Probe(url=srv.url + "x"))
            return engine, a, b

    engine, a, b = run(go())
    assert len(srv.lines) == 1 and engine.requests_sent == 1
    assert all(x is b for x in a)


def test_budget_is_never_exceeded(raw_server) -> None:
    srv = raw_server()
    probes = [Probe(url=f"{srv.url}p{i}") for i in range(20)]
    engine, results = run(_send(srv.url, probes, max_requests=7))
    assert len(srv.lines) == 7 and engine.requests_sent == 7
    assert sum(r is not None for r in results) == 7


def test_body_is_capped(raw_server) -> None:
    big = b"A" * (3 * 1024 * 1024)
    srv = raw_server(lambda line: http_response(200, big))
    _, [ex] = run(_send(srv.url, [Probe(url=srv.url)], body_cap=1024 * 1024))
    assert ex is not None and ex.response.truncated
    assert len(ex.response.body) == 1024 * 1024


def test_gzip_bomb_refused(raw_server) -> None:
    bomb = gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9)
    srv = raw_server(lambda line: http_response(200, bomb, {"Content-Encoding": "gzip"}))
    _, [ex] = run(_send(srv.url, [Probe(url=srv.url)]))
    assert ex is not None and ex.response.truncated
    assert len(ex.response.body) <= 2 * 1024 * 1024


def test_gzip_body_decoded(raw_server) -> None:
    srv = raw_server(
        lambda line: http_response(200, gzip.compress(b"hello world"), {"Content-Encoding": "gzip"})
    )
    _, [ex] = run(_send(srv.url, [Probe(url=srv.url)]))
    assert ex is not None and ex.response.body == b"hello world"


def test_unreachable_probe_returns_none_and_records_error() -> None:
    engine, [ex] = run(_send("http://127.0.0.1:9/", [Probe(url="http://127.0.0.1:9/")], timeout=2))
    assert ex is None and engine.stats.errors


def test_anonymous_probe_drops_user_credentials(raw_server) -> None:
    srv = raw_server()
    cfg = dict(headers=(("Authorization", "Bearer s3cret"),), cookie="sid=abc")
    probes = [Probe(url=srv.url + "a"), Probe(url=srv.url + "a", anonymous=True)]
    engine, _ = run(_send(srv.url, probes, **cfg))
    assert engine.requests_sent == 2
    with_auth, anon = (h.lower() for h in srv.heads)
    assert b"authorization: bearer s3cret" in with_auth and b"cookie: sid=abc" in with_auth
    assert b"authorization" not in anon and b"cookie" not in anon
