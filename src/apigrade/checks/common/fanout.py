"""Run one probe coroutine per item concurrently and report the hits, in item order.

The loop every "test each candidate" check shares::

    await fan_out(ctx, candidates(ctx), test_slot)

Results come back in the order of ``items`` (not of completion), so reports do not depend
on timing. The first exception a probe raises propagates unchanged once the other probes
are cancelled; nothing is reported then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from apigrade.checks.context import CheckContext, Hit

T = TypeVar("T")
R = TypeVar("R")


async def gather_bounded(
    ctx: CheckContext,
    items: Iterable[T],
    probe: Callable[[CheckContext, T], Awaitable[R]],
    *,
    limit: int | None = None,
) -> list[R]:
    """``probe(ctx, item)`` for every item, at most ``limit`` at a time (None: all at once).

    The engine's own concurrency and request budget still apply underneath.
    """
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    gate = asyncio.Semaphore(limit) if limit is not None else None

    async def one(item: T) -> R:
        if gate is None:
            return await probe(ctx, item)
        async with gate:
            return await probe(ctx, item)

    tasks = [asyncio.ensure_future(one(item)) for item in items]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def fan_out(
    ctx: CheckContext,
    items: Iterable[T],
    probe: Callable[[CheckContext, T], Awaitable[Hit | None]],
    *,
    limit: int | None = None,
) -> int:
    """Run ``probe(ctx, item)`` for every item and report each hit; returns how many."""
    hits = [h for h in await gather_bounded(ctx, items, probe, limit=limit) if h is not None]
    for hit in hits:
        ctx.report(hit)
    return len(hits)
