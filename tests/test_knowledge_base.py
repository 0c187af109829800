"""The typed knowledge base: each field kind merges back from a worker, and no untyped bag returns."""

from __future__ import annotations

import pickle
import typing
from dataclasses import MISSING, field, fields, make_dataclass

import pytest

from apigrade.checks.context import DebuggerFacts, KnowledgeBase
from apigrade.engine.analysis import diff_kb, merge_kb

KINDS = (list, set, bool)  # plus "optional value" (default None)


def _roundtrip(before: KnowledgeBase, after: KnowledgeBase, into: KnowledgeBase) -> KnowledgeBase:
    """Diff in a 'worker', pickle as the pool does, merge into the scan's kb."""
    merge_kb(into, pickle.loads(pickle.dumps(diff_kb(before, after))))
    return into


def test_lists_append_only_new_items_in_order() -> None:
    before = KnowledgeBase(specs=["/a.json"], secret_keys=[("k1", "/a")])
    after = KnowledgeBase(specs=["/a.json", "/b.json"], secret_keys=[("k1", "/a"), ("k2", "/b")])
    kb = KnowledgeBase(specs=["/a.json", "/c.json"], secret_keys=[("k1", "/a")])
    keys = kb.secret_keys  # checks may hold the list: it is extended in place
    _roundtrip(before, after, kb)
    assert kb.specs == ["/a.json", "/c.json", "/b.json"]
    assert kb.secret_keys == [("k1", "/a"), ("k2", "/b")]
    assert kb.secret_keys is keys


def test_a_list_item_the_scan_already_has_is_not_repeated() -> None:
    kb = _roundtrip(
        KnowledgeBase(), KnowledgeBase(tokens=[("t", "/x")]), KnowledgeBase(tokens=[("t", "/x")])
    )
    assert kb.tokens == [("t", "/x")]


def test_sets_grow_by_the_new_members() -> None:
    before = KnowledgeBase(reported_secrets={"x"}, words={"Home"})
    after = KnowledgeBase(reported_secrets={"x", "y"}, words={"Home", "Admin"})
    delta = diff_kb(before, after)
    assert delta.reported_secrets == {"y"} and delta.words == {"Admin"}  # only what is new travels
    kb = KnowledgeBase(reported_secrets={"x", "z"})
    merge_kb(kb, delta)
    assert kb.reported_secrets == {"x", "y", "z"}
    assert kb.words == {"Admin"}


def test_optional_values_are_set_once_written_and_kept_when_untouched() -> None:
    found = DebuggerFacts(resource_url="/console?__debugger__=yes", version_hint="3.0.1")
    kb = _roundtrip(KnowledgeBase(), KnowledgeBase(werkzeug_debugger=found), KnowledgeBase())
    assert kb.werkzeug_debugger == found
    same = KnowledgeBase(werkzeug_debugger=found)
    assert diff_kb(same, same).werkzeug_debugger is None  # unchanged: nothing travels
    merge_kb(kb, diff_kb(same, same))
    assert kb.werkzeug_debugger == found  # and nothing is cleared


def test_bools_are_or_ed() -> None:
    # no bool field exists yet: the generic merge still has to or them, never clear one
    from apigrade.engine import analysis

    assert analysis._added(False, True) is True
    assert analysis._added(True, True) is False
    assert analysis._merged(True, False) is True
    assert analysis._merged(False, True) is True


def test_nothing_added_changes_nothing() -> None:
    full = KnowledgeBase(
        secret_keys=[("k", "/")], tokens=[("t", "/")], words={"w"}, specs=["/s"],
        werkzeug_debugger=DebuggerFacts(), reported_secrets={"r"},
    )  # fmt: skip
    kb = pickle.loads(pickle.dumps(full))
    merge_kb(kb, diff_kb(full, full))
    assert kb == full
    assert all(not getattr(diff_kb(full, full), f.name) for f in fields(KnowledgeBase))


def _untyped(cls: type) -> list[str]:
    """Fields of ``cls`` that are not a typed list/set/bool/optional value."""
    hints = typing.get_type_hints(cls)
    bad = []
    for f in fields(cls):
        hint = hints[f.name]
        args = typing.get_args(hint)
        nested = [a for arg in args for a in typing.get_args(arg)]
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        if (
            typing.Any in (hint, *args, *nested)
            or dict in (hint, typing.get_origin(hint))
            or not (default is None or isinstance(default, KINDS))
        ):
            bad.append(f.name)
    return bad


def test_every_field_is_typed_and_of_a_mergeable_kind() -> None:
    # guards against a string-keyed bag (the old ``facts: dict[str, Any]``) coming back
    assert _untyped(KnowledgeBase) == []
    assert not hasattr(KnowledgeBase(), "facts")


@pytest.mark.parametrize(
    "spec",
    [
        ("facts", dict[str, typing.Any], field(default_factory=dict)),
        ("facts", dict, field(default_factory=dict)),
        ("loot", list[typing.Any], field(default_factory=list)),
        ("extra", typing.Any, None),
        ("count", int, 0),
    ],
)
def test_the_guard_catches_an_untyped_field(spec: tuple[str, object, object]) -> None:
    bad = make_dataclass("Bad", [("specs", list[str], field(default_factory=list)), spec])
    assert _untyped(bad) == [spec[0]]


def test_the_store_records_the_specs_from_the_typed_field() -> None:
    # The store reads the report (``report.discovery``, filled from the typed field), not
    # the scan's state (issue 14); so the kb is set on a finished scan, and read back
    # through the report the recorder stores.
    import asyncio

    from apigrade.engine.checkset import CheckSet
    from apigrade.engine.scanner import ScanOptions, build_scan
    from apigrade.store.recording import stored_discovery

    def app(environ: dict[str, typing.Any], start: typing.Callable[..., typing.Any]) -> list[bytes]:
        start("404 Not Found", [("Content-Type", "text/plain")])
        return [b""]

    token = "s3cr3t-token-value"
    opts = ScanOptions(headers=[("Authorization", f"Bearer {token}")])
    scan = build_scan(app, opts, checks=CheckSet())
    asyncio.run(scan.run())
    scan.state.kb.specs[:] = [f"http://127.0.0.1/openapi.json?key={token}", "/b.json"]
    found = stored_discovery(scan.partial_report())
    assert found is not None and len(found["specs"]) == 2
    assert found["specs"][1] == "/b.json" and token not in found["specs"][0]
    scan.state.kb.specs.clear()
    assert stored_discovery(scan.partial_report()) == {"specs": []}
