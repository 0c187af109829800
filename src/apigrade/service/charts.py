"""Score trends as inline SVG (no script, no external resource: fits a strict CSP)."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

#: Grade thresholds drawn as guide lines.
_BANDS = ((90, "A"), (80, "B"), (70, "C"), (60, "D"))
_COLOURS = {"A": "#2e7d32", "B": "#558b2f", "C": "#f9a825", "D": "#ef6c00", "F": "#c62828"}


def grade_colour(grade: str | None) -> str:
    return _COLOURS.get(grade or "", "#757575")


def _xy(i: int, score: int, n: int, w: int, h: int, pad: int) -> tuple[float, float]:
    x = pad + (w - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
    y = pad + (h - 2 * pad) * (1 - score / 100)
    return round(x, 1), round(y, 1)


def sparkline(scores: list[int], width: int = 120, height: int = 28) -> Markup:
    """A small trend line for a table cell."""
    if not scores:
        return Markup("")
    pts = " ".join(f"{x},{y}" for x, y in
                   (_xy(i, s, len(scores), width, height, 3) for i, s in enumerate(scores)))
    label = escape(f"scores: {', '.join(map(str, scores))}")
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{label}"><title>{label}</title>'
        f'<polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="{pts}"/></svg>'
    )


def trend_chart(points: list[tuple[str, int, str]], width: int = 640, height: int = 220) -> Markup:
    """A score-over-time chart: ``points`` are (label, score, grade), oldest first."""
    pad = 28
    parts = [
        f'<svg class="trend" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="score trend"><title>score trend</title>'
    ]
    for level, grade in _BANDS:
        _, y = _xy(0, level, 2, width, height, pad)
        parts.append(
            f'<line x1="{pad}" x2="{width - pad}" y1="{y}" y2="{y}" stroke="#ddd" '
            f'stroke-dasharray="3 3"/><text x="4" y="{y + 4}" font-size="10" '
            f'fill="#888">{grade}</text>'
        )
    if points:
        xy = [_xy(i, s, len(points), width, height, pad) for i, (_, s, _) in enumerate(points)]
        line = " ".join(f"{x},{y}" for x, y in xy)
        parts.append(f'<polyline fill="none" stroke="#1565c0" stroke-width="2" points="{line}"/>')
        for (x, y), (label, score, grade) in zip(xy, points, strict=True):
            tip = escape(f"{label}: {score} ({grade})")
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="4" fill="{grade_colour(grade)}">'
                f"<title>{tip}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
