"""Score and grade: per category and overall. See docs/scoring.md."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from apigrade.model import Category, CategoryScore, Confidence, Finding, Severity

SEVERITY_POINTS: dict[Severity, float] = {
    Severity.CRITICAL: 40.0,
    Severity.HIGH: 20.0,
    Severity.MEDIUM: 8.0,
    Severity.LOW: 3.0,
    Severity.INFO: 0.0,
}
CONFIDENCE_FACTOR: dict[Confidence, float] = {
    Confidence.CERTAIN: 1.0,
    Confidence.FIRM: 0.8,
    Confidence.TENTATIVE: 0.4,
}
#: Each further finding of the same check deducts half the one before it.
REPEAT_DECAY = 0.5
#: Caps from the contract: a confirmed critical keeps the score below 40, a high below 70.
CAPS = {Severity.CRITICAL: 39, Severity.HIGH: 69}
CONFIRMED = (Confidence.CERTAIN, Confidence.FIRM)


def grade_for(score: int) -> str:
    """A >= 90, B >= 80, C >= 70, D >= 60, F below."""
    for letter, floor in (("A", 90), ("B", 80), ("C", 70), ("D", 60)):
        if score >= floor:
            return letter
    return "F"


def deduction(findings: Iterable[Finding]) -> float:
    """Points lost: severity x confidence, halving for each repeat of one check."""
    by_check: dict[str, list[float]] = defaultdict(list)
    for f in findings:
        by_check[f.check_id].append(SEVERITY_POINTS[f.severity] * CONFIDENCE_FACTOR[f.confidence])
    total = 0.0
    for points in by_check.values():
        for i, p in enumerate(sorted(points, reverse=True)):
            total += p * REPEAT_DECAY**i
    return total


def score_for(findings: list[Finding]) -> int:
    """0-100 for a set of findings, with the caps for confirmed critical and high."""
    score = max(0, round(100 - deduction(findings)))
    for f in findings:
        cap = CAPS.get(f.severity)
        if cap is not None and f.confidence in CONFIRMED:
            score = min(score, cap)
    return score


def score_report(findings: list[Finding]) -> tuple[int, str, dict[str, CategoryScore]]:
    """Overall score, grade and the per-category scores (all 13 categories)."""
    per: dict[str, CategoryScore] = {}
    for cat in Category:
        mine = [f for f in findings if f.category == cat]
        per[cat.value] = CategoryScore(score=score_for(mine), findings=len(mine))
    score = score_for(findings)
    return score, grade_for(score), per
