"""Declared knowledge-base access: ``ctx.kb`` gives a check only the fields it declared,
and the registry rejects a phase order in which a read cannot see its writer."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from apigrade.checks import load_checks
from apigrade.checks.context import CheckContext, DebuggerFacts, Hit, KbAccessError, ScanState
from apigrade.checks.knowledge_base import KB_FIELDS, KnowledgeBase
from apigrade.checks.registry import REGISTRY, Check, CheckMeta, Registry, RegistryError, active
from apigrade.engine.analysis import Setup, analyse
from apigrade.engine.http import Exchange, Probe, Response
from apigrade.engine.target import Target

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ROOT / "src" / "apigrade" / "checks"
TARGET = Target.parse("http://127.0.0.1:1/")
META = dict(
    title="t", category="misconfiguration", severity="low", confidence="firm", cwe=16,
    owasp="API8:2023", description="d", remediation="r",
)  # fmt: skip


def _ctx(check_id: str, kb: KnowledgeBase | None = None) -> CheckContext:
    state = ScanState(target=TARGET, engine=cast(Any, None), baseline=cast(Any, None))
    if kb is not None:
        state.kb = kb
    return CheckContext(state, check_id, lambda _kind, _hit: None)


def _check(cid: str, kind: str = "active", phase: int = 1, **kb: tuple[str, ...]) -> Check:
    return Check(meta=CheckMeta(id=cid, **cast(Any, META)), kind=kind, fn=None, phase=phase, **kb)


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Checks registered inside the test are gone afterwards (the process shares REGISTRY)."""
    load_checks()
    for name in ("_checks", "_metas", "_parents", "_engine"):
        monkeypatch.setattr(REGISTRY, name, dict(getattr(REGISTRY, name)))
    yield


# -- ctx.kb gives only what was declared ------------------------------------------------
def test_an_undeclared_read_fails_naming_the_check_and_the_field() -> None:
    load_checks()
    ctx = _ctx("inventory.openapi-spec", KnowledgeBase(specs=["/openapi.json"], words={"Shop"}))
    assert list(ctx.kb.specs) == ["/openapi.json"]  # declared: reads=("specs",)
    with pytest.raises(KbAccessError) as info:
        _ = ctx.kb.words
    assert "'inventory.openapi-spec'" in str(info.value) and "ctx.kb.words" in str(info.value)
    with pytest.raises(KbAccessError):
        getattr(ctx.kb, "secret_keys", None)  # not hidden by a default


def test_a_write_to_a_read_only_field_fails_and_the_copy_is_frozen() -> None:
    load_checks()
    kb = KnowledgeBase(werkzeug_debugger=DebuggerFacts(version_hint="2.0"))
    reader = _ctx("flask.werkzeug-vulnerable-version", kb)  # reads=("werkzeug_debugger",)
    assert reader.kb.werkzeug_debugger == DebuggerFacts(version_hint="2.0")
    with pytest.raises(KbAccessError, match="may not write ctx.kb.werkzeug_debugger"):
        reader.kb.werkzeug_debugger = None
    specs = _ctx("bfla.admin-function", KnowledgeBase(specs=["/a.json"])).kb.specs
    with pytest.raises(KbAccessError, match="'bfla.admin-function' may only read"):
        specs.append("/b.json")  # type: ignore[attr-defined]
    assert kb.werkzeug_debugger is not None


def test_written_fields_are_live_and_read_fields_are_snapshots() -> None:
    load_checks()
    kb = KnowledgeBase(specs=["/a.json"])
    _ctx("flask.debug-toolbar", kb).kb.secret_keys.append(("k", "/"))  # writes=("secret_keys",)
    assert kb.secret_keys == [("k", "/")]
    snapshot = _ctx("inventory.openapi-spec", kb).kb.specs
    kb.specs.append("/b.json")
    assert list(snapshot) == ["/a.json"]  # a copy, not the scan's list
    weak = _ctx("auth.weak-signing-key", kb)  # reads and writes secret_keys: live
    assert weak.kb.secret_keys is kb.secret_keys


def test_an_unregistered_check_gets_no_knowledge_base() -> None:
    with pytest.raises(KbAccessError, match="'demo.unregistered' is not registered"):
        _ = _ctx("demo.unregistered").kb.specs


