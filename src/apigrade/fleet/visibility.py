"""A running scan task keeps its Redis message invisible; each task counts its runs.

With the Redis broker, kombu keeps every delivered, unacknowledged message in a hash
(``unacked``, by delivery tag) and a sorted set (``unacked_index``) scored by the time it
was delivered. Any worker's sweep hands a message back to the queue once its score is
older than the ``visibility_timeout``: that is how the task of a dead worker is re-run,
and also why a scan *longer* than the timeout used to start again and again, each copy
outliving the timeout in turn.

:func:`keep_invisible` refreshes the task's score every few seconds while it runs, so
only a task whose worker has really gone (nobody refreshes it) is handed out again. The
keys are kombu's documented transport options (``unacked_key``, ``unacked_index_key``,
``global_keyprefix``). :func:`attempt_number` counts the runs of a task in Redis, so that
a target that kills its worker every time ends failed instead of looping.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: how long a task's run counter is kept (longer than any scan-many waits)
ATTEMPTS_TTL_S = 7 * 24 * 3600


def _redis_url(app: Any) -> str | None:
    broker = str(app.conf.broker_url or "")
    return broker if broker.startswith(("redis://", "rediss://")) else None


def _transport(app: Any) -> dict[str, Any]:
    return dict(app.conf.broker_transport_options or {})


def refresh_interval(visibility_timeout: float) -> float:
    """Seconds between refreshes: well inside the timeout, not busier than 4 a second."""
    return max(0.25, min(30.0, visibility_timeout / 4))


def delivery_tags(client: Any, unacked_key: str, job_id: str) -> list[bytes]:
    """The delivery tags of the unacknowledged messages of task ``job_id``."""
    needle = job_id.encode()
    tags: list[bytes] = []
    for tag, raw in client.hscan_iter(unacked_key):
        if needle not in raw:
            continue
        try:
            message = json.loads(raw)[0]
            task_id = message.get("headers", {}).get("id")
        except (ValueError, TypeError, IndexError, AttributeError):
            continue
        if task_id == job_id:
            tags.append(tag)
    return tags


@contextmanager
def keep_invisible(app: Any, job_id: str) -> Iterator[None]:
    """While the block runs, keep task ``job_id``'s message from being handed out again
    (Redis brokers; a no-op with others)."""
    url = _redis_url(app)
    if url is None:
        yield
        return
    import redis

    opts = _transport(app)
    prefix = str(opts.get("global_keyprefix", ""))
    unacked = prefix + str(opts.get("unacked_key", "unacked"))
    index = prefix + str(opts.get("unacked_index_key", "unacked_index"))
    every = refresh_interval(float(opts.get("visibility_timeout", 3600)))
    client = redis.Redis.from_url(url)
    stop = threading.Event()

    def refresh() -> None:
        tags: list[bytes] = []
        while True:
            try:
                tags = tags or delivery_tags(client, unacked, job_id)
                if tags:
                    now = time.time()
                    client.zadd(index, dict.fromkeys(tags, now), xx=True)  # never re-adds
            except redis.RedisError:
                pass  # the broker is away: the next round tries again
            if stop.wait(every):
                return

    keeper = threading.Thread(target=refresh, name=f"visibility-{job_id}", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join(timeout=5)
        client.close()


def attempt_number(app: Any, job_id: str) -> int:
    """This run's number for task ``job_id`` (1 for the first run); 1 without Redis."""
    url = _redis_url(app)
    if url is None:
        return 1
    import redis

    prefix = str(_transport(app).get("global_keyprefix", ""))
    key = f"{prefix}apigrade:attempts:{job_id}"
    client = redis.Redis.from_url(url)
    try:
        with client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, ATTEMPTS_TTL_S)
            count, _ = pipe.execute()
        return int(count)
    except redis.RedisError:
        return 1
    finally:
        client.close()
