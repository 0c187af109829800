"""Every route an app object serves: Flask ``url_map``, Starlette/FastAPI ``app.routes``
(mounts included, plus the app's own OpenAPI document), Django's URLconf (``get_resolver``).

Path parameters become ``{name}`` templates with typed example values (int, float, uuid,
slug, path, any, str) and, first, values the scan has already seen in JSON responses
(:func:`seen_values`). A value is used only when the framework's own router maps the
filled path back to the same route, so no example produces a 404 by construction.
Nothing here sends a request: the engine fetches the routes (each one counts in the
request budget).
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from apigrade import rx
from apigrade.inprocess.frameworks import AppKind, identify

#: routes taken from one app at most (a huge admin site stays bounded)
MAX_ROUTES = 300
#: values tried per path parameter (seen values first, then typed examples)
MAX_TRIES = 6
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
UUID_EXAMPLE = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
#: a converter's class name (lower case, any framework) -> schema type and example values
_TYPED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("uuid", "string", (UUID_EXAMPLE,)),
    ("int", "integer", ("1", "2")),
    ("float", "number", ("1.0",)),
    ("slug", "string", ("example", "example-1")),
    ("path", "string", ("index.html", "a/b")),
    ("any", "string", ()),
    ("", "string", ("1", "example")),
)
_FLASK_VAR = rx.compile(r"<(?:[a-zA-Z_][a-zA-Z0-9_]*(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
_DJANGO_VAR = rx.compile(r"<(?:[a-zA-Z_][a-zA-Z0-9_]*:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
_SCALAR_KEY = rx.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,40}$")
_SCALAR_VALUE = rx.compile(r"^[A-Za-z0-9._~:@+-]{1,64}$")


@dataclass(frozen=True)
class PathParam:
    """One path parameter: its name, schema type and the example values to try."""

    name: str
    type: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class AppRoute:
    """One route: a ``{name}`` path template on the app, its methods and handler."""

    template: str
    methods: tuple[str, ...]
    params: tuple[PathParam, ...] = ()
    name: str = ""
    #: the view function (for source locations); never compared
    handler: Any = field(default=None, compare=False, repr=False)
    #: query parameters the handler's source reads (``request.args.get("q")``)
    query: tuple[str, ...] = field(default=(), compare=False)

    @property
    def readable(self) -> bool:
        """True when the route answers a GET (the default mode may request it)."""
        return "GET" in self.methods


def _typed(converter: Any) -> tuple[str, tuple[str, ...]]:
    cls = type(converter).__name__.lower()
    for key, typ, examples in _TYPED:
        if key and key in cls:
            if key == "any":  # werkzeug AnyConverter: one of its fixed items
                items = sorted(str(i) for i in getattr(converter, "items", ()) or ())
                return typ, tuple(items[:3])
            if key == "int":
                low = getattr(converter, "min", None)
                if isinstance(low, int) and low > 1:
                    return typ, (str(low),)
            return typ, examples
    return "string", _TYPED[-1][2]


@dataclass
class RouteTable:
    """The routes of one app and its router, to fill and to match concrete paths."""

    app: AppKind
    routes: list[AppRoute] = field(default_factory=list)
    #: the app's own OpenAPI documents as (JSON text, mount prefix)
    openapi: list[tuple[str, str]] = field(default_factory=list)
    _matchers: list[tuple[Any, AppRoute]] = field(default_factory=list, repr=False)

    def match(self, path: str, method: str = "GET") -> AppRoute | None:
        """The route that serves ``path`` (decoded, no query) for ``method``, if any."""
        try:
            if self.app.kind == "flask":
                return self._match_flask(path, method)
            if self.app.kind == "django":
                return self._match_django(path)
            for regex, route in self._matchers:
                if regex.match(path) and (method in route.methods or method == "HEAD"):
                    return route
        except Exception:  # noqa: BLE001 - the app's router refused: no route
            return None
        return None

    def _match_flask(self, path: str, method: str) -> AppRoute | None:
        adapter = self.app.obj.url_map.bind("localhost")
        rule, _ = adapter.match(path, method=method, return_rule=True)
        return next((r for r in self.routes if r.name == rule.endpoint and
                     r.template == _flask_template(rule.rule)), None)  # fmt: skip

    def _match_django(self, path: str) -> AppRoute | None:
        from django.urls import get_resolver

        m = get_resolver().resolve(path)
        return next((r for r in self.routes if r.name == m.route), None)

    def fill(self, route: AppRoute, seen: dict[str, list[str]] | None = None) -> dict[str, str]:
        """A value per path parameter that the router maps back to ``route``: a value
        the scan saw under a matching name first, then the typed examples."""
        chosen = {p.name: (p.examples[0] if p.examples else "1") for p in route.params}
        method = route.methods[0] if route.methods else "GET"
        for p in route.params:
            for value in candidates(p, seen or {})[:MAX_TRIES]:
                trial = {**chosen, p.name: value}
                if self.match(expand(route.template, trial), method) == route:
                    chosen[p.name] = value
                    break
        return chosen


def expand(template: str, values: dict[str, str]) -> str:
    """``/items/{id}`` with ``{"id": "7"}`` -> ``/items/7`` (values as they are)."""
    out = template
    for name, value in values.items():
        out = out.replace("{" + name + "}", value)
    return out


def candidates(param: PathParam, seen: dict[str, list[str]]) -> list[str]:
    """Values to try for a parameter: seen under its name (``item_id``, ``id`` for ``*id``
    and ``pk``), then its typed examples; no duplicates."""
    key = param.name.lower()
    names = [key]
    if key.endswith("id") or key == "pk":
        names.append("id")
    if key.endswith(("slug", "name")):
        names.append("slug")
    values = [v for n in names for v in seen.get(n, [])]
    return list(dict.fromkeys([*values, *param.examples]))


# -- query parameters a handler reads ----------------------------------------------------------
#: ``request.<attr>`` mappings that hold the query string (Flask, Django, Starlette)
_QUERY_ATTRS = frozenset({"args", "values", "GET", "query_params"})
MAX_QUERY_PARAMS = 10


def query_params(handler: Any) -> tuple[str, ...]:
    """Names the handler reads from the query string: ``request.args.get("q")``,
    ``request.args["q"]``, ``request.GET.get("q")``, ``request.query_params["q"]``."""
    try:
        fn = inspect.unwrap(handler)
        fn = getattr(fn, "__func__", fn)
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (TypeError, OSError, SyntaxError, ValueError):
        return ()
    names: list[str] = []
    for node in ast.walk(tree):
        key: ast.AST | None = None
        owner: ast.AST | None = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("get", "getlist", "getall") and node.args:  # fmt: skip
            owner, key = node.func.value, node.args[0]
        elif isinstance(node, ast.Subscript):
            owner, key = node.value, node.slice
        if isinstance(owner, ast.Attribute) and owner.attr in _QUERY_ATTRS \
                and isinstance(key, ast.Constant) and isinstance(key.value, str):  # fmt: skip
            names.append(key.value)
    return tuple(dict.fromkeys(names))[:MAX_QUERY_PARAMS]


# -- Flask ----------------------------------------------------------------------------------
def _flask_template(rule: str) -> str:
    return _FLASK_VAR.sub(lambda m: "{" + m.group(1) + "}", rule)


def _flask(app: Any) -> Iterator[AppRoute]:
    for rule in app.url_map.iter_rules():
        endpoint = str(rule.endpoint)
        if endpoint == "static" or endpoint.endswith(".static"):
            continue  # files on disk: the file checks probe those
        converters = getattr(rule, "_converters", {}) or {}
        params = []
        for name in sorted(rule.arguments):
            typ, examples = _typed(converters.get(name))
            params.append(PathParam(name, typ, examples))
        methods = tuple(sorted(m for m in (rule.methods or ()) if m not in ("HEAD", "OPTIONS")))
        handler = app.view_functions.get(rule.endpoint)
        handler = getattr(handler, "view_class", None) or handler  # MethodView.as_view()
        yield AppRoute(_flask_template(rule.rule), methods or ("GET",), tuple(params),
                       name=endpoint, handler=handler, query=query_params(handler))  # fmt: skip


# -- Starlette / FastAPI -------------------------------------------------------------------
def _starlette(routes: Iterable[Any], prefix: str, table: RouteTable, depth: int = 0) -> None:
    from starlette.routing import Mount, Route

    for route in routes:
        if isinstance(route, Route):
            _starlette_route(table, prefix + route.path, route.methods, route.endpoint, route.name)
        elif isinstance(route, Mount) and depth < 5:
            path = prefix + route.path
            inner = getattr(route, "routes", None) or []
            if inner:
                _starlette(inner, path, table, depth + 1)
            _openapi_of(route.app, path, table)
        elif callable(getattr(route, "effective_route_contexts", None)) and depth < 5:
            # FastAPI >= 0.16x keeps an included router lazily: its routes, prefix applied
            for ctx in route.effective_route_contexts():
                inner_route = getattr(ctx, "starlette_route", None) or ctx.original_route
                if isinstance(inner_route, Mount):
                    _starlette([inner_route], prefix, table, depth + 1)
                    continue
                path = getattr(ctx, "path", "") or getattr(inner_route, "path", "")
                methods = getattr(ctx, "methods", None) or getattr(inner_route, "methods", None)
                endpoint = getattr(ctx, "endpoint", None) or getattr(inner_route, "endpoint", None)
                name = getattr(ctx, "name", "") or getattr(inner_route, "name", "")
                if path:
                    _starlette_route(table, prefix + path, methods, endpoint, name)


def _annotated(endpoint: Any, name: str) -> PathParam | None:
    """A FastAPI path parameter typed by the endpoint's annotation (``item_id: int``)."""
    try:
        annotation = inspect.signature(endpoint).parameters[name].annotation
    except (KeyError, TypeError, ValueError):
        return None
    label = getattr(annotation, "__name__", str(annotation)).lower()
    for key in ("uuid", "int", "float"):
        if key in label:
            typ, examples = next((t, e) for k, t, e in _TYPED if k == key)
            return PathParam(name, typ, examples)
    return None


