"""Send N GET requests at concurrency C to a local server: through apigrade's engine or bare httpx.

Usage: python client.py engine|bare URL N C
Each request has a distinct path, so the engine's cache never answers for the server.
"""

from __future__ import annotations

import asyncio
import sys
import time

import httpx

from apigrade.engine.client import Engine, EngineConfig
from apigrade.engine.http import Probe
from apigrade.engine.target import Target


async def bare(url: str, n: int, c: int) -> int:
    sem = asyncio.Semaphore(c)
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def one(i: int) -> int:
            async with sem:
                r = await client.get(f"{url}p{i}")
                return r.status_code

        codes = await asyncio.gather(*(one(i) for i in range(n)))
    return sum(code == 200 for code in codes)


async def engine(url: str, n: int, c: int) -> int:
    cfg = EngineConfig(concurrency=c, max_requests=n, timeout=10)
    async with Engine(Target.parse(url), cfg) as eng:
        results = await asyncio.gather(*(eng.send(Probe(url=f"{url}p{i}")) for i in range(n)))
    return sum(r is not None and r.status == 200 for r in results)


def main() -> None:
    mode, url, n, c = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    t0 = time.perf_counter()
    ok = asyncio.run((engine if mode == "engine" else bare)(url, n, c))
    dt = time.perf_counter() - t0
    print(f"{mode}: {ok}/{n} ok in {dt:.2f} s = {n / dt:.0f} requests/s", file=sys.stderr)
    if ok != n:
        sys.exit(1)


if __name__ == "__main__":
    main()
