"""docs/cli.md is the CLI reference: checked against the real ``--help`` of every command.

The help texts come from the installed console script (a subprocess with a fixed
``COLUMNS``), exactly as a user sees them. The parser of that output is itself checked
against Click's view of the same commands, so a change of help layout fails loudly instead
of making these tests pass on nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from apigrade.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "cli.md"
README = ROOT / "README.md"
HELP_ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
#: ``--help`` is on every command; docs/cli.md says so once instead of in every table.
IMPLICIT = {"--help"}
_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z0-9][\w-]*)")
_EXTRA = re.compile(r"\s*\[([^\[\]]*)\]\s*$")  # Click's "[default: 800; x>=1]" / "[required]"


# -- the real CLI ----------------------------------------------------------------------
def _cli() -> list[str]:
    script = Path(sys.executable).with_name("apigrade")
    return [str(script)] if script.exists() else [sys.executable, "-m", "apigrade"]


@cache
def real_help(command: str) -> str:
    """``apigrade [COMMAND] --help`` as the console script prints it."""
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"} | HELP_ENV
    args = [*_cli(), *([command] if command else []), "--help"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def click_group() -> Any:
    """The Click group Typer builds (Typer >= 0.20 vendors its own Click: duck-typed)."""
    return typer.main.get_command(app)


def click_commands() -> dict[str, Any]:
    return dict(click_group().commands)


# -- parsing --help ----------------------------------------------------------------------
@dataclass
class Entry:
    """One row of a help section: its names, its help text and Click's ``[…]`` extra."""

    names: list[str]
    help: str
    extra: str = ""


@dataclass
class Help:
    options: list[Entry] = field(default_factory=list)
    arguments: list[Entry] = field(default_factory=list)
    commands: list[Entry] = field(default_factory=list)

    def option_names(self) -> set[str]:
        return {n for e in self.options for n in e.names} - IMPLICIT

    def default_of(self, name: str) -> str | None:
        for e in self.options:
            if name in e.names:
                m = re.search(r"default:\s*([^;]+)", e.extra)
                return m.group(1).strip() if m else None
        return None


def parse_help(text: str) -> Help:
    """Click's plain help layout: ``Section:`` lines, rows indented by two spaces, help text
    after two or more spaces or on deeper-indented continuation lines."""
    out = Help()
    sections = {"Options:": out.options, "Arguments:": out.arguments, "Commands:": out.commands}
    current: list[Entry] | None = None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            current = sections.get(line.strip())
            continue
        if current is None or not line.strip():
            continue
        if re.match(r"  \S", line):
            spec, rest = _split_row(line.strip())
            current.append(Entry(_names(spec, current is out.options), rest))
        elif current:
            current[-1].help = f"{current[-1].help} {line.strip()}".strip()
    for entries in sections.values():
        for e in entries:
            m = _EXTRA.search(e.help)
            if m:
                e.extra, e.help = m.group(1), e.help[: m.start()].strip()
    return out