def _starlette_route(table: RouteTable, path: str, methods: Any, endpoint: Any, name: str) -> None:
    from starlette.routing import compile_path

    regex, template, convertors = compile_path(path)
    params = tuple(
        _annotated(endpoint, n) or PathParam(n, *_typed(c)) for n, c in convertors.items()
    )
    verbs = tuple(sorted(m for m in (methods or {"GET"}) if m != "HEAD"))
    app_route = AppRoute(template, verbs, params, name=name or template, handler=endpoint,
                         query=query_params(endpoint))  # fmt: skip
    table.routes.append(app_route)
    table._matchers.append((regex, app_route))


def _openapi_of(app: Any, prefix: str, table: RouteTable) -> None:
    """A FastAPI app's own document (``app.openapi()``: also when its docs URLs are off)."""
    build = getattr(app, "openapi", None)
    if not callable(build) or not hasattr(app, "openapi_version"):
        return
    try:
        doc = dict(build())
    except Exception:  # noqa: BLE001 - a model the app cannot describe: routes only
        return
    if prefix:
        doc["servers"] = [{"url": prefix}]
    table.openapi.append((json.dumps(doc, default=str), prefix))


# -- Django ----------------------------------------------------------------------------------
def _regex_template(regex: str) -> tuple[str, list[str]] | None:
    """``^items/(?P<pk>[0-9]+)/$`` -> (``items/{pk}/``, ["pk"]); None for any other syntax."""
    body = regex.removeprefix("^").removesuffix("$").removesuffix("\\Z")
    out, names, i = [], [], 0
    while i < len(body):
        if body.startswith("(?P<", i):
            end = body.find(">", i)
            depth, j = 1, end + 1
            while j < len(body) and depth:
                depth += {"(": 1, ")": -1}.get(body[j], 0)
                j += 1 + (body[j] == "\\")
            if end < 0 or depth:
                return None
            names.append(body[i + 4 : end])
            out.append("{" + names[-1] + "}")
            i = j
        elif body[i] == "\\" and i + 1 < len(body) and body[i + 1] in "./-":
            out.append(body[i + 1])
            i += 2
        elif body[i] in "()[]{}*+?|\\.":
            return None
        else:
            out.append(body[i])
            i += 1
    return "".join(out), names


