"""Distributed fleet scans with Celery: the app, the scan task, workers and the submitter.

Delivery guarantees: tasks are acknowledged *after* they finish (``task_acks_late``), a
task whose pool process dies is re-queued (``task_reject_on_worker_lost``), and with the
Redis broker a task held by a worker that vanished becomes visible again after the
``visibility_timeout``. A re-run writes under the same job id (the Celery task id), so the
database ends with exactly one completed scan per target. While a task runs, its message's
delivery time is refreshed (:mod:`apigrade.fleet.visibility`), so only a task whose worker
is gone is handed out again, and a task run more than ``max_attempts`` times ends failed.
Every scan option travels with the task (:meth:`ScanOptions.to_json`).

Each task runs ``asyncio.run`` in the pool process (prefork) or thread (threads), and
that loop only waits: the scan itself runs in a child process of its own
(:mod:`apigrade.fleet.isolation`), killed with everything it started if the pool process
dies.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from apigrade.errors import UsageError
from apigrade.fleet.politeness import host_key
from apigrade.fleet.results import Results
from apigrade.fleet.runner import FleetResult, new_job_id, scan_one
from apigrade.fleet.targets import FleetTarget
from apigrade.fleet.visibility import attempt_number, keep_invisible
from apigrade.redact import describe_error
from apigrade.scan_options import ScanOptions

TASK = "apigrade.scan_target"
QUEUE = "apigrade.scans"
LEASE_TTL = 15.0
#: runs of one task before it ends failed (a worker lost, or killed by the scan, each time)
MAX_ATTEMPTS = 3


def make_app(
    broker: str, *, visibility_timeout: int = 3600, db_url: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> Any:
    """The Celery app: Redis (or any Celery broker) and the broker as result backend."""
    try:
        from celery import Celery
    except ImportError:  # pragma: no cover - celery is a dependency
        raise UsageError("distributed scans need celery: pip install 'celery[redis]'") from None
    if "://" not in broker:
        raise UsageError(f"bad --broker {broker!r}: expected a URL such as redis://host:6379/0")
    app = Celery("apigrade", broker=broker, backend=broker)
    sweep = max(1, min(10, visibility_timeout // 4))
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE,
        result_expires=7 * 24 * 3600,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        broker_transport_options={
            "visibility_timeout": visibility_timeout,
            "unacked_restore_interval": sweep,  # look for abandoned tasks this often
            "unacked_restore_throttle": 1,
        },
        result_backend_transport_options={"visibility_timeout": visibility_timeout},
        worker_hijack_root_logger=False,
        apigrade_db=db_url,
        apigrade_max_attempts=max_attempts,
    )

    @app.task(name=TASK, bind=True)
    def scan_target(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
        return execute(payload, self.request.id or new_job_id(), self.request.hostname, app)

    return app


def payload_for(target: FleetTarget, base: ScanOptions, per_host: int, store: bool) -> dict[str, Any]:
    """The JSON task argument for one target: every scan option (:meth:`ScanOptions.to_json`)."""
    return {"target": target.to_dict(), "options": base.to_json(), "per_host": per_host,
            "store": store}


# -- the worker side ---------------------------------------------------------------------
_results: dict[tuple[int, str | None], Results] = {}
_results_lock = threading.Lock()


def _results_for(db_url: str | None) -> Results:
    """One database handle per process (never shared across a fork)."""
    key = (os.getpid(), db_url)
    with _results_lock:
        if key not in _results:
            _results[key] = Results(db_url)
        return _results[key]


def execute(payload: dict[str, Any], job_id: str, worker: str | None, app: Any) -> dict[str, Any]:
    """Run one scan task and return its scan-many entry.

    While the scan runs its message stays invisible to the broker's restore sweep
    (:func:`keep_invisible`), so a scan longer than the visibility timeout is not handed
    to a second worker. A task already finished returns its result again; a task run more
    than ``apigrade_max_attempts`` times (its worker lost each time) ends failed.
    """
    target = FleetTarget.from_dict(payload["target"])
    results = _results_for(app.conf.get("apigrade_db")) if payload.get("store", True) else None
    done = _finished(app, job_id)
    if done is not None:
        return done  # a copy of a task that already completed: nothing to run again
    with keep_invisible(app, job_id):
        attempt = attempt_number(app, job_id)
        limit = int(app.conf.get("apigrade_max_attempts") or MAX_ATTEMPTS)
        if attempt > limit:
            why = (f"gave up after {limit} attempts: the worker running this scan was lost "
                   "each time (killed, out of memory, or past --visibility-timeout)")
            if results is not None:
                results.fail(job_id, target.url, why)
            return FleetResult.failed(target.url, why, job_id if results else None).to_task()
        try:
            base = ScanOptions.from_json(dict(payload.get("options") or {}), reader="worker")
        except UsageError as exc:
            if results is not None:
                results.fail(job_id, target.url, str(exc))
            return FleetResult.failed(target.url, str(exc), job_id if results else None).to_task()
        with host_lease(app, target.url, int(payload.get("per_host") or 0)):
            outcome = asyncio.run(scan_one(target, base, job_id, results, worker))
    return outcome.to_task()


def _finished(app: Any, job_id: str) -> dict[str, Any] | None:
    """The stored result of an earlier run of this task, if one completed."""
    from celery.result import AsyncResult

    try:
        res = AsyncResult(job_id, app=app)
        if res.state == "SUCCESS" and isinstance(res.result, dict):
            return res.result
    except Exception:  # noqa: BLE001, S110 - no backend answer: run the task
        pass
    return None


@contextmanager
def host_lease(app: Any, url: str, limit: int) -> Iterator[None]:
    """At most ``limit`` scans of one host across all workers (Redis brokers only).

    A lease is a member of a Redis sorted set scored by its expiry; it is refreshed while
    the scan runs, so a dead worker's lease lapses after ``LEASE_TTL`` seconds.
    """
    broker = str(app.conf.broker_url or "")
    if limit < 1 or not broker.startswith(("redis://", "rediss://")):
        yield
        return
    import redis

    client = redis.Redis.from_url(broker)
    key = f"apigrade:lease:{host_key(url)}"
    token = uuid.uuid4().hex
    acquire = client.register_script(_ACQUIRE)
    while not acquire(keys=[key], args=[token, time.time(), LEASE_TTL, limit]):
        time.sleep(0.2)
    stop = threading.Event()

    def refresh() -> None:
        while not stop.wait(LEASE_TTL / 3):
            client.zadd(key, {token: time.time() + LEASE_TTL}, xx=True)

    keeper = threading.Thread(target=refresh, daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join(timeout=2)
        client.zrem(key, token)
        client.close()


_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2] + ARGV[3], ARGV[1])
  redis.call('EXPIRE', KEYS[1], math.ceil(ARGV[3]) * 4)
  return 1
end
return 0
"""


