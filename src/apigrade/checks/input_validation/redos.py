"""Parameters whose value is compiled as a regular expression (ReDoS-prone): flagged, never exploited.

The probe is a lone ``(``: harmless as text, a syntax error as a regex. A parameter is
flagged when that answer carries a regex compiler's error message ("missing ),
unterminated subpattern", "Unterminated group", "error parsing regexp" ...) that the
control value (a plain word) does not. No slow or catastrophic pattern is ever sent:
the finding says that a caller controls a regex, which lets them write one that backtracks
for minutes (``(a+)+$`` on a long input).

CWE-1333 (inefficient regular expression complexity): the contract's table has no row
for it; CWE-770 would overstate what was shown.

Bound: at most 8 parameters (names such as regex/pattern/filter first), 2 requests each.
"""

from __future__ import annotations

from apigrade import rx
from apigrade.checks.common.fanout import fan_out
from apigrade.checks.common.slots import Slot, get_endpoints, is_numeric, slots, token
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_SLOTS = 8
INVALID = "("
_NAMES = ("regex", "regexp", "re", "pattern", "pat", "filter", "match", "expr", "expression",
          "search", "q", "query", "grep", "include", "exclude", "rule", "where", "name")  # fmt: skip
_REGEX_ERRORS = rx.compile(
    r"missing \), unterminated subpattern|unterminated subpattern|\bre\.error\b|"
    r"unbalanced parenthesis|Invalid regular expression|Unterminated group|"
    r"PatternSyntaxException|Unclosed group near index|error parsing regexp|"
    r"preg_\w+\(\): Compilation failed|missing closing parenthesis|"
    r"Regular expression is invalid|invalid regular expression: parentheses|"
    r"end pattern with unmatched parenthesis|Not enough \)'s",
    rx.I,
)


def regex_error(text: str) -> str | None:
    """The regex compiler message in a body, with a little context."""
    m = _REGEX_ERRORS.search(text[:200_000])
    if m is None:
        return None
    return " ".join(text[max(0, m.start() - 30) : m.end() + 40].split())


def candidates(ctx: CheckContext) -> list[Slot]:
    methods = ("GET", "POST") if ctx.active else ("GET",)
    locations = ("query", "form", "body") if ctx.active else ("query",)
    found = []
    for slot in slots(get_endpoints(ctx, methods), locations):
        param = next((p for p in slot.endpoint.params if p.name == slot.name), None)
        if not is_numeric(param.type if param else None, slot.example):
            found.append(slot)

    def rank(slot: Slot) -> int:
        name = slot.name.lower()
        return _NAMES.index(name) if name in _NAMES else len(_NAMES)

    return sorted(found, key=rank)[:MAX_SLOTS]


async def _send(ctx: CheckContext, slot: Slot, value: str) -> Exchange | None:
    probe = slot.probe(value)
    return None if probe is None else await ctx.send(probe)


async def test_slot(ctx: CheckContext, slot: Slot) -> Hit | None:
    bad = await _send(ctx, slot, INVALID)
    err = regex_error(bad.text) if bad is not None else None
    if bad is None or err is None:
        return None
    control = await _send(ctx, slot, token())
    if control is None or regex_error(control.text) is not None:
        return None
    return Hit(
        url=slot.baseline_url() or bad.url,
        method=slot.method,
        parameter=slot.name,
        evidence=(
            f"{slot.location} parameter {slot.name!r}: {INVALID!r} -> {bad.status} "
            f"with a regex compiler error ({err[:160]}); a plain word -> "
            f"{control.status}, no error"
        ),  # fmt: skip
    )


@active(
    id="redos.user-regex",
    title="Parameter is compiled as a regular expression (ReDoS-prone)",
    category="input-validation",
    severity=Severity.LOW,
    confidence=Confidence.FIRM,
    cwe=1333,
    owasp="API8:2023",
)
async def user_regex(ctx: CheckContext) -> None:
    await fan_out(ctx, candidates(ctx), test_slot)
