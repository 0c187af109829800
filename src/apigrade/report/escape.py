"""Making target-supplied text inert before it reaches a terminal or a document."""

from __future__ import annotations

from apigrade import rx

# C0/C1 control characters except tab and newline, plus DEL; bidi overrides too.
_CONTROL = rx.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CODES = (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F),
          *range(0x2066, 0x206A))  # fmt: skip
_ESCAPES = {code: f"\\x{code:02x}" for code in _CODES}


def strip_controls(text: str) -> str:
    """Show control characters as visible escapes (ESC -> \\x1b) so none reaches a terminal."""
    return text if _CONTROL.search(text) is None else text.translate(_ESCAPES)


def one_line(text: str, limit: int = 300) -> str:
    """A single inert line, shortened to ``limit`` characters."""
    flat = strip_controls(text.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
