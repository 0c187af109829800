"""OS command injection (CWE-78), with ``--active`` only.

Only injection points (``checks/common/injection.py``) that look like they reach a command
line are tried: by name (host, ip, addr, domain, target, cmd, exec, file, path, dir,
filename, ping, ... or a word of the name: ``target_ip``, ``logFile``) or by example value
(an IP address, a host name, a file path). Query, path and form/JSON body parameters, GET
and POST, and last path segments that are an address or host name (``/ping/10.0.0.1``).
The scanner runs only ``echo`` and ``sleep``.

1. **Output-based.** The value, then a shell separator (``;``, ``|``, ``&&``, newline,
   ``$(...)``, backticks; also after a closing ``'`` or ``"``, and ``x||``) and
   ``echo <tag>$((a*b))``. The shell computes ``a*b``: the answer must show
   ``<tag><product>``, which the payload itself does not contain, so an app that merely
   reflects the value never matches. A hit is confirmed with fresh numbers through the
   same separator (certain).
2. **Time-based**, for the first ``MAX_TIMED`` (2) candidates the output-based stage did
   not prove, one after the other: the benign value is timed twice (baseline), then
   ``sleep 2`` through each separator until one answer is at least 1.6 s slower than the
   baseline; it is confirmed by ``sleep 0`` (the same payload with zero delay: must be fast
   again, so an app slow on the word "sleep" does not count) and ``sleep 3`` (at least
   2.4 s slower than the baseline, and slower than ``sleep 2``): ``cmdi.time-based``, firm.

Bounds: at most ``MAX_SLOTS`` (6) parameters; output stage at most 9 payloads + 1
confirmation each (60 requests); time stage on at most ``MAX_TIMED`` (2) parameters, 2
baseline + 9 delay probes + 2 confirmations each (26 requests). The time stage stops once
its delay probes have taken ``PARAM_BUDGET_S`` (12 s) on a parameter or ``TIME_BUDGET_S``
(20 s) in a scan (so at most 20 s + one 3 s probe), and a parameter whose benign value
takes over ``SLOW_BASELINE_S`` (3 s) is not timed.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field

from apigrade import rx
from apigrade.checks.common.fanout import gather_bounded
from apigrade.checks.common.injection import InjectionPoint, points
from apigrade.checks.common.slots import Slot, is_numeric, token
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

CHECK = "cmdi.os-command"
TIME_KIND = "cmdi.time-based"
MAX_SLOTS = 6
MAX_TIMED = 2
TIME_BUDGET_S = 20.0  # seconds of delay probes in one scan
PARAM_BUDGET_S = 12.0  # ... and for one parameter
DELAY = 2  # seconds of the first sleep
CONFIRM_DELAY = 3  # seconds of the confirming sleep
SLOW_BASELINE_S = 3.0  # a parameter whose benign value takes longer is not timed
MARGIN = 0.8  # of the requested delay an answer must add over the baseline

finding_kind(
    id=TIME_KIND,
    parent=CHECK,
    title="OS command injection (time-based, blind)",
    category="input-validation",
    severity=Severity.HIGH,
    confidence=Confidence.FIRM,
    cwe=78,
    owasp="API8:2023",
)

#: names of parameters that often end up on a command line (normalised: lower, no _ - .)
_NAMES = frozenset({
    "host", "hostname", "ip", "ipaddr", "ipaddress", "addr", "address", "domain", "target",
    "server", "dns", "ping", "traceroute", "nslookup", "dig", "whois", "cmd", "command",
    "exec", "execute", "run", "shell", "arg", "args", "argv", "option", "options", "file",
    "filename", "filepath", "fname", "path", "dir", "directory", "folder", "log", "logfile",
    "daemon", "process", "proc", "module", "lib", "binary", "program", "script", "device",
    "iface", "interface", "port", "url", "uri", "zip", "archive", "convert", "format",
})  # fmt: skip
#: fragments that mark a longer name (``remote_host``, ``cmdline``, ``uploadPath``)
_NAME_PARTS = ("host", "cmd", "command", "exec", "filename", "filepath", "path", "addr", "domain")
_NON_ALNUM = rx.compile(r"[^a-z0-9]")
_WORDS = rx.compile(r"[A-Z]+[a-z0-9]*|[a-z0-9]+")
_HOSTNAME = rx.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}$")
_FILE = rx.compile(r"^(?:[./~]|[A-Za-z]:\\)[\w./\\~-]{0,200}$|^[\w-]{1,64}\.[A-Za-z0-9]{1,5}$")


def _norm(name: str) -> str:
    return _NON_ALNUM.sub("", name.lower())


_FILE_EXTENSIONS = frozenset({
    "html", "htm", "php", "asp", "aspx", "jsp", "js", "mjs", "css", "json", "xml", "txt",
    "pdf", "png", "jpg", "jpeg", "gif", "svg", "ico", "md", "csv", "zip", "map", "woff",
})  # fmt: skip


def _hostish(example: str) -> bool:
    """An IP address, ``localhost`` or a host name (not a file name like ``index.html``)."""
    try:
        ipaddress.ip_address(example)
        return True
    except ValueError:
        pass
    if example == "localhost":
        return True
    tld = example.rsplit(".", 1)[-1].lower()
    return bool(_HOSTNAME.match(example)) and tld not in _FILE_EXTENSIONS


def _example_looks_commandish(example: str) -> bool:
    return bool(example) and (_hostish(example) or bool(_FILE.match(example)))


def _name_rank(name: str) -> int:
    """0: a command-like name (or word of it), 1: contains a command-like fragment, 2: no."""
    words = {_norm(w) for w in _WORDS.findall(name)}
    if _norm(name) in _NAMES or words & _NAMES:
        return 0
    return 1 if any(part in _norm(name) for part in _NAME_PARTS) else 2


def looks_commandish(slot: Slot) -> bool:
    """A parameter named or valued like a host, address, file, path or command; a path
    segment only when it is a host or address (``/ping/10.0.0.1``)."""
    if isinstance(slot, InjectionPoint) and slot.kind == "segment":
        return _hostish(slot.example or "")
    return _name_rank(slot.name) < 2 or _example_looks_commandish(slot.example or "")


#: the names most often passed to network tools and shells (tried first)
_STRONG = frozenset({
    "host", "hostname", "ip", "ipaddr", "ipaddress", "addr", "address", "domain", "target",
    "dns", "ping", "traceroute", "nslookup", "dig", "whois", "cmd", "command", "exec",
    "execute", "run", "shell", "arg", "args", "argv",
})  # fmt: skip


def _rank(slot: Slot) -> tuple[int, int, int]:
    """Strong names and address-like values first, then other command-like names, then
    file-like values; typed numbers last within each."""
    words = {_norm(w) for w in _WORDS.findall(slot.name)} | {_norm(slot.name)}
    example = slot.example or ""
    if words & _STRONG or (example and _hostish(example)):
        tier = 0
    else:
        tier = 1 + _name_rank(slot.name)  # 1, 2, or 3 (chosen for a file-like value)
    param = next((p for p in slot.endpoint.params if p.name == slot.name), None)
    typed_number = param is not None and param.type in ("integer", "number", "boolean")
    return (tier, 1 if typed_number else 0, 0 if slot.method == "GET" else 1)


#: injection points (``checks/common/injection.py``) a command line may take a value from;
#: a path segment counts when it looks like a host or file (``/ping/10.0.0.1``)
KINDS = ("query", "path", "segment", "form", "body")


def candidates(ctx: CheckContext) -> list[InjectionPoint]:
    """Command-like parameters, best first, at most ``MAX_SLOTS``."""
    found = points(ctx, KINDS)
    chosen = [
        s
        for s in found
        if looks_commandish(s) and not (is_numeric(None, s.example) and _name_rank(s.name) > 0)
    ]
    return sorted(chosen, key=_rank)[:MAX_SLOTS]


def base_value(slot: Slot) -> str:
    """The value the payload extends: the example, else one of the parameter's kind."""
    if slot.example:
        return slot.example
    name = _norm(slot.name)
    if any(p in name for p in ("file", "path", "dir", "log")):
        return "test.txt"
    return "127.0.0.1"


