"""The crack command: exit codes, output, escaping of what the token carries."""

from __future__ import annotations

import io
import secrets
from pathlib import Path

import pytest
from crack_helpers import flask_cookie
from rich.console import Console

from apigrade.crack.__main__ import main
from apigrade.crack.command import run


def console(terminal: bool = False) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=300, color_system=None), out


def test_found_exit_0() -> None:
    con, out = console()
    assert run(flask_cookie("secret-key", {"user": "bob"}), None, con) == 0
    text = out.getvalue()
    assert "Flask session cookie" in text and '"user": "bob"' in text
    assert "Key found: 'secret-key'" in text
    assert "candidates tried" in text and "re-signed with this key:" in text


def test_found_with_progress_bar_on_terminal(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_text("\n".join(f"w{i}" for i in range(40_000)) + "\nbarkey\n")
    con, out = console(terminal=True)
    code = run(f"session={flask_cookie('barkey')}", path, con, builtin=False, processes=2)
    assert code == 0
    assert "Key found: 'barkey'" in out.getvalue()


def test_not_found_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_text("alpha\nbeta\n")
    con, out = console()
    assert run(flask_cookie(secrets.token_hex(32)), path, con, builtin=False) == 1
    assert "No key found: 2 candidates tried" in out.getvalue()


@pytest.mark.parametrize("value", ["", "hello", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_bad_token_exit_2(value: str) -> None:
    con, out = console()
    err, errout = console()
    assert run(value, None, con, err=err) == 2
    assert out.getvalue() == ""  # errors go to stderr (issue 13)
    lines = errout.getvalue().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("apigrade: error: not a signed cookie")


def test_unreadable_wordlist_exit_2(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.txt", tmp_path):
        con, out = console()
        err, errout = console()
        assert run(flask_cookie("x"), path, con, err=err) == 2
        assert out.getvalue() == ""  # errors go to stderr (issue 13)
        lines = errout.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("apigrade: error: cannot read wordlist")
        assert "Traceback" not in errout.getvalue()


def test_token_content_is_escaped(tmp_path: Path) -> None:
    nasty = {"name": "[bold red]pwn[/] \x1b[31mred\x1b[0m\nline2 \u202e"}
    con, out = console()
    assert run(flask_cookie(secrets.token_hex(16), nasty), None, con, processes=1) == 1
    text = out.getvalue()
    assert "[bold red]pwn[/]" in text  # shown literally, not as markup
    assert "\x1b" not in text and "\u202e" not in text
    # A key found is shown in full, but inert too.
    path = tmp_path / "w.txt"
    path.write_bytes(b"[bold]k[/bold]\x1b\n")
    con, out = console()
    assert run(flask_cookie("[bold]k[/bold]\x1b"), path, con, builtin=False) == 0
    assert "Key found: '[bold]k[/bold]\\x1b'" in out.getvalue()
    assert "\x1b" not in out.getvalue()


def test_module_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.txt"
    path.write_text("nope\nmodkey\n")
    assert main([flask_cookie("modkey"), "--wordlist", str(path), "--no-builtin"]) == 0
    assert "Key found: 'modkey'" in capsys.readouterr().out
    assert main(["garbage"]) == 2