def _join(route: str, text: str) -> str:
    """Django's ``ResolverMatch.route``: the patterns joined, a later ``^`` dropped."""
    return route + text.removeprefix("^") if route else text


def _django_methods(callback: Any) -> tuple[str, ...]:
    """A Django view's methods: a DRF viewset's ``actions``, a class-based view's handlers
    (``get``, ``post``…), else GET (a function view says nothing)."""
    actions = getattr(callback, "actions", None)
    if isinstance(actions, dict) and actions:
        return tuple(sorted(str(m).upper() for m in actions))
    cls = getattr(callback, "view_class", None)
    if cls is not None:
        names = getattr(cls, "http_method_names", ())
        found = sorted(m.upper() for m in names if m not in ("head", "options") and hasattr(cls, m))
        return tuple(found) or ("GET",)
    return ("GET",)


def _django_all(table: RouteTable) -> None:
    from django.urls import URLPattern, URLResolver, get_resolver
    from django.urls.resolvers import RegexPattern, RoutePattern

    def walk(patterns: Iterable[Any], tmpl: str, route: str, depth: int) -> None:
        for entry in patterns:
            pattern = entry.pattern
            if isinstance(pattern, RoutePattern):
                text = str(pattern)
                part = _DJANGO_VAR.sub(lambda m: "{" + m.group(1) + "}", text)
                convs: dict[str, Any] = dict(pattern.converters)
            elif isinstance(pattern, RegexPattern):
                text = str(pattern)
                parsed = _regex_template(text)
                if parsed is None:
                    continue
                part, convs = parsed[0], {n: None for n in parsed[1]}
            else:
                continue  # i18n prefixes and custom pattern classes
            if isinstance(entry, URLResolver):
                if depth < 6:
                    walk(entry.url_patterns, tmpl + part, _join(route, text), depth + 1)
            elif isinstance(entry, URLPattern):
                params = tuple(PathParam(n, *_typed(c)) for n, c in convs.items())
                callback = entry.callback
                handler = getattr(callback, "view_class", None) or callback
                table.routes.append(AppRoute("/" + tmpl + part, _django_methods(callback), params,
                                             name=_join(route, text), handler=handler,
                                             query=query_params(handler)))  # fmt: skip

    walk(get_resolver().url_patterns, "", "", 0)