# -- output-based --------------------------------------------------------------------------

#: (label, template): ``{v}`` the benign value, ``{c}`` the command to inject
SEPARATORS: tuple[tuple[str, str], ...] = (
    (";", "{v};{c}"),
    ("|", "{v}|{c}"),
    ("&&", "{v}&&{c}"),
    ("newline", "{v}\n{c}"),
    ("$()", "{v}$({c})"),
    ("backticks", "{v}`{c}`"),
    ("';", "{v}';{c};'"),
    ('";', '{v}";{c};"'),
    ("||", "x||{c}"),
)


@dataclass(frozen=True)
class Marker:
    """``echo <tag>$((a*b))``: the shell prints ``<tag><a*b>``, the payload does not."""

    tag: str = field(default_factory=lambda: "apg" + token(6))
    a: int = field(default_factory=lambda: 1_000 + secrets.randbelow(9_000))
    b: int = field(default_factory=lambda: 1_000 + secrets.randbelow(9_000))

    @property
    def command(self) -> str:
        return f"echo {self.tag}$(({self.a}*{self.b}))"

    @property
    def expected(self) -> str:
        return f"{self.tag}{self.a * self.b}"


def payload(slot: Slot, template: str, command: str) -> str:
    return template.format(v=base_value(slot), c=command)


async def _send(ctx: CheckContext, slot: Slot, value: str) -> Exchange | None:
    probe = slot.probe(value)
    return None if probe is None else await ctx.send(probe)


def _label(slot: Slot) -> str:
    if isinstance(slot, InjectionPoint):
        return slot.label
    return f"{slot.location} parameter {slot.name!r}"