def run_worker(
    broker: str,
    *,
    concurrency: int,
    pool: str = "prefork",
    db_url: str | None = None,
    name: str | None = None,
    visibility_timeout: int = 3600,
    loglevel: str = "INFO",
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """Start a Celery worker consuming scan tasks (blocks until it is stopped)."""
    if pool not in ("prefork", "threads", "solo"):
        raise UsageError(f"bad --pool {pool!r}: one of prefork, threads, solo")
    Results(db_url).close()  # create the tables once, before the pool forks
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    app = make_app(broker, visibility_timeout=visibility_timeout, db_url=db_url,
                   max_attempts=max_attempts)
    argv = [
        "worker",
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        f"--queues={QUEUE}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if name:
        argv.append(f"--hostname={name}")
    app.worker_main(argv)


# -- the submitter side ------------------------------------------------------------------
def submit_and_wait(
    broker: str,
    targets: list[FleetTarget],
    base: ScanOptions,
    *,
    per_host: int,
    store: bool,
    on_done: Callable[[int, FleetResult], None] | None = None,
    wait_timeout: float | None = None,
    poll: float = 0.3,
) -> list[FleetResult]:
    """Enqueue one task per target and wait for them all; results in input order."""
    app = make_app(broker)
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0.5, timeout=5)
    except Exception as exc:  # noqa: BLE001 - kombu raises many kinds
        why = describe_error(exc)
        raise UsageError(f"cannot reach broker {_safe_broker(broker)}: {why}") from None
    jobs = [new_job_id() for _ in targets]
    for target, job in zip(targets, jobs, strict=True):
        app.send_task(TASK, args=[payload_for(target, base, per_host, store)], task_id=job,
                      queue=QUEUE, argsrepr=repr([target.url]),  # logs/inspect: no credentials
                      kwargsrepr="{}")
    results: list[FleetResult | None] = [None] * len(targets)
    deadline = None if wait_timeout is None else time.monotonic() + wait_timeout
    pending = set(range(len(targets)))
    while pending:
        for i in sorted(pending):
            outcome = _collect(app, jobs[i], targets[i].url)
            if outcome is not None:
                results[i] = outcome
                pending.discard(i)
                if on_done is not None:
                    on_done(i, outcome)
        if pending and deadline is not None and time.monotonic() > deadline:
            for i in sorted(pending):
                results[i] = FleetResult.failed(targets[i].url, "no result before --wait-timeout")
                if on_done is not None:
                    on_done(i, results[i])  # type: ignore[arg-type]
            break
        if pending:
            time.sleep(poll)
    return [r for r in results if r is not None]


def _collect(app: Any, job: str, url: str) -> FleetResult | None:
    from celery.result import AsyncResult

    res = AsyncResult(job, app=app)
    if not res.ready():
        return None
    if res.successful() and isinstance(res.result, dict):
        return FleetResult.from_json(res.result)
    return FleetResult.failed(url, f"task failed: {res.result!r}", None)


def _safe_broker(url: str) -> str:
    """A broker URL without its password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
