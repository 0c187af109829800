"""Fixtures: a real PostgreSQL server, a database URL per backend, the demo and its fix."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PG_BIN_ENV = "APIGRADE_PG_BIN"  # a directory with initdb and pg_ctl, if not the default
PG_BIN_DEFAULT = Path("/usr/lib/postgresql/15/bin")
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path:
    candidates = [Path(os.environ[PG_BIN_ENV])] if os.environ.get(PG_BIN_ENV) else []
    candidates += [PG_BIN_DEFAULT, *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]
    which = shutil.which("initdb")
    if which:
        candidates.append(Path(which).parent)
    for path in candidates:
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    pytest.fail(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in "
        f"{PG_BIN_DEFAULT} or on PATH: install them (Debian/Ubuntu: "
        f"apt-get install -y postgresql) or set {PG_BIN_ENV}=/path/to/bin",
        pytrace=False,
    )


def _as_postgres(argv: list[str]) -> list[str]:
    """initdb refuses root: run the server tools as the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return argv
    if shutil.which("runuser") is None:
        pytest.fail(
            "running as root needs runuser to start PostgreSQL as 'postgres'", pytrace=False
        )
    return ["runuser", "-u", "postgres", "--", *argv]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1:PORT; yields its admin SQLAlchemy URL."""
    bin_dir = _pg_bin()
    tmp = Path(tempfile.mkdtemp(prefix="apigrade-pg-"))
    if os.geteuid() == 0:
        try:
            shutil.chown(tmp, user="postgres", group="postgres")
        except (LookupError, OSError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            pytest.fail(f"cannot hand {tmp} to the 'postgres' user: {exc}", pytrace=False)
    data, port = tmp / "data", free_port()

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _as_postgres(argv), capture_output=True, text=True, timeout=60, cwd=tmp
        )

    init = run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--no-sync"])  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stderr.strip()[-500:]}", pytrace=False)
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off")  # fmt: skip
    ctl = str(bin_dir / "pg_ctl")
    start = run([ctl, "-D", str(data), "-o", opts, "-l", str(tmp / "log"), "-w", "start"])
    try:
        if start.returncode != 0:
            log = (tmp / "log").read_text(errors="replace")[-800:] if (tmp / "log").exists() else ""
            pytest.fail(f"PostgreSQL did not start: {start.stderr.strip()} {log}", pytrace=False)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        run([ctl, "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(tmp, ignore_errors=True)


def new_pg_database(admin_url: str) -> str:
    """CREATE DATABASE a fresh one on the test server; returns its URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite3'}"
    return new_pg_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.sqlite3'}"


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m apigrade ARGS`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "apigrade", *args],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )  # fmt: skip


def debug_demo_app() -> Callable[..., Any]:
    """The misconfigured demo behind Werkzeug's debugger, tracebacks kept off stderr."""
    from apigrade.demo.app import create_debug_app

    app = create_debug_app()

    def quiet(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.errors"] = io.StringIO()
        return app(environ, start_response)

    return quiet


def fixed_demo_app() -> Any:
    """The demo with its mistakes fixed (bench/verify/fixed_app.py)."""
    import importlib.util

    path = REPO / "bench" / "verify" / "fixed_app.py"
    spec = importlib.util.spec_from_file_location("apigrade_bench_fixed_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.create_fixed_app()


@contextlib.contextmanager
def serving(app: Any, port: int = 0) -> Iterator[str]:
    from apigrade.demo.server import serve_wsgi

    with serve_wsgi(app, port=port) as url:
        yield url
