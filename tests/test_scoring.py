"""The scoring model and the worked examples of docs/scoring.md."""

from __future__ import annotations

from apigrade.model import Category, Finding
from apigrade.scoring import grade_for, score_report


def f(check: str, sev: str, conf: str, n: int = 0, cat: str = "misconfiguration") -> Finding:
    return Finding(
        id=f"{check}{n}", check_id=check, title="t", severity=sev, confidence=conf,
        category=cat, owasp="API8:2023", cwe=489, url=f"http://x/{n}",
    )  # fmt: skip


def test_grade_scale() -> None:
    assert [grade_for(s) for s in (100, 90, 89, 80, 79, 70, 69, 60, 59, 0)] == list("AABBCCDDFF")


def test_example_1_high_caps_below_70() -> None:
    score, grade, cats = score_report(
        [f("a.debugger", "high", "certain"), f("a.banner", "low", "certain"),
         f("a.csp", "low", "certain")]
    )  # fmt: skip
    assert (score, grade) == (69, "D")
    assert cats["misconfiguration"].score == 69 and cats["misconfiguration"].findings == 3
    assert all(c.score == 100 for k, c in cats.items() if k != "misconfiguration")
    assert set(cats) == {c.value for c in Category}


def test_example_2_two_lows() -> None:
    assert score_report([f("a.csp", "low", "certain"), f("a.banner", "low", "certain")])[:2] == (94, "A")


def test_example_3_repeats_decay() -> None:
    assert score_report([f("a.x", "medium", "firm", n) for n in range(3)])[:2] == (89, "B")


def test_example_4_critical_cap_only_when_confirmed() -> None:
    assert score_report([f("a.c", "critical", "certain")])[:2] == (39, "F")
    assert score_report([f("a.c", "critical", "firm")])[0] <= 39
    assert score_report([f("a.c", "critical", "tentative")])[:2] == (84, "B")


def test_example_5_info_never_deducts() -> None:
    assert score_report([f("a.i", "info", "certain", n) for n in range(50)])[:2] == (100, "A")


def test_score_never_negative() -> None:
    many = [f(f"a.c{n}", "critical", "certain") for n in range(10)]
    assert score_report(many)[0] == 0
