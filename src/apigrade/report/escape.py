"""Making target-supplied text inert before it reaches a terminal or a document."""

from __future__ import annotations

import re

# C0/C1 control characters except tab and newline, plus DEL; bidi overrides too.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """Show control characters as visible escapes (ESC -> \\x1b) so none reaches a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str, limit: int = 300) -> str:
    """A single inert line, shortened to ``limit`` characters."""
    flat = strip_controls(text.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