def _parameter(slot: Slot) -> str | None:
    return slot.parameter if isinstance(slot, InjectionPoint) else slot.name


def _excerpt(text: str, needle: str) -> str:
    at = text.find(needle)
    return " ".join(text[max(0, at - 40) : at + len(needle) + 20].split())


async def output_based(ctx: CheckContext, slot: Slot) -> Hit | None:
    """Each separator in turn until the shell's arithmetic shows, then a confirmation."""
    for label, template in SEPARATORS:
        first = Marker()
        ex = await _send(ctx, slot, payload(slot, template, first.command))
        if ex is None:
            return None
        if first.expected not in ex.text:
            continue
        second = Marker()
        again = await _send(ctx, slot, payload(slot, template, second.command))
        if again is None or second.expected not in again.text:
            return None
        shown = payload(slot, template, second.command).replace("\n", "\\n")
        return Hit(
            url=slot.baseline_url() or again.url,
            method=slot.method,
            parameter=_parameter(slot),
            evidence=(
                f"{_label(slot)}: {shown!r} -> {again.status}, the answer shows "
                f"{second.expected!r} ({second.a}*{second.b} computed by a shell): "
                f"...{_excerpt(again.text, second.expected)}...; confirmed twice through {label}"
            ),
        )
    return None


# -- time-based ----------------------------------------------------------------------------


class TimeBudget:
    """Seconds the time-based stage may still spend (delay probes and their confirmations,
    as measured), in the scan and, through ``within``, for one parameter."""

    def __init__(self, seconds: float = TIME_BUDGET_S, parent: TimeBudget | None = None):
        self.left = seconds
        self.parent = parent

    def within(self, seconds: float) -> TimeBudget:
        return TimeBudget(seconds, parent=self)

    def allows(self, seconds: float) -> bool:
        return self.left >= seconds and (self.parent is None or self.parent.allows(seconds))

    def spend(self, seconds: float | None) -> None:
        self.left -= seconds or 0.0
        if self.parent is not None:
            self.parent.spend(seconds)


async def _timed(ctx: CheckContext, slot: Slot, value: str) -> float | None:
    ex = await _send(ctx, slot, value)
    return None if ex is None else ex.response.elapsed


async def time_based(ctx: CheckContext, slot: Slot, scan_budget: TimeBudget) -> Hit | None:
    """``sleep 2`` through each separator; ``sleep 0`` and ``sleep 3`` confirm."""
    budget = scan_budget.within(PARAM_BUDGET_S)
    base = [await _timed(ctx, slot, base_value(slot)) for _ in range(2)]
    if any(b is None for b in base):
        return None
    baseline = max(b for b in base if b is not None)
    if baseline > SLOW_BASELINE_S:
        return None
    for label, template in SEPARATORS:
        if not budget.allows(DELAY):
            return None
        slow = await _timed(ctx, slot, payload(slot, template, f"sleep {DELAY}"))
        budget.spend(slow)
        if slow is None:
            return None
        if slow - baseline < DELAY * MARGIN:
            continue
        zero = await _timed(ctx, slot, payload(slot, template, "sleep 0"))
        budget.spend(zero)
        if zero is None or zero - baseline >= DELAY * MARGIN / 2:
            return None  # slow whatever the delay: not the sleep's doing
        if not budget.allows(CONFIRM_DELAY):
            return None
        longer = await _timed(ctx, slot, payload(slot, template, f"sleep {CONFIRM_DELAY}"))
        budget.spend(longer)
        if longer is None or longer - baseline < CONFIRM_DELAY * MARGIN or longer <= slow:
            return None
        return Hit(
            url=slot.baseline_url() or slot.endpoint.url,
            method=slot.method,
            parameter=_parameter(slot),
            check=TIME_KIND,
            evidence=(
                f"{_label(slot)} through {label}: benign value {baseline:.2f} s; "
                f"'sleep {DELAY}' {slow:.2f} s; 'sleep 0' {zero:.2f} s; "
                f"'sleep {CONFIRM_DELAY}' {longer:.2f} s"
            ),
        )
    return None


@active(
    id=CHECK,
    title="OS command injection",
    category="input-validation",
    severity=Severity.CRITICAL,
    confidence=Confidence.CERTAIN,
    cwe=78,
    owasp="API8:2023",
)
async def command_injection(ctx: CheckContext) -> None:
    """Output-based probes on command-like parameters, then bounded time-based ones."""
    if not ctx.active:
        return
    chosen = candidates(ctx)
    found = await gather_bounded(ctx, chosen, output_based)
    blind: list[InjectionPoint] = []
    for slot, hit in zip(chosen, found, strict=True):
        if hit is not None:
            ctx.report(hit)
        else:
            blind.append(slot)
    budget = TimeBudget()
    for slot in blind[:MAX_TIMED]:  # one after the other: timings must not overlap
        hit = await time_based(ctx, slot, budget)
        if hit is not None:
            ctx.report(hit)