def _split_row(row: str) -> tuple[str, str]:
    """``"-f, --format <str>  text|json"`` -> the names column and the help column."""
    parts = re.split(r"\s{2,}", row, maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def _names(spec: str, is_option: bool) -> list[str]:
    if is_option:
        return _OPTION.findall(spec)
    return [spec.split()[0]]


# -- parsing docs/cli.md -------------------------------------------------------------------
@dataclass
class DocSection:
    options: dict[str, str] = field(default_factory=dict)  # option -> its default cell
    arguments: set[str] = field(default_factory=set)


def parse_doc(text: str) -> dict[str, DocSection]:
    """``## `apigrade CMD``` sections; the first column of their option/argument tables."""
    sections: dict[str, DocSection] = {}
    current: DocSection | None = None
    table: str | None = None
    for line in text.splitlines():
        m = re.match(r"## `apigrade(?: ([\w-]+))?`\s*$", line)
        if m:
            current = sections.setdefault(m.group(1) or "", DocSection())
            table = None
            continue
        if line.startswith("## "):
            current = None
            continue
        if current is None:
            continue
        if not line.startswith("|"):
            table = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if table is None:
            table = cells[0].lower()
            continue
        if set(cells[0]) <= set("-: "):
            continue
        if table == "option":
            for name in _OPTION.findall(" ".join(re.findall(r"`([^`]*)`", cells[0]))):
                current.options[name] = cells[2] if len(cells) > 2 else ""
        elif table == "argument":
            current.arguments |= {a.strip() for a in re.findall(r"`([^`]*)`", cells[0])}
    return sections


# -- the comparison ----------------------------------------------------------------------
def problems(command: str, helptext: str, doc: dict[str, DocSection]) -> list[str]:
    """Every way ``apigrade COMMAND --help`` and docs/cli.md disagree; empty when they agree."""
    where = f"apigrade {command}".strip()
    found: list[str] = []
    parsed = parse_help(helptext)
    section = doc.get(command)
    if section is None:
        return [f"docs/cli.md has no section '## `{where}`'"]
    for e in parsed.options + parsed.arguments:
        if not e.help:
            found.append(f"{where}: {'/'.join(e.names)} has no help text")
    real = parsed.option_names()
    for name in sorted(real - set(section.options)):
        found.append(f"{where}: {name} is not documented in docs/cli.md")
    for name in sorted(set(section.options) - real):
        found.append(f"{where}: docs/cli.md lists {name}, which the command does not have")
    args = {e.names[0].upper() for e in parsed.arguments}
    documented = {a.upper() for a in section.arguments}
    for name in sorted(args ^ documented):
        found.append(f"{where}: argument {name} differs between --help and docs/cli.md")
    for name in sorted(real & set(section.options)):
        default = parsed.default_of(name)
        if default is not None and not _same_default(default, section.options[name]):
            found.append(
                f"{where}: {name} defaults to {default} but docs/cli.md says "
                f"{section.options[name] or 'nothing'}"
            )
    return found


def _same_default(real: str, cell: str) -> bool:
    values = re.findall(r"`([^`]*)`", cell) or [cell]
    for value in values:
        if value == real or value.lstrip("-") == real:  # a flag pair: [default: no-active]
            return True
        try:
            if float(value) == float(real):
                return True
        except ValueError:
            continue
    return False


# -- tests ---------------------------------------------------------------------------------
def doc() -> dict[str, DocSection]:
    return parse_doc(DOC.read_text(encoding="utf-8"))


def test_the_help_parser_sees_what_click_has() -> None:
    """The parsed --help of each command has exactly Click's options and commands."""
    commands = click_commands()
    listed = {e.names[0] for e in parse_help(real_help("")).commands}
    assert listed == {n for n, c in commands.items() if not c.hidden}
    assert len(listed) >= 15
    for name, command in {"": click_group(), **commands}.items():
        parsed = parse_help(real_help(name))
        params = command.params
        options = {o for p in params if p.param_type_name == "option" and not p.hidden
                   for o in (*p.opts, *p.secondary_opts)}  # fmt: skip
        assert parsed.option_names() == options - IMPLICIT, name
        arguments = [p for p in params if p.param_type_name == "argument"]
        assert len(parsed.arguments) == len(arguments), name


def test_every_command_has_a_section_and_no_section_is_stale() -> None:
    commands = set(click_commands())
    assert set(doc()) == commands | {""}, "one '## `apigrade CMD`' section per command"


@pytest.mark.parametrize("command", ["", *click_commands()])
def test_docs_match_the_real_help(command: str) -> None:
    """Every option is documented under its command with its default, every documented
    option exists, and every option and argument has a help text."""
    assert problems(command, real_help(command), doc()) == []


def _typer_help(command: Any) -> str:
    """``--help`` of a one-command Typer app named like ours, rendered by Typer itself."""
    tiny = typer.Typer(add_completion=False, rich_markup_mode=None)
    tiny.command("scan")(command)
    tiny.command("other")(lambda: None)  # two commands: a group, as ``apigrade`` is
    result = CliRunner().invoke(tiny, ["scan", "--help"], env=HELP_ENV, terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_new_undocumented_option_is_caught() -> None:
    """A command that grows an option not in docs/cli.md fails the check above."""

    def scan(
        url: Annotated[str, typer.Argument(help="Base URL of the target")],
        brand_new: Annotated[str | None, typer.Option("--brand-new", help="new")] = None,
    ) -> None: ...

    found = problems("scan", _typer_help(scan), doc())
    assert "apigrade scan: --brand-new is not documented in docs/cli.md" in found
    assert "apigrade scan: --max-requests is not documented in docs/cli.md" not in found


def test_an_option_or_argument_without_help_is_caught() -> None:
    def scan(
        url: str,
        max_requests: Annotated[int, typer.Option("--max-requests")] = 800,
    ) -> None: ...

    found = problems("scan", _typer_help(scan), doc())
    assert "apigrade scan: --max-requests has no help text" in found
    assert "apigrade scan: url has no help text" in found


def _new_problems(command: str, changed_doc: str) -> set[str]:
    """What a changed docs/cli.md adds to the problems of the real ``COMMAND --help``."""
    helptext = real_help(command)
    before = problems(command, helptext, doc())
    return set(problems(command, helptext, parse_doc(changed_doc))) - set(before)


def test_a_documented_option_that_does_not_exist_is_caught() -> None:
    row = "| `--max-requests N` | most requests the whole scan may send"
    text = DOC.read_text(encoding="utf-8")
    assert row in text
    text = text.replace(row, "| `--gone` | x | |\n" + row, 1)
    assert _new_problems("scan", text) == {
        "apigrade scan: docs/cli.md lists --gone, which the command does not have"
    }


def test_a_wrong_default_and_a_missing_section_are_caught() -> None:
    text = DOC.read_text(encoding="utf-8")
    wrong = text.replace("| most requests the whole scan may send, including the spec fetch and "
                         "TLS handshakes | `800` |", "| most requests | `500` |", 1)  # fmt: skip
    assert wrong != text
    assert _new_problems("scan", wrong) == {
        "apigrade scan: --max-requests defaults to 800 but docs/cli.md says `500`"
    }
    gone = text.replace("## `apigrade diff`", "## diff", 1)
    assert _new_problems("diff", gone) == {"docs/cli.md has no section '## `apigrade diff`'"}


def test_command_summaries_are_whole_sentences() -> None:
    """``apigrade --help`` lists each command with a summary Click did not cut short."""
    for entry in parse_help(real_help("")).commands:
        assert entry.help and not entry.help.endswith("..."), entry.names[0]


def test_fail_on_lists_its_values() -> None:
    for command in ("scan", "report", "scan-many"):
        entry = next(e for e in parse_help(real_help(command)).options if "--fail-on" in e.names)
        for severity in ("critical", "high", "medium", "low", "info"):
            assert severity in entry.help, (command, severity)


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    names: set[str] = set()
    for path in (ROOT / "src" / "apigrade").rglob("*.py"):
        names |= set(re.findall(r"[\"'](APIGRADE_[A-Z_]+|NO_COLOR|FORCE_COLOR)[\"']",
                                path.read_text(encoding="utf-8")))  # fmt: skip
    assert {"APIGRADE_DB", "APIGRADE_API_KEY", "APIGRADE_WEBHOOK_SECRET"} <= names
    env_table = DOC.read_text(encoding="utf-8").split("## Environment variables", 1)[1]
    env_table = env_table.split("\n## ", 1)[0]
    for name in sorted(names | {"NO_COLOR", "FORCE_COLOR"}):
        assert f"`{name}`" in env_table, f"{name} is read in src/ but not in docs/cli.md"


def test_the_json_report_summary_names_every_field() -> None:
    from apigrade.model import Finding, ScanReport

    section = DOC.read_text(encoding="utf-8").split("## The JSON report", 1)[1]
    section = section.split("\n## ", 1)[0]
    for name in [*ScanReport.model_fields, *Finding.model_fields]:
        assert f"`{name}`" in section, name


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


def test_docs_stay_in_the_repository() -> None:
    """No reference to files outside the repository; the CLI reference's links resolve."""
    for path in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and "contract.md" not in text, path
    assert "](docs/cli.md)" in README.read_text(encoding="utf-8")
    assert "](config.md)" in DOC.read_text(encoding="utf-8")
    for source in (DOC, README):
        for target, anchor in re.findall(r"\]\(([^)#:]*)(?:#([^)]*))?\)",
                                         source.read_text(encoding="utf-8")):  # fmt: skip
            path = (source.parent / target) if target else source
            if target == "config.md" and not path.exists():
                continue  # docs/config.md comes with the configuration file (issue 13, item 5)
            assert path.exists(), f"{source.name}: broken link {target}"
            if anchor and path.suffix == ".md":
                assert anchor in _anchors(path), f"{source.name}: no #{anchor} in {path.name}"


def test_in_process_limit_is_stated() -> None:
    """apigrade.scan(app) finds only linked routes (and specs): README and docs say so."""
    readme = README.read_text(encoding="utf-8").split("## Scanning an app in-process", 1)[1]
    readme = readme.split("\n## ", 1)[0]
    cli = DOC.read_text(encoding="utf-8").split("## Scanning an app in-process", 1)[1]
    for text in (readme, cli):
        assert "linked" in text or "links to" in text
        assert "spec=" in text
