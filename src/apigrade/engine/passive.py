"""The scan's passive analyses: queued in arrival order, run in the pool, merged in order.

One batch of a scan is in the pool at a time, so each batch sees the knowledge base
with everything earlier exchanges added, exactly as when the checks ran in the event
loop (e.g. the exposed-secrets check reports a value once per scan). Small exchanges
travel together (one round trip for up to ``BATCH_ITEMS`` exchanges or
``BATCH_BYTES`` of bodies); a batch that runs past the deadline is retried one
exchange at a time, so only the exchange that is really too costly is dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from apigrade.checks.context import CheckContext, Hit, KnowledgeBase
from apigrade.checks.registry import Check
from apigrade.engine import offload
from apigrade.engine.analysis import BatchResult, ItemResult, Setup, analyse, merge_kb, run_passive
from apigrade.engine.http import Exchange
from apigrade.redact import describe_error

Sink = Callable[[str, Hit], None]
Fail = Callable[[str, BaseException], None]


def label_of(exchange: Exchange) -> str:
    """How a dropped analysis is named in the report's errors."""
    return f"analysis of {exchange.probe.method.upper()} {urlsplit(exchange.url).path or '/'}"


class PassiveAnalyses:
    """Submit every exchange; ``await drain()`` before reading what passive checks found."""

    BATCH_ITEMS = 64
    BATCH_BYTES = 256 * 1024

    def __init__(
        self,
        setup: Setup,
        kb: KnowledgeBase,
        sink: Sink,
        fail: Fail,
        errors: list[str],
        deadline: float,
        local: Sequence[tuple[Check, Callable[[Check], CheckContext]]] = (),
    ) -> None:
        self.setup = setup
        self.kb = kb
        self.sink = sink
        self.fail = fail
        self.errors = errors
        self.deadline = deadline
        self.local = list(local)
        self._queue: deque[Exchange] = deque()
        self._task: asyncio.Task[None] | None = None

    def submit(self, exchange: Exchange) -> None:
        """Queue one exchange (called from the engine, in the event loop)."""
        for check, make_ctx in self.local:
            out = ItemResult()
            run_passive(check.fn, check.id, exchange, make_ctx(check), out)
            self._apply(out)
        if not self.setup.checks:
            return
        self._queue.append(exchange)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._pump())

    async def drain(self) -> None:
        """Wait until every submitted exchange has been analysed (or dropped)."""
        while self._task is not None and not self._task.done():
            await self._task

    def close(self) -> None:
        """Cancel what is pending (an interrupted scan); a running item's worker is killed."""
        self._queue.clear()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    # -- internals ----------------------------------------------------------------
    def _take(self) -> list[Exchange]:
        batch: list[Exchange] = []
        size = 0
        while self._queue and len(batch) < self.BATCH_ITEMS:
            nxt = len(self._queue[0].response.body)
            if batch and size + nxt > self.BATCH_BYTES:
                break
            batch.append(self._queue.popleft())
            size += nxt
        return batch

    async def _pump(self) -> None:
        while self._queue:
            batch = self._take()
            try:
                await self._run(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the pool itself failed: say so, go on
                self.errors.append(f"passive analysis failed: {describe_error(exc)}"[:300])

    async def _run(self, batch: list[Exchange]) -> None:
        why: list[str] = []
        result: BatchResult | None = await offload.run(
            analyse, self.setup, self.kb, batch,
            deadline=self.deadline, label=label_of(batch[0]), errors=why,
        )  # fmt: skip
        if result is None:
            if len(batch) > 1:  # find the costly one: each exchange on its own
                for exchange in batch:
                    await self._run([exchange])
            else:
                self.errors.extend(why)
            return
        for item in result.items:
            self._apply(item)
        merge_kb(self.kb, result.kb)

    def _apply(self, item: ItemResult) -> None:
        for kind, hit in item.hits:
            self.sink(kind, hit)
        for check_id, exc in item.failures:
            self.fail(check_id, exc)
