"""Extension points (docs/extending.md): check, signature and reporter plugins found through
entry points, and ``apigrade scan --signatures DIR``.

The example plugin of the docs (docs/examples/plugin) is pip-installed into a throwaway
venv in tmp_path that sees the shared environment read-only (never into the shared one),
then that venv's apigrade scans a Flask app on 127.0.0.1.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from flask import Flask, Response

from apigrade import plugins
from apigrade.checks import load_checks
from apigrade.checks.plugins import add_signatures, load_plugins
from apigrade.checks.registry import REGISTRY
from apigrade.cli import main
from apigrade.errors import UsageError
from apigrade.plugins import PluginConflict, Reporter
from apigrade.report import FORMATS, extension, formats, renderer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
BROKEN_DIST = """\
Metadata-Version: 2.1
Name: apigrade-broken-plugin
Version: 0.1
"""


def target_app() -> Flask:
    """Something for each example: a debug header, a status page, a backup archive."""
    app = Flask("plugin_target")

    @app.after_request
    def debug_token(resp: Response) -> Response:
        resp.headers["X-Debug-Token"] = "a1b2c3"
        return resp

    @app.get("/")
    def index() -> str:
        return "hello"

    @app.get("/internal/status")
    def status() -> str:
        return "service ok, uptime 3 days, build 1.4.2"

    @app.get("/backup.zip")
    def backup() -> Response:
        return Response(b"PK\x03\x04" + b"\x00" * 200, mimetype="application/zip")

    return app


# -- the example plugin in a throwaway venv -------------------------------------------
@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the example plugin (and a broken plugin's metadata) installed. It sees
    the shared environment through a .pth file; nothing is installed there."""
    root = tmp_path_factory.mktemp("plugin-venv")
    env = root / "v"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120
    )
    python = env / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip()
    )  # fmt: skip
    shared = sysconfig.get_paths()["purelib"]
    (purelib / "_apigrade_shared.pth").write_text(f"import site; site.addsitedir({shared!r})\n")
    source = root / "plugin"  # a copy: building must not leave files in docs/
    shutil.copytree(EXAMPLES / "plugin", source)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-build-isolation", "--no-index", str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    broken = purelib / "apigrade_broken_plugin-0.1.dist-info"  # an entry point that cannot import
    broken.mkdir()
    (broken / "METADATA").write_text(BROKEN_DIST)
    (broken / "entry_points.txt").write_text(
        "[apigrade.checks]\nbroken = apigrade_no_such_plugin\n"
    )
    return python


def run_in(python: Path | str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "APIGRADE_DB")}
    env |= {"HOME": str(home), "XDG_DATA_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run(
        [str(python), "-m", "apigrade", *args],
        capture_output=True, text=True, timeout=600, env=env, cwd=home,
    )  # fmt: skip


