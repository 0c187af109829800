"""Helpers for the fleet tests: Redis, local targets, workers, the service on a socket.

Imported by the test modules next to it (``from fleet_fixtures import *``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify
from selenium.webdriver.remote.webdriver import WebDriver

from apigrade.demo.server import serve_wsgi

APIGRADE = str(Path(sys.executable).with_name("apigrade"))
API_KEY = "test-key-0123456789"

__all__ = [
    "API_KEY", "APIGRADE", "Worker", "browser", "error_lines", "free_port", "redis_url", "run_cli",
    "serve_asgi", "serve_targets", "service", "tiny_app", "wait_for",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def tiny_app(name: str = "tiny", delay: float = 0.0, grade_f: bool = False) -> Flask:
    """A small API: a few JSON routes, each answer ``delay`` seconds late."""
    app = Flask(name)
    if grade_f:
        app.config["SECRET_KEY"] = "dev"

    @app.before_request
    def slow() -> None:
        if delay:
            time.sleep(delay)

    @app.route("/")
    def index() -> Any:
        return '<html><body><a href="/api/items">items</a> <a href="/api/users/1">u</a></body></html>'

    @app.route("/api/items")
    def items() -> Any:
        return jsonify([{"id": 1, "name": "a"}])

    @app.route("/api/users/<int:uid>")
    def user(uid: int) -> Any:
        return jsonify({"id": uid, "name": "ada"})

    return app


@contextlib.contextmanager
def serve_targets(n: int, factory: Callable[[int], Any]) -> Iterator[list[str]]:
    """``n`` apps on free loopback ports; yields their URLs, stops them all."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(serve_wsgi(factory(i))) for i in range(n)]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway redis-server on 127.0.0.1 (no persistence), stopped after the test."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed (apt-get install -y redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _connects(port), 10, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _connects(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


class Worker:
    """``apigrade worker`` in its own process group (so a kill takes its pool too)."""

    def __init__(self, broker: str, db: str, name: str, log: Path, *extra: str) -> None:
        self.name = name
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            [APIGRADE, "worker", "--broker", broker, "--db", db, "--name", name,
             "--loglevel", "INFO", *extra],
            stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"worker {self.name} exited: {self.log.read_text()[-2000:]}")
        return " ready." in self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once (a machine dying)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # any pool process left behind
        self._out.close()


def error_lines(stderr: str) -> list[str]:
    """stderr without the usage line a usage error starts with (issue 13): the error
    itself must be one line."""
    return [line for line in stderr.strip().splitlines() if not line.startswith("Usage: ")]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
    """``apigrade ARGS`` in a subprocess."""
    return subprocess.run([APIGRADE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, input=input)


@contextlib.contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """An ASGI app under uvicorn on a free loopback port, in a thread; stopped on exit."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 10, "uvicorn")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    """``apigrade serve``'s app (allows 127.0.0.1) under uvicorn; yields its URL."""
    from apigrade.engine.scanner import ScanOptions
    from apigrade.fleet.results import Results
    from apigrade.service.app import ServiceSettings, create_app
    from apigrade.service.auth import Auth
    from apigrade.service.scope import AllowList

    settings = ServiceSettings(
        auth=Auth(API_KEY), allow=AllowList(["127.0.0.1"]),
        results=Results(f"sqlite:///{tmp_path / 'dash.sqlite'}"),
        base=ScanOptions(max_requests=60),
    )
    with serve_asgi(create_app(settings)) as url:
        yield url
    settings.results.close()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """A headless Debian Chromium driven by selenium (fails the test when missing)."""
    if CHROMIUM is None or DRIVER is None:
        pytest.fail("needs Debian chromium and chromium-driver (apt-get install -y chromium "
                    "chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="apigrade-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
