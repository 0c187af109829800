"""The lean core and its extras (issue 14, item 1).

The core (``pip install apigrade``) must scan, report, keep SQLite history, crack and run the
demo with none of the extras' packages. Rather than uninstall anything from the shared venv,
each test runs the real CLI in a subprocess whose ``sys.meta_path`` starts with a finder that
makes chosen top-level modules unimportable.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from apigrade.extras import EXTRAS, MissingExtra, installed, require

# Runs in the child: block the modules named in argv[1] (JSON), then run argv[2] as code.
_BLOCKER = """
import importlib.abc, json, sys
_blocked = frozenset(json.loads(sys.argv[1]))
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in _blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None
sys.meta_path.insert(0, _Block())
code = sys.argv[2]
del sys.argv[1:3]
exec(compile(code, '<test>', 'exec'))
"""

_CLI = "import runpy, sys\nsys.argv[0] = 'apigrade'\nrunpy.run_module('apigrade', run_name='__main__')\n"


def _run(blocked: set[str], code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _BLOCKER, json.dumps(sorted(blocked)), code, *args],
        capture_output=True, text=True, timeout=timeout,
    )


def _cli(blocked: set[str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return _run(blocked, _CLI, *args, timeout=timeout)


PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]


def _requires(name: str) -> list[str]:
    """Requirement strings of a distribution; apigrade's own from pyproject.toml (the
    installed metadata of an editable install can be older)."""
    if canonicalize_name(name) != "apigrade":
        return metadata.requires(name) or []
    extras = PYPROJECT["optional-dependencies"]
    return list(PYPROJECT["dependencies"]) + [
        f"{req}; extra == '{extra}'" for extra, reqs in extras.items() for req in reqs
    ]


def _closure(dist: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """The installed distributions ``dist`` needs with ``extras`` (names canonicalised)."""
    seen: set[str] = set()
    visited: set[tuple[str, frozenset[str]]] = set()
    todo = [(dist, extras)]
    while todo:
        name, want = todo.pop()
        key = canonicalize_name(name)
        if (key, want) in visited or key in ("pip", "setuptools"):
            continue
        visited.add((key, want))
        seen.add(key)
        for raw in _requires(name):
            req = Requirement(raw)
            envs = [{"extra": e} for e in (want or {""})]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, frozenset(req.extras)))
    return seen


def _not_core() -> set[str]:
    """Top-level modules of every installed distribution outside the core's closure."""
    core = _closure("apigrade") | {"pip", "setuptools"}
    blocked = set()
    for module, dists in metadata.packages_distributions().items():
        if module in sys.stdlib_module_names or module.startswith("__editable__"):
            continue
        if not any(canonicalize_name(d) in core for d in dists):
            blocked.add(module)
    return blocked


NOT_CORE = _not_core()


def test_the_block_list_holds_every_extra_and_nothing_of_the_core() -> None:
    for modules in EXTRAS.values():
        assert set(modules) <= NOT_CORE
    for core_module in ("httpx", "typer", "sqlalchemy", "alembic", "flask", "re2", "jwt", "yaml"):
        assert core_module not in NOT_CORE
    # the test extra is not core either: pytest only loads apigrade.testing
    assert {"hypothesis", "django", "gunicorn"} <= NOT_CORE


def test_pyproject_extras_match_the_modules_apigrade_checks() -> None:
    assert set(EXTRAS) | {"all", "test", "dev"} <= set(PYPROJECT["optional-dependencies"])
    core = _closure("apigrade")
    every = _closure("apigrade", frozenset({"all"}))
    providers = metadata.packages_distributions()
    for extra, modules in EXTRAS.items():
        with_extra = _closure("apigrade", frozenset({extra}))
        assert with_extra <= every
        for module in modules:  # each module apigrade checks comes with its extra only
            dists = {canonicalize_name(d) for d in providers[module]}
            assert dists & with_extra and not dists & core, (extra, module)
    assert _closure("apigrade", frozenset({"dev"})) >= every  # [dev] sets up everything
    assert _closure("apigrade", frozenset({"test"})) >= every  # and so does [test]
    # itsdangerous is never imported by src (Flask brings it for the demo)
    direct = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["dependencies"]}
    assert "itsdangerous" not in direct


