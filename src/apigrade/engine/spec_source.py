"""Where ``--spec`` comes from: a local file (size-limited) or a URL (through the engine).

A URL on the target's origin is an ordinary probe (discovery sends it). A URL on any
other host is one the user named explicitly: :meth:`Engine.fetch_named` fetches it with
that URL's origin as the only scope, the body cap, the request timeout for the whole
exchange and a place in ``--max-requests``. Any failure is a usage error (exit 2) of
one line that never shows the URL's userinfo.
"""

from __future__ import annotations

from apigrade.engine.client import Engine, NamedFetchError
from apigrade.errors import UsageError
from apigrade.localfiles import SPEC_LIMIT, read_limited, size_text
from apigrade.redact import shown_url


def is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def load_local_spec(spec: str) -> str | None:
    """The text of a local spec file (at most ``SPEC_LIMIT``); None when ``spec`` is a URL."""
    if is_url(spec):
        return None
    return read_limited(spec, SPEC_LIMIT, "spec").decode("utf-8", errors="replace")


async def fetch_spec(engine: Engine, url: str) -> str:
    """The text of a spec on a host the user named; UsageError when it cannot be had."""
    try:
        exchange = await engine.fetch_named(url)
    except NamedFetchError as exc:
        raise UsageError(f"cannot fetch spec {shown_url(url)!r}: {exc}") from None
    if exchange.status != 200:
        raise UsageError(f"cannot fetch spec {shown_url(url)!r}: HTTP {exchange.status}")
    if exchange.response.truncated:
        cap = size_text(engine.config.body_cap)
        raise UsageError(f"spec {shown_url(url)!r} is larger than the {cap} body cap")
    return exchange.text
