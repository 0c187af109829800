"""Recognise a page rendered by Werkzeug's debugger (traceback or console).

Shared by the Werkzeug debugger check and the verbose-errors check, which leaves these
pages to it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from apigrade import rx

_TITLE = rx.compile(r"<title>([^<]{0,300}) // Werkzeug Debugger</title>")
_JS_BOOL = {
    name: rx.compile(rf"\b{name}\s*=\s*(true|false)\b")
    for name in ("CONSOLE_MODE", "EVALEX", "EVALEX_TRUSTED")
}
_PLAIN_COMMENT = rx.compile(r"<!--\s*(Traceback \(most recent call last\):.*?)-->", rx.S)
_TEXTAREA = rx.compile(r"<textarea[^>]*>(.*?)</textarea>", rx.S)


@dataclass(frozen=True)
class DebugPage:
    """What a Werkzeug debugger page (traceback or console) says about itself."""

    console: bool
    evalex: bool
    evalex_trusted: bool
    title: str
    plaintext: str = ""

    @property
    def unlocked(self) -> bool:
        """Code can be run from this page without a PIN."""
        return self.evalex and self.evalex_trusted


def parse_debugger_page(text: str) -> DebugPage | None:
    """Parse a Werkzeug debugger HTML page; None for anything else."""
    head = text[:6000]
    title = _TITLE.search(head)
    if title is None:
        return None
    flags = {name: pat.search(head) for name, pat in _JS_BOOL.items()}
    if any(m is None for m in flags.values()):
        return None
    val = {name: m.group(1) == "true" for name, m in flags.items() if m is not None}
    plain = ""
    if not val["CONSOLE_MODE"]:
        found = _PLAIN_COMMENT.search(text)
        if found:
            plain = found.group(1)
        else:
            area = _TEXTAREA.search(text)
            plain = html.unescape(area.group(1)) if area else ""
    return DebugPage(
        console=val["CONSOLE_MODE"],
        evalex=val["EVALEX"],
        evalex_trusted=val["EVALEX_TRUSTED"],
        title=html.unescape(title.group(1)).strip(),
        plaintext=plain,
    )


def is_werkzeug_debugger_page(text: str) -> bool:
    """True for any page rendered by Werkzeug's debugger."""
    return parse_debugger_page(text) is not None
