"""Every scan option survives the trip to a Celery worker: to JSON (Celery's own
serialiser) and back, field by field, so a new ScanOptions field cannot be forgotten."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kombu.serialization import dumps, loads

from apigrade.engine.scanner import ScanOptions
from apigrade.errors import UsageError
from apigrade.fleet.distributed import payload_for
from apigrade.fleet.targets import FleetTarget
from apigrade.fleet.wire import option_names, options_from_json, options_to_json

#: a value for every ScanOptions field, each different from the field's default
SAMPLES: dict[str, Any] = {
    "headers": [("Authorization", "Bearer s3cret-token"), ("X-Tenant", "7")],
    "cookie": "session=abc; theme=dark",
    "insecure": True,
    "spec": "/srv/specs/openapi.yaml",
    "active": True,
    "wordlist": "/srv/words.txt",
    "max_requests": 123,
    "concurrency": 3,
    "rate": 2.5,
    "timeout": 4.5,
    "only": ["headers.security", "auth.weak-signing-key"],
    "skip": ["headers.server-banner"],
    "identities": {"bob": [("Authorization", "Bearer bob-token")],
                   "eve": [("X-Api-Key", "eve-key"), ("X-Tenant", "9")]},
    "cpu_deadline": 7.25,
    "scope": ["http://127.0.0.1:80"],
    "signatures": ["/srv/signatures"],
    "auth": "/srv/auth/identities.toml",
}


def _default(name: str) -> Any:
    return ScanOptions.model_fields[name].get_default(call_default_factory=True)


def _celery_trip(value: Any) -> Any:
    """What a worker receives: the value through kombu's JSON serialiser."""
    content_type, encoding, data = dumps(value, serializer="json")
    return loads(data, content_type, encoding)


def test_every_field_has_a_non_default_sample() -> None:
    assert set(SAMPLES) == option_names(), "add a sample for each new ScanOptions field"
    for name in ScanOptions.model_fields:
        assert SAMPLES[name] != _default(name), name


@pytest.mark.parametrize("name", sorted(option_names()))
def test_each_field_round_trips_through_celery_json(name: str) -> None:
    sent = ScanOptions(**{name: SAMPLES[name]})
    received = options_from_json(_celery_trip(options_to_json(sent)))
    assert getattr(received, name) == SAMPLES[name]
    assert received == sent


def test_all_fields_at_once_round_trip_in_the_task_payload() -> None:
    sent = ScanOptions(**SAMPLES)
    payload = _celery_trip(payload_for(FleetTarget("http://127.0.0.1:9/"), sent, 2, True))
    received = options_from_json(payload["options"])
    assert received == sent
    for name in ScanOptions.model_fields:
        assert getattr(received, name) == SAMPLES[name], name
    assert all(type(h) is tuple for h in received.headers)  # typed, not JSON lists
    assert all(type(h) is tuple for hs in received.identities.values() for h in hs)


def test_the_default_options_round_trip() -> None:
    assert options_from_json(_celery_trip(options_to_json(ScanOptions()))) == ScanOptions()


def test_an_option_the_worker_does_not_know_is_refused_not_dropped() -> None:
    data = {**options_to_json(ScanOptions()), "brand_new_option": 1}
    with pytest.raises(UsageError, match="brand_new_option"):
        options_from_json(data)


@pytest.mark.parametrize(("name", "bad"), [
    ("max_requests", "lots"), ("headers", [["only-a-name"]]), ("identities", ["bob"]),
    ("insecure", "perhaps"),
])
def test_a_badly_typed_option_is_one_usage_line(name: str, bad: Any) -> None:
    data = {**options_to_json(ScanOptions()), name: bad}
    with pytest.raises(UsageError, match=f"bad scan option {name}") as info:
        options_from_json(data)
    assert "\n" not in str(info.value) and repr(bad) not in str(info.value)


def test_the_payload_is_plain_json() -> None:
    payload = payload_for(FleetTarget("http://127.0.0.1:9/"), ScanOptions(**SAMPLES), 1, False)
    assert json.loads(json.dumps(payload)) == _celery_trip(payload)