def test_every_core_module_imports_without_any_extra() -> None:
    code = (
        "import importlib, json, pkgutil, apigrade\n"
        "bad = {}\n"
        # __main__ runs the CLI; migrations run inside alembic; testing is pytest's plugin
        "SKIP = ('apigrade.__main__', 'apigrade.store.migrations', 'apigrade.testing')\n"
        "for m in pkgutil.walk_packages(apigrade.__path__, 'apigrade.'):\n"
        "    if m.name.startswith(SKIP):\n"
        "        continue\n"
        "    try:\n"
        "        importlib.import_module(m.name)\n"
        "    except ImportError as exc:\n"
        "        bad[m.name] = exc.name\n"
        "print(json.dumps(bad))\n"
    )
    proc = _run(NOT_CORE, code)
    assert proc.returncode == 0, proc.stderr
    failed = json.loads(proc.stdout)
    # Only the FastAPI service's own modules need their extra at import time.
    serve_modules = {"apigrade.service.api", "apigrade.service.apidocs", "apigrade.service.app",
                     "apigrade.service.dashboard", "apigrade.service.hosts"}
    assert set(failed) <= serve_modules, failed
    assert "apigrade.service.app" in failed  # the blocker works
    for core in ("apigrade.cli", "apigrade.cli.fleet", "apigrade.cli.store",
                 "apigrade.mcp_server", "apigrade.fleet.distributed", "apigrade.store.database",
                 "apigrade.report.sarif", "apigrade.crack.candidates", "apigrade.demo.app"):
        assert core not in failed


def test_without_blocking_the_service_imports() -> None:
    proc = _run(set(), "import apigrade.service.app, apigrade.service.dashboard")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("extra", "args", "what"),
    [
        ("serve", ["serve", "--api-key", "k" * 16], "'apigrade serve'"),
        ("mcp", ["mcp"], "'apigrade mcp'"),
        ("fleet", ["worker", "--broker", "redis://127.0.0.1:1/0"], "'apigrade worker'"),
        ("fleet", ["scan-many", "TARGETS", "--broker", "redis://127.0.0.1:1/0"],
         "'apigrade scan-many --broker'"),
        ("postgres", ["history", "--db", "postgresql://u@127.0.0.1:1/db"],
         "a PostgreSQL history database (--db postgresql://…)"),
    ],
)
def test_a_command_without_its_extra_names_it_in_one_line(
    extra: str, args: list[str], what: str, tmp_path: Path
) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text("http://127.0.0.1:1/\n")
    args = [str(targets) if a == "TARGETS" else a for a in args]
    proc = _cli(set(EXTRAS[extra][:1]), *args, timeout=60)
    assert proc.returncode == 2, proc.stderr
    want = f"apigrade: error: {what} needs the {extra} extra: pip install 'apigrade[{extra}]'"
    assert proc.stderr.strip().splitlines() == [want]
    assert "Traceback" not in proc.stderr


def test_scan_many_without_broker_needs_no_fleet_extra(tmp_path: Path) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text("")  # nothing to scan: the command runs through without a network
    proc = _cli(NOT_CORE, "scan-many", str(targets), "--no-store", timeout=60)
    assert "extra" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sqlite_history_needs_no_extra(tmp_path: Path) -> None:
    proc = _cli(NOT_CORE, "history", "--db", f"sqlite:///{tmp_path / 'h.sqlite3'}", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ""


def test_core_commands_run_without_any_extra(tmp_path: Path) -> None:
    for args in (["checks", "--format", "json"], ["schema"], ["--help"]):
        proc = _cli(NOT_CORE, *args, timeout=60)
        assert proc.returncode == 0, (args, proc.stderr)


def test_demo_scans_without_any_extra(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    proc = _cli(NOT_CORE, "demo", "--format", "json", "--output", str(out), timeout=300)
    assert proc.returncode in (0, 1), proc.stderr  # 1: a gate, never an import error
    report = json.loads(out.read_text())
    assert report["findings"]


def test_require_passes_when_installed_and_names_the_extra_when_not() -> None:
    for extra in EXTRAS:
        assert installed(extra)  # the dev venv has [all]
        require(extra, "x")
    proc = _run({"fastapi"}, "from apigrade.extras import installed\nprint(installed('serve'))")
    assert proc.stdout.strip() == "False"
    with pytest.raises(MissingExtra) as err:
        raise MissingExtra("'apigrade serve'", "serve")
    assert err.value.exit_code == 2
    assert str(err.value) == "'apigrade serve' needs the serve extra: pip install 'apigrade[serve]'"


def test_a_postgres_engine_is_created_when_psycopg_is_there() -> None:
    from sqlalchemy.engine import make_url

    from apigrade.store.database import create_db_engine

    engine = create_db_engine(make_url("postgresql+psycopg://u@127.0.0.1/db"))  # lazy: no connect
    assert engine.dialect.driver == "psycopg"
    engine.dispose()
