"""Error-based SQL injection: a quote breaks the query, balanced quotes mend it.

For each parameter (query and path; form and JSON bodies only with --active):

1. baseline: the request with a benign value (the example, or ``test``/``1``);
2. ``value'`` (then ``value"`` when the single quote changed nothing): a database
   error signature that the baseline does not show, or a 5xx where the baseline
   was not one;
3. confirmation, which must restore the baseline (same status, no SQL error):
   ``value''`` (balanced quotes: a string literal closed and reopened), or for a
   numeric parameter ``value-0`` (SQL evaluates the arithmetic, a plain integer
   parser rejects it).

A SQL error signature plus a restoring confirmation is reported as certain. A bare
5xx is reported only when three quotes fail again (odd quotes fail, even quotes do
not), and then as tentative. The passive ``errors.verbose-error`` check reports the
error message itself; this check proves the input reaches the query.

Bound: at most ``MAX_SLOTS`` (10) parameters, at most 6 requests each (3 for a
parameter that shows nothing): at most 60 requests.
"""

from __future__ import annotations

from apigrade import knowledge
from apigrade.checks.common.fanout import fan_out
from apigrade.checks.common.slots import Slot, get_endpoints, is_numeric, slots
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.discovery.model import Param
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_SLOTS = 10
MAX_TEXT = 200_000
QUOTES = ("'", '"')


def _sql_errors() -> tuple[knowledge.DbError, ...]:
    """Database error signatures (``data/db_errors.toml``): driver exception names and the
    engines' own messages."""
    return knowledge.db_errors("sqli.error-based")


_sql_errors()  # read and validated at import: a bad table fails the build


def sql_error(text: str) -> tuple[str, str] | None:
    """(engine, matched text) of the first SQL error signature in a body."""
    text = text[:MAX_TEXT].replace('\\"', '"')  # JSON-escaped messages
    for entry in _sql_errors():
        m = entry.pattern.search(text)
        if m:
            return entry.dbms, " ".join(text[m.start() : m.end() + 80].split())
    return None


# -- where to inject --------------------------------------------------------------
_LIKELY = ("id", "user_id", "uid", "name", "q", "search", "query", "username", "email",
           "category", "sort", "order", "filter", "type", "page", "item", "product")  # fmt: skip


def _param(slot: Slot) -> Param | None:
    return next((p for p in slot.endpoint.params if p.name == slot.name), None)


def numeric(slot: Slot) -> bool:
    param = _param(slot)
    return is_numeric(param.type if param else None, slot.example)


def value_of(slot: Slot) -> str:
    """The benign value the payloads extend."""
    if slot.example:
        return slot.example
    param = _param(slot)
    return "1" if param is not None and param.type in ("integer", "number") else "test"


def candidates(ctx: CheckContext) -> list[Slot]:
    """Parameters to try, likely names first, at most MAX_SLOTS."""
    methods = ("GET", "POST") if ctx.active else ("GET",)
    locations = ("query", "path", "form", "body") if ctx.active else ("query", "path")
    found = list(slots(get_endpoints(ctx, methods), locations))

    def rank(slot: Slot) -> int:
        name = slot.name.lower()
        return _LIKELY.index(name) if name in _LIKELY else len(_LIKELY)

    return sorted(found, key=rank)[:MAX_SLOTS]


# -- probing ----------------------------------------------------------------------
async def _send(ctx: CheckContext, slot: Slot, value: str) -> Exchange | None:
    probe = slot.probe(value)
    return None if probe is None else await ctx.send(probe)


def _restores(ex: Exchange | None, base: Exchange) -> bool:
    return ex is not None and ex.status == base.status and sql_error(ex.text) is None


async def test_slot(ctx: CheckContext, slot: Slot) -> Hit | None:
    """Baseline, quote, confirmation; None unless the differential holds."""
    value = value_of(slot)
    base = await _send(ctx, slot, value)
    if base is None or base.status >= 500 or sql_error(base.text):
        return None  # an answer that already fails tells nothing
    for quote in QUOTES:
        bad = await _send(ctx, slot, value + quote)
        if bad is None:
            return None
        err = sql_error(bad.text)
        if err is None and bad.status < 500:
            continue
        fixes = [value + quote * 2] + ([value + "-0"] if numeric(slot) else [])
        for fix in fixes:
            if _restores(await _send(ctx, slot, fix), base):
                return await _hit(ctx, slot, value, quote, fix, bad, base, err)
        return None  # the quote broke something the confirmation did not mend
    return None


async def _hit(
    ctx: CheckContext,
    slot: Slot,
    value: str,
    quote: str,
    fix: str,
    bad: Exchange,
    base: Exchange,
    err: tuple[str, str] | None,
) -> Hit | None:
    steps = f"{value!r} -> {base.status}; {value + quote!r} -> {bad.status}"
    if err is not None:
        evidence = (
            f"{steps} with a {err[0]} error ({err[1][:200]}); {fix!r} -> {base.status}, no error"
        )
        confidence = Confidence.CERTAIN
    else:
        odd = await _send(ctx, slot, value + quote * 3)
        if odd is None or odd.status < 500:
            return None
        evidence = (f"{steps}; {fix!r} -> {base.status}; {value + quote * 3!r} -> {odd.status} "
                    "(odd quotes fail, balanced quotes do not; no database message)")  # fmt: skip
        confidence = Confidence.TENTATIVE
    return Hit(
        url=slot.baseline_url() or bad.url,
        method=slot.method,
        parameter=slot.name,
        evidence=f"{slot.location} parameter {slot.name!r}: {evidence}",
        confidence=confidence,
    )


@active(
    id="sqli.error-based",
    title="SQL injection",
    category="input-validation",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=89,
    owasp="API8:2023",
    description=(
        "A parameter is pasted into an SQL statement: a single quote in it made the "
        "database fail with a syntax error (the message came back in the response) and "
        "two quotes, which close and reopen the string literal, made the request work "
        "again. An attacker can read and change any data the application's database user "
        "can reach (`' UNION SELECT ...`), and bypass logins (`' OR '1'='1`). Probes: the "
        "parameter's own value plus quotes only; nothing is written. Bound: at most 10 "
        "parameters, at most 6 requests each; form and JSON bodies only with --active."
    ),
    remediation=(
        "Never build SQL with string formatting. Pass values as bound parameters: "
        "`cur.execute('SELECT * FROM items WHERE name = ?', (name,))` (sqlite3), "
        "`%s` placeholders with psycopg, or SQLAlchemy "
        "`session.execute(text('... WHERE id = :id'), {'id': item_id})` / the ORM "
        "(`select(Item).where(Item.name == name)`). Column names for sorting must come "
        "from an allow list. Return a generic error message, not the database's."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/89.html",
        "https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html",
    ),
)
async def sql_injection(ctx: CheckContext) -> None:
    """One differential per candidate parameter, all parameters concurrently."""
    await fan_out(ctx, candidates(ctx), test_slot)