# -- the same in the analysis pool's worker function ------------------------------------
def sneaky_passive(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """Reads a field it did not declare (for the pool test)."""
    if ctx.kb.secret_keys:
        yield Hit(url=exchange.url)


def _exchange(body: str) -> Exchange:
    resp = Response(status=200, headers=(("Content-Type", "text/plain"),), body=body.encode())
    return Exchange(probe=Probe(url=TARGET.url), response=resp, url=TARGET.url)


def test_passive_checks_in_the_pool_get_only_their_declaration(scratch_registry: None) -> None:
    meta = CheckMeta(id="demo.sneaky", **cast(Any, META))
    REGISTRY.add(Check(meta=meta, kind="passive", fn=sneaky_passive))  # declares nothing
    refs = (
        ("demo.sneaky", __name__, "sneaky_passive"),
        ("secrets.exposed-secret", "apigrade.checks.data_exposure.secrets", "exposed_secrets"),
    )
    body = "aws_access_key_id = AKIAZ7QW3ERT5YUI9OPA"
    result = analyse(Setup(target=TARGET, checks=refs), KnowledgeBase(), [_exchange(body)])
    [item] = result.items
    [(failed, error)] = item.failures
    assert failed == "demo.sneaky" and isinstance(error, KbAccessError)
    assert "ctx.kb.secret_keys" in str(error)
    # the declared writer still adds to the knowledge base, and the delta carries it back
    assert [kind for kind, _ in item.hits] == ["secrets.exposed-secret"]
    assert result.kb.reported_secrets and not result.kb.secret_keys


async def test_the_pool_worker_enforces_the_declaration_too() -> None:
    """In a real worker process: the sneaky check is not registered there, so it gets no
    knowledge base at all, while the declared writer's additions travel back."""
    from apigrade.engine import offload

    refs = (
        ("demo.sneaky", __name__, "sneaky_passive"),
        ("secrets.exposed-secret", "apigrade.checks.data_exposure.secrets", "exposed_secrets"),
    )
    setup = Setup(target=TARGET, checks=refs, sys_path=tuple(sys.path))
    body = "aws_access_key_id = AKIAZ7QW3ERT5YUI9OPA"
    result = await offload.run(analyse, setup, KnowledgeBase(), [_exchange(body)], deadline=60)
    assert result is not None
    [item] = result.items
    [(failed, error)] = item.failures
    assert failed == "demo.sneaky" and "ctx.kb" in str(error)
    assert result.kb.reported_secrets


# -- declarations are validated at import -------------------------------------------------
def test_an_unknown_field_name_is_an_error_at_import(scratch_registry: None) -> None:
    with pytest.raises(RegistryError, match="unknown knowledge-base field.*'spec'"):

        @active(id="demo.typo", reads=("spec",), **META)
        async def typo(ctx: CheckContext) -> None: ...

    with pytest.raises(RegistryError, match="tuple of field names"):
        active(id="demo.string", writes="specs", **META)
    assert "demo.typo" not in REGISTRY


# -- the phase order ------------------------------------------------------------------------
def test_a_read_in_the_same_phase_as_its_active_writer_is_rejected() -> None:
    reg = Registry()
    reg.add(_check("demo.writer", phase=1, writes=("werkzeug_debugger",)))
    with pytest.raises(RegistryError) as info:
        reg.add(_check("demo.reader", phase=1, reads=("werkzeug_debugger",)))
    assert "'demo.reader' (phase 1) reads ctx.kb.werkzeug_debugger" in str(info.value)
    assert "phase=2" in str(info.value) and "demo.reader" not in reg
    reg.add(_check("demo.later", phase=2, reads=("werkzeug_debugger",)))  # later: fine
    with pytest.raises(RegistryError, match="'demo.passive' \\(passive\\)"):
        reg.add(_check("demo.passive", kind="passive", reads=("werkzeug_debugger",)))


def test_the_order_is_checked_whichever_is_registered_first() -> None:
    reg = Registry()
    reg.add(_check("demo.reader", phase=2, reads=("tokens",)))
    with pytest.raises(RegistryError, match="which 'demo.writer' writes in phase 2"):
        reg.add(_check("demo.writer", phase=2, writes=("tokens",)))
    assert reg.kb_order_problems() == []


def test_passive_writers_discovery_and_own_writes_are_earlier() -> None:
    reg = Registry()
    reg.declare_engine("engine.discover", writes=("specs",))
    reg.add(_check("demo.toolbar", kind="passive", writes=("secret_keys",)))
    reg.add(
        _check("demo.cracker", phase=1, reads=("secret_keys", "specs"), writes=("secret_keys",))
    )
    reg.add(_check("demo.spec-reader", kind="passive", reads=("specs",)))
    assert reg.kb_order_problems() == []
    assert reg.kb_writers("secret_keys") == ["demo.cracker", "demo.toolbar"]
    assert reg.kb_writers("specs") == ["engine.discover"]


def test_a_phase_order_violation_is_rejected_through_the_decorator(scratch_registry: None) -> None:
    with pytest.raises(RegistryError, match="'flask.werkzeug-debugger' writes in phase 1"):

        @active(id="demo.too-early", reads=("werkzeug_debugger",), **META)
        async def too_early(ctx: CheckContext) -> None: ...

    assert "demo.too-early" not in REGISTRY


# -- the real registry ------------------------------------------------------------------------
def _kb_fields_used(path: Path) -> set[str]:
    """Knowledge-base fields a module touches as ``ctx.kb.NAME``."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "kb"
            and node.attr in KB_FIELDS
        ):
            used.add(node.attr)
    return used


def test_the_real_registry_passes_and_every_kb_user_declares() -> None:
    import apigrade.engine.discover  # noqa: F401 - declares discovery's writes

    load_checks()
    assert REGISTRY.kb_order_problems() == []
    assert REGISTRY.kb_writers("specs")[0] == "engine.discover"
    assert REGISTRY.kb_writers("werkzeug_debugger") == ["flask.werkzeug-debugger"]
    assert "flask.werkzeug-vulnerable-version" in REGISTRY.kb_readers("werkzeug_debugger")
    declared: dict[str, set[str]] = {}
    for check in REGISTRY.checks():
        module = sys.modules.get(getattr(check.fn, "__module__", ""), None)
        if module is not None and getattr(module, "__file__", None):
            declared.setdefault(module.__file__, set()).update(check.reads, check.writes)
    users = {p: _kb_fields_used(p) for p in CHECKS.rglob("*.py") if p.name != "context.py"}
    for path, used in users.items():
        if not used or path.name == "__init__.py":
            continue  # helpers in a package are covered by the checks that call them
        assert used <= declared.get(str(path), set()), f"{path.name} uses undeclared {used}"


def test_the_example_plugin_check_still_loads(scratch_registry: None) -> None:
    plugin = ROOT / "docs" / "examples" / "plugin"
    sys.path.insert(0, str(plugin))
    try:
        import apigrade_example.checks as example
    finally:
        sys.path.remove(str(plugin))
        for name in [m for m in sys.modules if m.startswith("apigrade_example")]:
            del sys.modules[name]
    check = REGISTRY.runnable("example.debug-token-header")
    assert check is not None and check.fn is example.debug_token_header
    assert (check.reads, check.writes) == ((), ())
    assert REGISTRY.kb_order_problems() == []


PLUGIN = """\
from apigrade.checks.registry import active, passive

META = dict(title="t", category="misconfiguration", severity="low", confidence="firm",
            cwe=16, owasp="API8:2023", description="d", remediation="r")


@passive(id="kbplugin.reader", reads=("specs",), **META)
def reader(exchange, ctx):
    return ()


@active(id="kbplugin.{name}", phase={phase}, reads=("werkzeug_debugger",), **META)
async def late(ctx):
    return None
"""


@pytest.mark.parametrize("phase", [2, 1])
def test_a_plugin_check_declares_and_is_order_checked(
    phase: int,
    scratch_registry: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from importlib.metadata import EntryPoint

    from apigrade import plugins
    from apigrade.checks.plugins import load_plugins

    module = f"apigrade_kb_plugin_{phase}"
    name = "late" if phase == 2 else "early"
    (tmp_path / f"{module}.py").write_text(PLUGIN.format(name=name, phase=phase))
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [EntryPoint("kb", module, plugins.CHECKS)]
    monkeypatch.setattr(plugins, "entry_points", lambda group: [e for e in eps if e.group == group])
    plugins.reset()
    try:
        load_plugins()
    finally:
        plugins.reset()
        sys.modules.pop(module, None)
    err = capsys.readouterr().err
    reader = REGISTRY.runnable("kbplugin.reader")
    assert reader is not None and reader.reads == ("specs",)
    if phase == 2:
        assert err == "" and REGISTRY.runnable("kbplugin.late") is not None
    else:  # reads what flask.werkzeug-debugger writes in the same phase: skipped, one line
        assert err.count("\n") == 1 and "plugin 'kb'" in err and "phase=2 or later" in err
        assert "kbplugin.early" not in REGISTRY
