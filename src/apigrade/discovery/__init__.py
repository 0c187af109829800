"""Pure parsers that turn fetched documents into endpoints.

Nothing here does I/O: the engine fetches pages, robots.txt, sitemaps and
OpenAPI documents, then hands their text to these functions. Every parser is
total: malformed input yields less output, never an exception.
"""

from __future__ import annotations

from apigrade.discovery.model import Endpoint, Param

__all__ = ["Endpoint", "Param"]