def route_table(app: Any) -> RouteTable:
    """Every route of ``app`` (at most :data:`MAX_ROUTES`); an empty table for an app of
    an unknown framework or whose router fails."""
    kind = identify(app)
    table = RouteTable(kind)
    try:
        if kind.kind == "flask":
            table.routes.extend(_flask(kind.obj))
        elif kind.kind == "starlette":
            _starlette(kind.obj.routes, "", table)
            _openapi_of(kind.obj, "", table)
        elif kind.kind == "django":
            _django_all(table)
    except Exception:  # noqa: BLE001 - an app whose router cannot be read: no routes
        table.routes.clear()
    del table.routes[MAX_ROUTES:]
    return table


# -- values seen during the scan (runs in the analysis pool) ------------------------------------
def _walk(node: Any, out: dict[str, list[str]], parent: str, depth: int) -> None:
    if depth > 6:
        return
    if isinstance(node, dict):
        for key, value in list(node.items())[:200]:
            if not isinstance(key, str) or not _SCALAR_KEY.match(key):
                continue
            if isinstance(value, bool):
                continue
            if isinstance(value, int | str) and _SCALAR_VALUE.match(str(value)):
                k = key.lower()
                for name in (k, f"{parent}_{k}" if parent and k == "id" else ""):
                    if name and len(out.setdefault(name, [])) < 5 and str(value) not in out[name]:
                        out[name].append(str(value))
            else:
                _walk(value, out, key.lower().removesuffix("s"), depth + 1)
    elif isinstance(node, list):
        for item in node[:50]:
            _walk(item, out, parent, depth + 1)


def seen_values(bodies: list[str]) -> dict[str, list[str]]:
    """Scalar values by (lower-case) key from JSON bodies; ids in a list under ``items``
    also as ``item_id``. Pure: runs in the analysis pool."""
    out: dict[str, list[str]] = {}
    for text in bodies[:100]:
        try:
            doc = json.loads(text[:200_000])
        except ValueError:
            continue
        _walk(doc, out, "", 0)
    return out
