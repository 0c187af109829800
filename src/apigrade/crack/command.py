"""``apigrade crack COOKIE_OR_TOKEN [--wordlist PATH]``: find the signing key offline."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from apigrade import rx
from apigrade.crack.candidates import WordlistFile, default_candidates
from apigrade.crack.cracker import CrackError, CrackProgress, CrackResult, crack
from apigrade.crack.forge import forge
from apigrade.crack.tokens import SignedToken, parse_token, split_cookie
from apigrade.errors import UsageError

PLAIN_EVERY = 5.0  # seconds between progress lines when not on a terminal


# C0/C1 controls, DEL and bidi overrides (as apigrade.report.escape, without importing the
# report model: this command starts faster without pydantic).
_CONTROL = rx.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _plain(text: str, limit: int = 300) -> str:
    """One inert line without markup: control characters shown as ``\\xNN``, shortened."""
    flat = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _safe(text: str, limit: int = 300) -> str:
    """Target-supplied text made inert: one line, control characters shown as ``\\xNN``,
    Rich markup escaped, shortened to ``limit`` characters."""
    return escape(_plain(text, limit))


def _show_payload(payload: Any) -> str:
    if isinstance(payload, bytes):
        return repr(payload)
    if isinstance(payload, str):
        return json.dumps(payload, ensure_ascii=False)
    return json.dumps(payload, ensure_ascii=False, default=str)


def _describe(token: SignedToken, console: Console) -> None:
    extra = ", zlib-compressed" if token.compressed else ""
    console.print(f"[bold]{_safe(token.label)}[/] ({token.kind.value}, {token.algorithm}{extra})",
                  highlight=False)
    if token.name:
        console.print(f"  cookie:  {_safe(token.name, 80)}", highlight=False)
    console.print(f"  payload: {_safe(_show_payload(token.payload), 400)}", highlight=False)
    if token.pickled:
        console.print("  [yellow]payload is a pickle: a forged one runs code when loaded[/]")
    if token.timestamp is not None:
        legacy = " (legacy itsdangerous epoch 2011-01-01)" if token.legacy_epoch else ""
        console.print(f"  signed:  {token.timestamp:%Y-%m-%d %H:%M:%S} UTC{legacy}",
                      highlight=False)
    n = len(token.schemes)
    console.print(f"  checking {n} signature scheme{'s' if n != 1 else ''}: "
                  f"{_safe(token.schemes[0].name, 120)}{' ...' if n > 1 else ''}",
                  highlight=False)


class _Reporter:
    """Progress display: a Rich bar on a terminal, a plain line every few seconds otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: Progress | None = None
        self.task: Any = None
        self._last = time.monotonic()
        if console.is_terminal:
            self.bar = Progress(
                TextColumn("cracking"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                auto_refresh=False,  # no refresh thread: workers are forked from this process
                transient=True,
            )

    def __enter__(self) -> _Reporter:
        if self.bar is not None:
            self.bar.start()
            self.task = self.bar.add_task("crack", total=None, rate="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, p: CrackProgress) -> None:
        rate = f"{p.rate:,.0f} candidates/s"
        if self.bar is not None:
            self.bar.update(self.task, completed=p.tried, total=p.total, rate=rate)
            self.bar.refresh()
        elif time.monotonic() - self._last >= PLAIN_EVERY:
            self._last = time.monotonic()
            of = f"/{p.total:,}" if p.total else ""
            self.console.print(f"tried {p.tried:,}{of} candidates ({rate})", highlight=False)


def _report(token: SignedToken, result: CrackResult, console: Console) -> int:
    took = f"{result.tried:,} candidates tried in {result.elapsed:.2f} s " \
           f"({result.rate:,.0f}/s, {result.processes} process{'es' if result.processes > 1 else ''})"
    if result.key is None or result.scheme is None:
        console.print(f"No key found: {took}", highlight=False)
        return 1
    console.print(f"[bold red]Key found:[/] {escape(repr(result.key_text))}", highlight=False)
    console.print(f"  scheme:  {_safe(result.scheme.name, 160)}", highlight=False)
    console.print(f"  {took}", highlight=False)
    proof = forge(token, result.key, scheme=result.scheme)
    console.print(f"  re-signed with this key: {_safe(proof, 4000)}", highlight=False, soft_wrap=True)
    return 0


def run(
    value: str,
    wordlist: Path | None,
    console: Console,
    *,
    salts: Sequence[str] | None = None,
    builtin: bool = True,
    processes: int | None = None,
    err: Console | None = None,
) -> int:
    """Crack a signed cookie or token; exit code 0 key found, 1 not found, 2 bad input.

    ``value`` may be a bare value or ``name=value`` (the cookie name matters for Django).
    Candidates: the built-in defaults and the flask-unsign-wordlist list (unless
    ``builtin`` is False), then ``wordlist``. Errors go to ``err`` (default: stderr) as one
    ``apigrade: error:`` line; the result goes to ``console``.
    """
    errors = err if err is not None else Console(stderr=True, highlight=False)

    def fail(message: str, code: int = 2) -> int:
        errors.print(f"apigrade: {message}", markup=False, highlight=False, soft_wrap=True)
        return code

    name, bare = split_cookie(value)
    token = parse_token(bare, name=name, salts=salts)
    if token is None:
        return fail("error: not a signed cookie or token this tool knows (Flask/itsdangerous, "
                    "Django signing, JWT HS256/384/512, Flask-Login)")
    if wordlist is not None:
        try:
            WordlistFile(wordlist).check()  # a regular, readable file (not /dev/zero)
        except UsageError as exc:
            return fail(f"error: {_plain(str(exc))}")
    if not builtin and wordlist is None:
        return fail("error: no candidates (give a wordlist or keep the built-in lists)")
    _describe(token, console)
    candidates = default_candidates(wordlist, builtin=builtin)
    try:
        with _Reporter(console) as reporter:
            result = crack(token, candidates, processes=processes, progress=reporter)
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except (CrackError, OSError) as exc:
        return fail(f"error: {_plain(str(exc))}")
    return _report(token, result, console)
