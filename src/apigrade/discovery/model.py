"""The value objects discovery produces: endpoints and their parameters."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from apigrade import rx

#: paths that end a session: discovery records them but never fetches them (a GET of
#: /logout would sign an authenticated scan out); session.not-revoked-on-logout calls them
_LOGOUT = rx.compile(r"log_?-?out|sign_?-?out|log_?-?off|end_?-?session", rx.I)


def is_logout(url: str) -> bool:
    """True for a URL or path that looks like a logout endpoint (``/logout``, ``/auth/sign-out``)."""
    return bool(_LOGOUT.search(urlsplit(url).path))


@dataclass(frozen=True)
class Param:
    """One request parameter of an endpoint."""

    name: str
    location: str  # "query" | "path" | "header" | "cookie" | "body" | "form" | "graphql"
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
    #: "crawl" | "form" | "openapi" | "robots" | "sitemap" | "script" | "graphql" | "app"
    #: ("app": the route table of an app object scanned in-process; "django-urlconf": a
    #: route a Django DEBUG 404 page lists, see discovery/django.py)
    source: str = "crawl"
    content_type: str | None = None  # request body media type for body/form params
    secured: bool | None = None  # from the spec's security requirements; None when unknown
    #: a GraphQL operation's document (source "graphql"): its "graphql" params are the
    #: document's variables (``checks.common.graphql.operation_probe`` sends it)
    graphql: str | None = None

    def params_in(self, location: str) -> tuple[Param, ...]:
        """The parameters sent in ``location`` ("query", "body", ...)."""
        return tuple(p for p in self.params if p.location == location)
