"""The value objects discovery produces: endpoints and their parameters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    """One request parameter of an endpoint."""

    name: str
    location: str  # "query" | "path" | "header" | "cookie" | "body" | "form"
    type: str | None = None  # integer, string, number, boolean, object, array; None: unknown
    required: bool = False
    example: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """One operation the target exposes.

    ``url`` is absolute and has no query string; path parameters stay as
    ``{name}`` templates (``http://h/users/{id}``).
    """

    url: str
    method: str = "GET"
    params: tuple[Param, ...] = ()
    source: str = "crawl"  # "crawl" | "form" | "openapi" | "robots" | "sitemap" | "script"
    content_type: str | None = None  # request body media type for body/form params
    secured: bool | None = None  # from the spec's security requirements; None when unknown

    def params_in(self, location: str) -> tuple[Param, ...]:
        """The parameters sent in ``location`` ("query", "body", ...)."""
        return tuple(p for p in self.params if p.location == location)
