"""History commands (history, show, diff, verify) and the store side of ``scan``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import apigrade.cli.options as opt
from apigrade.cli.options import DbOpt
from apigrade.errors import UsageError
from apigrade.report.escape import one_line

if TYPE_CHECKING:
    from rich.console import Console

    from apigrade.engine.scanner import Scan, ScanOptions
    from apigrade.model import ScanReport, Severity
    from apigrade.store import Comparison, Store
    from apigrade.store.recording import Recorder
    from apigrade.verify import VerifyResult

TextJsonOpt = Annotated[str, typer.Option("-f", "--format", help="text or json")]


def _say(message: str) -> None:
    print(f"apigrade: {one_line(message, 500)}", file=sys.stderr)


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise UsageError(f"bad --format {fmt!r}: one of {', '.join(allowed)}")


def _ascii_only() -> bool:
    try:
        "▁█".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return True
    return False


# -- scan --db/--no-store/--baseline ----------------------------------------------
class ScanSession:
    """The store side of one ``apigrade scan``: its row and its baseline."""

    def __init__(self, recorder: Recorder, baseline: ScanReport | None) -> None:
        self.recorder = recorder
        self.baseline = baseline
        self.comparison: Comparison | None = None
        self.trend: list[tuple[str, int]] | None = None

    def on_start(self, scan: Scan) -> None:
        self.recorder.on_start(scan)

    def interrupted(self, partial: ScanReport) -> ScanReport:
        """Ctrl-C: mark the row incomplete with what was found; the partial report, with its id."""
        self.recorder.abort(KeyboardInterrupt())
        if self.recorder.scan_id is None:
            return partial
        return partial.model_copy(update={"scan_id": self.recorder.scan_id})

    def finish(self, report: ScanReport) -> ScanReport:
        """Store the report and compare it with the baseline; returns it with its scan_id."""
        from apigrade.store import compare
        from apigrade.store.repository import target_key

        report = self.recorder.finish(report)
        if self.recorder.scan_id is not None and self.recorder.store is not None:
            _say(f"stored as scan {report.scan_id}")
            self.trend = score_trend(self.recorder.store, report.target)
        if self.baseline is not None:
            if target_key(self.baseline.target) != target_key(report.target):
                _say(f"warning: the baseline scanned another target ({self.baseline.target})")
            self.comparison = compare(self.baseline, report)
        return report


def _resolve_baseline(store: Store, url: str, baseline: str) -> ScanReport | None:
    if baseline.strip().lower() == "last":
        last = store.latest(url)
        if last is None:
            _say("warning: no earlier complete scan of this target: nothing to compare with")
            return None
        return store.report(last.scan_id)
    return store.report(baseline)


@contextmanager
def scan_session(
    url: str, options: ScanOptions, *, db: str | None, store: bool, baseline: str | None
) -> Iterator[ScanSession]:
    """Open the history (before any request), resolve ``--baseline``, record the scan."""
    from apigrade.store.recording import open_for_scan, recording

    opened = open_for_scan(db, required=baseline is not None) if (store or baseline) else None
    try:
        base = _resolve_baseline(opened, url, baseline) if (opened and baseline) else None
        with recording(url, options, enabled=store and opened is not None, store=opened) as rec:
            yield ScanSession(rec, base)
    finally:
        if opened is not None:
            opened.close()


def emit_scan(
    report: ScanReport,
    comparison: Comparison | None,
    formats: list[str],
    output: Path | None,
    output_dir: Path | None,
    err: Console,
    fail_on: Severity | None = None,
    trend: list[tuple[str, int]] | None = None,
) -> None:
    """Write the report as usual; with ``--baseline`` stdout also carries the comparison.

    Text: the report, then the comparison. json/markdown to stdout: the comparison only
    (the report is stored, or goes to ``-o``). With ``-o``/``--output-dir`` the files get
    the report and stdout the comparison.
    """
    from apigrade.checks import rule_infos
    from apigrade.report.emit import emit
    from apigrade.store.render import COMPARISON_FORMATS, render_comparison

    if comparison is None:
        emit(report, formats, output, output_dir, err, fail_on, trend, rule_infos(formats))
        return
    fmt = formats[0] if formats[0] in COMPARISON_FORMATS else "text"
    to_files = output is not None or output_dir is not None
    if to_files or formats[0] == "text":
        emit(report, formats, output, output_dir, err, fail_on, trend, rule_infos(formats))
        if not to_files:
            sys.stdout.write("\n")
    elif report.scan_id:
        _say(f"comparison on stdout; the report: apigrade show {report.scan_id} -f {formats[0]}")
    else:
        _say("comparison on stdout; the report was not stored: add -o FILE to keep it")
    sys.stdout.write(render_comparison(comparison, fmt))


# -- history / show / diff / verify ---------------------------------------------------
def history(
    url: Annotated[str | None, typer.Argument(help="only scans of this target")] = None,
    format: TextJsonOpt = "text",
    db: DbOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="newest N scans")] = 50,
) -> None:
    """List stored scans with score, grade and the score trend."""
    from apigrade.store import open_store
    from apigrade.store.render import history_json, history_text

    _check_format(format, ("text", "json"))
    with open_store(db) as store:
        records = store.history(url, limit)
    damaged = [r.scan_id for r in records if not r.date_readable]
    if damaged:
        _say(f"warning: the start date of {len(damaged)} stored scan(s) is unreadable: {', '.join(damaged)}")
    out = history_json(records) if format == "json" else history_text(records, _ascii_only())
    sys.stdout.write(out)


def show(
    scan_id: Annotated[str, typer.Argument(help="scan id (or a unique prefix)")],
    format: Annotated[list[str] | None, opt.formats()] = None,
    output: Annotated[Path | None, opt.output()] = None,
    output_dir: Annotated[Path | None, opt.output_dir(help="write one file per --format into this folder")] = None,
    db: DbOpt = None,
) -> None:
    """Render a stored scan again, in any report format."""
    from rich.console import Console

    from apigrade.checks import rule_infos
    from apigrade.report.emit import check_formats, emit
    from apigrade.store import open_store

    formats = format or ["text"]
    check_formats(formats, output, output_dir)
    with open_store(db) as store:
        record = store.get(scan_id)
        report = store.report(record.scan_id)
        trend = score_trend(store, record.target, until=record.created_at)
    if record.status != "complete":
        _say(f"warning: scan {record.scan_id} is {record.status}: the report is partial")
    emit(report, formats, output, output_dir, Console(stderr=True, highlight=False), trend=trend,
         rules=rule_infos(formats))  # fmt: skip


def score_trend(store: Store, target: str, until: Any = None) -> list[tuple[str, int]]:
    """(date, score) of the target's complete scans, oldest first, up to ``until``.

    Empty unless there are two or more: one point is not a trend.
    """
    rows = [r for r in store.history(target, limit=50)
            if r.status == "complete" and r.score is not None and r.date_readable]
    if until is not None:
        rows = [r for r in rows if r.created_at <= until]
    points = [(r.created_at.strftime("%Y-%m-%d %H:%M"), int(r.score or 0)) for r in rows]
    return points if len(points) > 1 else []


def diff(
    scan_a: Annotated[str, typer.Argument(help="the baseline scan id")],
    scan_b: Annotated[str, typer.Argument(help="the current scan id")],
    format: Annotated[str, typer.Option("-f", "--format", help="text, json or markdown")] = "text",
    db: DbOpt = None,
) -> None:
    """Compare two stored scans: fixed, new and still-open findings.

    Also the score delta: positive when the second scan scores better.
    """
    from apigrade.store import compare, open_store
    from apigrade.store.render import COMPARISON_FORMATS, render_comparison
    from apigrade.store.repository import target_key

    _check_format(format, COMPARISON_FORMATS)
    with open_store(db) as store:
        records = [store.get(scan_a), store.get(scan_b)]
        before, after = (store.report(r.scan_id) for r in records)
    notes = [f"scan {r.scan_id} is {r.status}" for r in records if r.status != "complete"]
    if target_key(before.target) != target_key(after.target):
        notes.append(f"different targets: {before.target} and {after.target}")
    note = "; ".join(notes) or None
    if note and format == "json":
        _say(f"warning: {note}")
    sys.stdout.write(render_comparison(compare(before, after), format, note))


def verify(
    scan_id: Annotated[
        str | None, typer.Argument(help="the scan to re-check (default: the latest)")
    ] = None,
    format: TextJsonOpt = "text",
    db: DbOpt = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="do not store the re-check")] = False,
    header: Annotated[list[str] | None, opt.header(help="send this header, 'Name: value' (repeatable): credentials are not stored, give them again")] = None,
    cookie: Annotated[str | None, opt.cookie(help="send these cookies, 'name=value; …' (not stored with the scan: give them again)")] = None,
    insecure: Annotated[bool | None, opt.insecure(help="do not verify the TLS certificate (default: as the scan did)")] = None,
    timeout: Annotated[float | None, opt.timeout(help="seconds for each whole exchange (default: as the scan did)")] = None,
) -> None:
    """Re-check only a stored scan's findings: fixed or still open.

    Only the checks behind the findings run again: a fraction of the requests.
    """
    from apigrade.options import parse_cookie, parse_header
    from apigrade.progress import run_with_progress
    from apigrade.store import compare, open_store
    from apigrade.store.models import VERIFY
    from apigrade.store.recording import recording
    from apigrade.store.render import render_comparison
    from apigrade.verify import no_spec_was_found, run_verify

    _check_format(format, ("text", "json"))
    headers = [parse_header(h) for h in header or []]
    cookie = parse_cookie(cookie)
    with open_store(db) as store:
        record = store.get(scan_id) if scan_id else store.latest()
        if record is None:
            raise UsageError(f"no complete scan in {store.shown_url}: run apigrade scan first")
        baseline = store.report(record.scan_id)
        if record.status != "complete":
            _say(f"warning: scan {record.scan_id} is {record.status}: re-checking partial findings")
        options = _verify_options(record.options, headers, cookie, insecure, timeout)
        if not baseline.findings:
            _say(f"scan {record.scan_id} has no findings: nothing to verify")
            nothing = baseline.model_copy(update={"requests_sent": 0})
            sys.stdout.write(render_comparison(compare(baseline, nothing), format))
            return
        with recording(
            baseline.target, options, enabled=not no_store, store=store,
            kind=VERIFY, baseline_id=record.scan_id,
        ) as rec:  # fmt: skip
            result = run_verify(
                baseline, options, runner=run_with_progress, on_start=rec.on_start,
                skip_spec_probing=no_spec_was_found(record.options),
            )  # fmt: skip
            stored = rec.finish(result.report)
    _emit_verify(result, stored, format)


def _emit_verify(result: VerifyResult, stored: ScanReport, fmt: str) -> None:
    """The comparison on stdout; what could not be proven goes with it (stderr for JSON)."""
    from apigrade.store.render import render_comparison

    current = result.comparison.current.model_copy(update={"scan_id": stored.scan_id})
    cmp = result.comparison.model_copy(update={"current": current})
    notes = []
    if result.not_rechecked:
        ids = ", ".join(f.id for f in result.not_rechecked)
        notes.append(f"not re-checked, counted as still open: {ids}.")
    if not stored.complete:
        notes.append("The re-check is incomplete (target stopped answering): 'fixed' is unproven.")
    if stored.scan_id:
        _say(f"stored as scan {stored.scan_id}")
    note = " ".join(notes) or None
    if note and fmt == "json":
        _say(f"warning: {note}")
    sys.stdout.write(render_comparison(cmp, fmt, note))


def _verify_options(
    stored: dict[str, Any],
    headers: list[tuple[str, str]],
    cookie: str | None,
    insecure: bool | None,
    timeout: float | None,
) -> ScanOptions:
    """The stored scan's options, with the credentials and overrides given now."""
    from apigrade.store.sanitize import missing_credentials, options_from_stored

    options = options_from_stored(stored)
    options.headers, options.cookie = headers, cookie
    if insecure is not None:
        options.insecure = insecure
    if timeout is not None:
        options.timeout = timeout
    missing = missing_credentials(stored, options)
    if missing:
        _say(f"warning: the scan sent {', '.join(missing)}: pass them again (-H/-b) to use them")
    return options


def register(app: typer.Typer) -> None:
    """Add history, show, diff and verify to the ``apigrade`` command line."""
    app.command()(history)
    app.command()(show)
    app.command()(diff)
    app.command()(verify)