def test_example_plugin_check_signature_and_reporter(
    venv: Path, serve: Callable[..., str], tmp_path: Path
) -> None:
    url = serve(target_app())
    out = tmp_path / "out"
    proc = run_in(
        venv,
        "scan",
        url,
        "--no-store",
        "-f",
        "csv",
        "-f",
        "json",
        "--output-dir",
        str(out),
        home=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    # the broken plugin: one warning line naming it, no traceback, and the scan went on
    warnings = [line for line in proc.stderr.splitlines() if "warning: plugin" in line]
    assert len(warnings) == 1, proc.stderr
    assert "'broken' (apigrade.checks = apigrade_no_such_plugin)" in warnings[0]
    assert "ModuleNotFoundError" in warnings[0]
    assert "Traceback" not in proc.stderr
    # the example check and the example signature found their problems
    found = {f["check_id"]: f for f in json.loads((out / "apigrade.json").read_text())["findings"]}
    assert found["example.debug-token-header"]["evidence"] == "X-Debug-Token: a1b2c3"
    assert found["example.status-page"]["url"] == url.rstrip("/") + "/internal/status"
    assert "example.backup-archive" not in found  # only with --signatures
    # the example reporter wrote apigrade.csv (its own extension)
    rows = list(csv.reader(io.StringIO((out / "apigrade.csv").read_text())))
    assert rows[0] == ["check", "severity", "method", "url", "title"]
    assert {r[0] for r in rows[1:]} == set(found)
    # `report` and `demo` accept the plugin format too
    again = run_in(venv, "report", str(out / "apigrade.json"), "-f", "csv", home=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == (out / "apigrade.csv").read_text()
    demo = run_in(venv, "demo", "-f", "csv", "-o", "x", "--output-dir", "y", home=tmp_path)
    assert demo.returncode == 2
    assert "give --output or --output-dir, not both" in demo.stderr  # csv itself was accepted
    # the example check is listed like a built-in one
    listed = run_in(venv, "checks", "-f", "json", home=tmp_path)
    ids = {c["id"] for c in json.loads(listed.stdout)}
    assert {"example.debug-token-header", "example.status-page"} <= ids


def test_signatures_folder_without_any_plugin(serve: Callable[..., str], tmp_path: Path) -> None:
    """The shared environment has no plugin: --signatures alone adds the user's probes."""
    url = serve(target_app())
    args = ("scan", url, "--no-store", "-f", "json")
    with_dir = run_in(
        sys.executable, *args, "--signatures", str(EXAMPLES / "signatures"), home=tmp_path
    )
    assert with_dir.returncode == 0, with_dir.stderr
    found = {f["check_id"]: f for f in json.loads(with_dir.stdout)["findings"]}
    assert found["example.backup-archive"]["url"] == url.rstrip("/") + "/backup.zip"
    assert not {"example.debug-token-header", "example.status-page"} & set(found)
    assert "warning" not in with_dir.stderr
    without = run_in(sys.executable, *args, home=tmp_path)
    assert without.returncode == 0, without.stderr
    assert "example.backup-archive" not in {
        f["check_id"] for f in json.loads(without.stdout)["findings"]
    }
    # the plugin format does not exist here
    bad = run_in(sys.executable, *args, "-f", "csv", home=tmp_path)
    assert bad.returncode == 2
    assert "bad --format 'csv'" in bad.stderr


# -- --signatures errors: one usage line, exit 2 --------------------------------------
def _scan_error(capsys: pytest.CaptureFixture[str], folder: Path) -> str:
    code = main(["scan", "http://127.0.0.1:9", "--no-store", "--signatures", str(folder)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_bad_signature_files_are_one_usage_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    load_checks()
    before = len(REGISTRY)
    assert "not a folder" in _scan_error(capsys, tmp_path / "missing")
    assert "no .toml signature files" in _scan_error(capsys, tmp_path)
    (tmp_path / "a.toml").write_text((EXAMPLES / "signatures" / "backup_archive.toml").read_text())
    (tmp_path / "b.toml").write_text("[[check]\nid = ")  # malformed TOML
    line = _scan_error(capsys, tmp_path)
    assert line.startswith("apigrade: bad --signatures") or "bad --signatures" in line
    assert "b.toml" in line
    assert len(REGISTRY) == before  # nothing half-registered
    assert "example.backup-archive" not in REGISTRY


def test_a_signature_id_already_taken_names_both(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    load_checks()
    text = (EXAMPLES / "signatures" / "backup_archive.toml").read_text()
    (tmp_path / "dup.toml").write_text(text.replace('"example.backup-archive"', '"files.dotenv"'))
    line = _scan_error(capsys, tmp_path)
    assert "'files.dotenv'" in line and tmp_path.name in line and "built-in" in line
    with pytest.raises(PluginConflict, match="clashes with"):
        add_signatures(tmp_path, "plugin 'x'")


# -- entry points, in-process (no real check is registered) ----------------------------
@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EntryPoint]]:
    eps: list[EntryPoint] = []
    monkeypatch.setattr(plugins, "entry_points", lambda group: [e for e in eps if e.group == group])
    plugins.reset()
    yield eps
    plugins.reset()


def test_a_check_plugin_that_fails_is_one_warning(
    fake_entry_points: list[EntryPoint], capsys: pytest.CaptureFixture[str]
) -> None:
    load_checks()
    before = len(REGISTRY)
    fake_entry_points.append(EntryPoint("gone", "apigrade_no_such_plugin", plugins.CHECKS))
    fake_entry_points.append(
        EntryPoint("sigs", "apigrade_no_such_plugin:folder", plugins.SIGNATURES)
    )
    load_plugins()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert err[0].startswith(
        "apigrade: warning: plugin 'gone' (apigrade.checks = apigrade_no_such_plugin) skipped: ModuleNotFoundError"
    )
    assert "'sigs'" in err[1]
    assert len(REGISTRY) == before


def test_a_check_plugin_with_a_taken_id_is_an_error_naming_both(
    fake_entry_points: list[EntryPoint], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_checks()
    module = tmp_path / "apigrade_dup_plugin.py"
    module.write_text(
        "from apigrade.checks.registry import finding_kind\n"
        "finding_kind(id='files.dotenv', title='t', category='misconfiguration', severity='low',\n"
        "             confidence='firm', cwe=1, owasp='API8:2023', description='d', remediation='r')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    fake_entry_points.append(EntryPoint("dup", "apigrade_dup_plugin", plugins.CHECKS))
    with pytest.raises(PluginConflict) as info:
        load_plugins()
    message = str(info.value)
    assert (
        "'files.dotenv'" in message
        and "'dup' (apigrade.checks" in message
        and "built-in" in message
    )
    assert isinstance(info.value, UsageError)  # exit 2, one line


def test_reporter_plugins(fake_entry_points: list[EntryPoint]) -> None:
    fake_entry_points.append(
        EntryPoint("upper", "apigrade.report.escape:one_line", plugins.REPORTERS)
    )
    fake_entry_points.append(EntryPoint("broken", "apigrade_no_such_plugin:CSV", plugins.REPORTERS))
    assert formats() == (*FORMATS, "upper")
    assert extension("upper") == ".upper"  # a bare function: named by its entry point
    assert renderer("upper") is not None
    assert renderer("broken") is None
    assert extension("json") == ".json"


def test_reporter_object_sets_name_and_extension(
    fake_entry_points: list[EntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sys.modules[__name__], "TSV", Reporter("tsv", lambda r: "x", ".tab"), raising=False
    )
    fake_entry_points.append(EntryPoint("anything", f"{__name__}:TSV", plugins.REPORTERS))
    assert "tsv" in formats() and extension("tsv") == ".tab"


@pytest.mark.parametrize(
    ("eps", "words"),
    [
        ([("json", "apigrade.report.escape:one_line")], ["'json'", "built-in"]),
        (
            [("a", "apigrade.report.escape:one_line"), ("a", "apigrade.redact:mask")],
            [
                "'a' (apigrade.reporters = apigrade.redact:mask)",
                "'a' (apigrade.reporters = apigrade.report.escape:one_line)",
            ],
        ),
    ],
)
def test_a_taken_format_name_is_an_error_naming_both(
    fake_entry_points: list[EntryPoint], eps: list[tuple[str, str]], words: list[str]
) -> None:
    fake_entry_points.extend(EntryPoint(n, v, plugins.REPORTERS) for n, v in eps)
    with pytest.raises(PluginConflict) as info:
        formats()
    for word in words:
        assert word in str(info.value)


def test_the_same_id_twice_in_one_folder_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    load_checks()
    text = (EXAMPLES / "signatures" / "backup_archive.toml").read_text()
    (tmp_path / "one.toml").write_text(text)
    (tmp_path / "two.toml").write_text(text)
    line = _scan_error(capsys, tmp_path)
    assert "'example.backup-archive'" in line and "same folder" in line
    assert "example.backup-archive" not in REGISTRY
