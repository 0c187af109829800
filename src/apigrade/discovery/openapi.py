"""OpenAPI 3.x / Swagger 2.0 parsing into endpoints.

The document comes from the target, so it is untrusted: every field is
type-checked and a part of the wrong shape is skipped; ``$ref`` resolution is
local-only, depth-limited and cycle-safe; output is capped. Endpoints are
always rebased on the target's origin: the scanner never leaves it, whatever
``servers`` or ``host`` say.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from apigrade import rx
from apigrade.discovery.model import Endpoint, Param

# Where specs usually live, most likely first; JSON before YAML.
OPENAPI_PATHS: tuple[str, ...] = (
    "/openapi.json",
    "/swagger.json",
    "/api/openapi.json",
    "/api/swagger.json",
    "/v3/api-docs",
    "/v2/api-docs",
    "/swagger/v1/swagger.json",
    "/apispec_1.json",
    "/api/v1/openapi.json",
    "/api/v1/swagger.json",
    "/docs/openapi.json",
    "/static/swagger.json",
    "/api-docs",
    "/api/docs",
    "/spec",
    "/api/spec",
    "/openapi.yaml",
    "/swagger.yaml",
)

MAX_ENDPOINTS = 2000
MAX_PARAMS = 100  # per endpoint
MAX_REF_DEPTH = 32  # chained $refs followed before giving up
MAX_EXAMPLE = 200  # characters of an example value
MAX_DOC_CHARS = 50_000_000

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAM_LOCATIONS = {
    "query": "query",
    "path": "path",
    "header": "header",
    "cookie": "cookie",
    "formData": "form",
}
_TYPES = {"integer", "string", "number", "boolean", "object", "array"}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_SERVER_VAR = rx.compile(r"\{([^{}]{1,100})\}")
_LOOKS = rx.compile(
    r"""["']?(?:openapi|swagger)["']?\s*:\s*["']?(?:3\.\d|2\.0)""",
)


@dataclass
class Spec:
    """What an OpenAPI / Swagger document declares, reduced to what a scanner needs."""

    spec_version: str  # "3.0.3", "3.1.0", "2.0"...
    title: str | None = None
    version: str | None = None
    base_path: str = "/"  # server path prefix the endpoints were built on
    endpoints: list[Endpoint] = field(default_factory=list)
    raw_security_schemes: dict[str, Any] = field(default_factory=dict)


def looks_like_spec(text: str) -> bool:
    """Cheap check: does ``text`` start like an OpenAPI 3 / Swagger 2 document?"""
    if not isinstance(text, str):
        return False
    return _LOOKS.search(text[:4096]) is not None


# -- loading --------------------------------------------------------------------------


def _load_yaml(text: str) -> Any:
    """Parse YAML with PyYAML's safe loader when it is installed (it is optional).

    Aliases are refused: they let a small document expand into a huge tree.
    """
    try:
        import yaml
    except ImportError:
        return None

    class _NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.events.AliasEvent):
                raise yaml.YAMLError("YAML aliases are not accepted in specs")
            return super().compose_node(parent, index)

    try:
        # A SafeLoader subclass: plain data only, no object construction.
        return yaml.load(text, Loader=_NoAliasLoader)
    except Exception:  # any YAML error, recursion or value error: not a spec
        return None


#: Content types that say a body is YAML (OpenAPI's own media type defaults to YAML)
YAML_TYPES = frozenset(
    {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml",
     "application/vnd.oai.openapi"}
)  # fmt: skip
_HEAD_LINES = 20  # lines looked at for a document's first key


def _first_key_is_spec(text: str) -> bool:
    """True when the first line that holds data is ``openapi:`` or ``swagger:``."""
    for line in text[:4096].splitlines()[:_HEAD_LINES]:
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "%")) or stripped == "---":
            continue  # blank line, comment, YAML directive, document start
        key = stripped.split(":", 1)[0].strip().strip("'\"")
        return ":" in stripped and key in ("openapi", "swagger")
    return False


def spec_format(text: str, content_type: str | None) -> str | None:
    """How a response body may be parsed as a spec: "json", "yaml", or None (not at all).

    The rule, so a hostile body is never handed to the YAML parser by chance:

    - JSON when the body's first character (after a BOM and white space) is ``{``;
    - YAML when the Content-Type says YAML (``application/yaml``, ``text/yaml``,
      their ``x-`` forms, ``application/vnd.oai.openapi`` or any ``+yaml``), or when
      the first line that holds data (after blank lines, ``#`` comments, ``%``
      directives and ``---``) is an ``openapi:`` or ``swagger:`` key;
    - otherwise None: the body is not parsed.

    ``content_type`` None means the text did not come from a response (a file the
    user named): then anything that is not JSON is tried as YAML.
    """
    head = text[:64].lstrip("\ufeff \t\r\n")
    if head.startswith("{"):
        return "json"
    if content_type is None:
        return "yaml"
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in YAML_TYPES or ctype.endswith("+yaml") or _first_key_is_spec(text):
        return "yaml"
    return None


def _load(text: str, content_type: str | None = None) -> Any:
    text = text.lstrip("\ufeff \t\r\n")
    if not text or len(text) > MAX_DOC_CHARS:
        return None
    if content_type is not None and spec_format(text, content_type) is None:
        return None
    if text[0] in "{[":
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return None
    return _load_yaml(text)


def _spec_version(doc: dict[str, Any]) -> str | None:
    """The version string ("3.0.3", "2.0") when ``doc`` declares a supported one, else None."""
    oas = doc.get("openapi")
    if isinstance(oas, str) and oas.strip().startswith("3."):
        return oas.strip()
    if isinstance(oas, float) and 3 <= oas < 4:  # YAML "openapi: 3.1"
        return str(oas)
    sw = doc.get("swagger")
    if sw == "2.0" or (isinstance(sw, float) and sw == 2.0):
        return "2.0"
    return None


# -- $ref -----------------------------------------------------------------------------


class _Resolver:
    """Follows local JSON-pointer ``$ref``s ("#/components/schemas/X") safely."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        # Params of schemas already expanded, by (id(schema), location); the
        # document outlives the parse, so ids stay valid.
        self.params_cache: dict[tuple[int, str], list[Param]] = {}

    def pointer(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return None  # external documents are never fetched
        node: Any = self.doc
        for raw in ref[1:].split("/")[1:] if ref != "#" else []:
            key = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return None
        return node

    def deref(self, node: Any) -> Any:
        """``node`` with its chain of ``$ref``s followed; None on a cycle or dead end."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen or len(seen) >= MAX_REF_DEPTH:
                return None
            seen.add(ref)
            node = self.pointer(ref)
        return node

    def mapping(self, node: Any) -> dict[str, Any]:
        """``deref(node)`` when that is a mapping, else an empty one."""
        node = self.deref(node)
        return node if isinstance(node, dict) else {}


# -- values ---------------------------------------------------------------------------


def _small(value: Any, budget: int = 100) -> bool:
    """True when ``value`` has at most ``budget`` nodes and short strings."""
    stack = [value]
    while stack:
        budget -= 1
        if budget < 0:
            return False
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and len(node) > MAX_EXAMPLE:
            return False
    return True


def _as_example(value: Any) -> str | None:
    """An example value as the text a request would carry."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        if not _small(value):
            return None  # a huge example would be serialised again for every use
        try:
            text = json.dumps(value, separators=(",", ":"), default=str)
        except (TypeError, ValueError, RecursionError):
            return None
    return text[:MAX_EXAMPLE]


def _schema_type(schema: dict[str, Any], r: _Resolver) -> str | None:
    """The JSON type a schema declares (first non-null of a 3.1 type list), or a guess."""
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if isinstance(x, str) and x != "null"), None)
    if isinstance(t, str) and t in _TYPES:
        return t
    if isinstance(schema.get("properties"), dict):
        return "object"
    if "items" in schema:
        return "array"
    for key in ("allOf", "oneOf", "anyOf"):
        options = schema.get(key)
        if isinstance(options, list):
            for sub in options[:10]:
                sub_t = _schema_type_shallow(r.mapping(sub))
                if sub_t is not None:
                    return sub_t
    return None


def _schema_type_shallow(schema: dict[str, Any]) -> str | None:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if isinstance(x, str) and x != "null"), None)
    if isinstance(t, str) and t in _TYPES:
        return t
    return "object" if isinstance(schema.get("properties"), dict) else None


def _schema_example(schema: dict[str, Any]) -> str | None:
    for key in ("example", "default"):
        if key in schema:
            ex = _as_example(schema[key])
            if ex is not None:
                return ex
    examples = schema.get("examples")  # JSON Schema 2020-12 (OpenAPI 3.1): a list
    if isinstance(examples, list) and examples:
        return _as_example(examples[0])
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return _as_example(enum[0])
    return None


def _object_properties(
    schema: dict[str, Any], r: _Resolver, seen: set[int] | None = None, depth: int = 0
) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(name, property schema, required) of an object schema, merging allOf.

    oneOf/anyOf contribute their first alternative. A schema already being
    expanded (a cycle) or nested too deep contributes nothing.
    """
    seen = set() if seen is None else seen
    if depth > 8 or id(schema) in seen:
        return
    seen.add(id(schema))
    required = schema.get("required")
    req = {x for x in required if isinstance(x, str)} if isinstance(required, list) else set()
    props = schema.get("properties")
    if isinstance(props, dict):
        for name, sub in props.items():
            if isinstance(name, str) and name:
                yield name, r.mapping(sub), name in req
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        for sub in all_of[:20]:
            for name, ps, sub_req in _object_properties(r.mapping(sub), r, seen, depth + 1):
                yield name, ps, sub_req or name in req
    for key in ("oneOf", "anyOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            for name, ps, sub_req in _object_properties(r.mapping(options[0]), r, seen, depth + 1):
                yield name, ps, sub_req or name in req
            break


def _schema_params(schema: dict[str, Any], location: str, r: _Resolver) -> list[Param]:
    """Params for the top-level properties of an object schema (memoised per schema)."""
    key = (id(schema), location)
    cached = r.params_cache.get(key)
    if cached is not None:
        return cached
    out: dict[str, Param] = {}
    for looked, (name, ps, req) in enumerate(_object_properties(schema, r)):
        if len(out) >= MAX_PARAMS or looked >= MAX_PARAMS * 20:
            break
        if name not in out:
            out[name] = Param(name, location, _schema_type(ps, r), req, _schema_example(ps))
    r.params_cache[key] = list(out.values())
    return r.params_cache[key]


# -- URLs -----------------------------------------------------------------------------


def _origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    scheme = parts.scheme.lower() if parts.scheme else "http"
    return f"{scheme}://{parts.netloc}"


def _server_path(servers: Any, base_url: str) -> str | None:
    """Path prefix of an OpenAPI 3 ``servers`` list (first entry), on the target's origin."""
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return None
    url = servers[0].get("url")
    if not isinstance(url, str):
        return None
    variables = servers[0].get("variables")
    variables = variables if isinstance(variables, dict) else {}

    def _sub(m: rx.Match) -> str:
        var = variables.get(m.group(1))
        default = var.get("default") if isinstance(var, dict) else None
        return str(default) if isinstance(default, str | int | float) else ""

    url = _SERVER_VAR.sub(_sub, url).strip()
    try:
        # Relative server URLs are relative to the document; absolute ones keep only their path.
        path = urlsplit(urljoin(base_url, url)).path
    except ValueError:
        return None
    return path or "/"


def _join(origin: str, prefix: str, path: str) -> str:
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    return origin + prefix + path


# -- operations -----------------------------------------------------------------------


def _param(raw: Any, r: _Resolver, swagger2: bool) -> Param | None:
    p = r.mapping(raw)
    name, where = p.get("name"), p.get("in")
    if not isinstance(name, str) or not name or where not in _PARAM_LOCATIONS:
        return None
    location = _PARAM_LOCATIONS[where]
    if swagger2:
        schema = p  # Swagger 2 keeps type/default/enum on the parameter itself
    else:
        schema = r.mapping(p.get("schema"))
        content = p.get("content")
        if not schema and isinstance(content, dict):
            for media in content.values():
                schema = r.mapping(r.mapping(media).get("schema"))
                break
    ptype = _schema_type(schema, r)
    if swagger2 and p.get("type") == "file":
        ptype = "string"
    example = _as_example(p.get("example")) if "example" in p else None
    if example is None:
        examples = p.get("examples")
        if isinstance(examples, dict):
            for ex in examples.values():
                example = _as_example(r.mapping(ex).get("value"))
                break
    if example is None:
        example = _schema_example(schema)
    required = location == "path" or p.get("required") is True
    return Param(name, location, ptype, required, example)


def _pick_media(content: dict[str, Any]) -> str | None:
    """The request media type to use: JSON first, then forms, then whatever is first."""
    types = [k for k in content if isinstance(k, str)]
    lowered = [t.lower() for t in types]
    for i, t in enumerate(lowered):
        base = t.split(";")[0].strip()
        if base == "application/json" or base.endswith("+json"):
            return types[i]
    for form in _FORM_TYPES:
        for i, t in enumerate(lowered):
            if t.split(";")[0].strip() == form:
                return types[i]
    return types[0] if types else None


def _body_location(media: str) -> str:
    return "form" if media.split(";")[0].strip().lower() in _FORM_TYPES else "body"


def _request_body3(op: dict[str, Any], r: _Resolver) -> tuple[list[Param], str | None]:
    body = r.mapping(op.get("requestBody"))
    content = body.get("content")
    if not isinstance(content, dict):
        return [], None
    media = _pick_media(content)
    if media is None:
        return [], None
    schema = r.mapping(r.mapping(content.get(media)).get("schema"))
    return _schema_params(schema, _body_location(media), r), media.split(";")[0].strip()


def _consumes(op: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    for holder in (op, doc):
        c = holder.get("consumes")
        if isinstance(c, list):
            return [x for x in c if isinstance(x, str)]
    return []


def _secured(op: dict[str, Any], doc: dict[str, Any]) -> bool | None:
    """True/False from the operation's (else the document's) ``security``; None if absent.

    ``security: []`` turns auth off; a ``{}`` alternative makes it optional (False).
    """
    for holder in (op, doc):
        if "security" not in holder:
            continue
        sec = holder["security"]
        if not isinstance(sec, list):
            return None
        reqs = [x for x in sec if isinstance(x, dict)]
        if not reqs or any(len(x) == 0 for x in reqs):
            return False
        return True
    return None


def _operation(
    url: str,
    method: str,
    op: dict[str, Any],
    common: list[Any],
    doc: dict[str, Any],
    r: _Resolver,
    swagger2: bool,
) -> Endpoint:
    params: dict[tuple[str, str], Param] = {}
    body_params: list[Param] = []
    content_type: str | None = None
    own = op.get("parameters")
    own_list = own if isinstance(own, list) else []
    # Operation-level parameters override path-level ones with the same name and place.
    for raw in [*common, *own_list][: MAX_PARAMS * 2]:
        if swagger2 and r.mapping(raw).get("in") == "body":
            schema = r.mapping(r.mapping(raw).get("schema"))
            body_params = _schema_params(schema, "body", r)
            consumes = _consumes(op, doc)
            content_type = _pick_media(dict.fromkeys(consumes)) or "application/json"
            if _body_location(content_type) == "form":
                content_type = "application/json"  # a body parameter is never form data
            continue
        p = _param(raw, r, swagger2)
        if p is not None:
            params[(p.location, p.name)] = p
    if swagger2:
        if any(p.location == "form" for p in params.values()):
            consumes = [c.lower() for c in _consumes(op, doc)]
            has_file = any(r.mapping(x).get("type") == "file" for x in [*common, *own_list])
            multipart = has_file or (
                "multipart/form-data" in consumes
                and "application/x-www-form-urlencoded" not in consumes
            )
            content_type = "multipart/form-data" if multipart else _FORM_TYPES[0]
    else:
        body_params, content_type = _request_body3(op, r)
    all_params = list(params.values())
    for bp in body_params:
        if (bp.location, bp.name) not in params:
            all_params.append(bp)
    return Endpoint(
        url=url,
        method=method.upper(),
        params=tuple(all_params[:MAX_PARAMS]),
        source="openapi",
        content_type=content_type,
        secured=_secured(op, doc),
    )


def _endpoints(doc: dict[str, Any], base_url: str, swagger2: bool) -> tuple[str, list[Endpoint]]:
    r = _Resolver(doc)
    origin = _origin(base_url)
    if swagger2:
        bp = doc.get("basePath")
        base_path = bp if isinstance(bp, str) and bp.startswith("/") else "/"
    else:
        base_path = _server_path(doc.get("servers"), base_url) or "/"
    out: list[Endpoint] = []
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        return base_path, out
    for path, raw_item in paths.items():
        if len(out) >= MAX_ENDPOINTS:
            break
        if not isinstance(path, str) or not path.startswith("/") or any(c.isspace() for c in path):
            continue
        item = r.mapping(raw_item)
        common = item.get("parameters")
        common_list = common if isinstance(common, list) else []
        item_prefix = None if swagger2 else _server_path(item.get("servers"), base_url)
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict) or len(out) >= MAX_ENDPOINTS:
                continue
            prefix = base_path
            if not swagger2:
                prefix = _server_path(op.get("servers"), base_url) or item_prefix or base_path
            url = _join(origin, prefix, path)
            try:
                out.append(_operation(url, method, op, common_list, doc, r, swagger2))
            except (RecursionError, ValueError, TypeError, AttributeError, KeyError):
                continue  # one odd operation must not cost the others
    return base_path, out


def parse_spec(text: str, base_url: str, content_type: str | None = None) -> Spec | None:
    """Parse an OpenAPI 3.x or Swagger 2.0 document into endpoints on ``base_url``'s origin.

    ``text`` is JSON, or YAML when PyYAML happens to be installed. A response body
    (``content_type`` given, "" when it had none) is parsed only when
    :func:`spec_format` says it is JSON or YAML. Returns None
    unless the document declares ``openapi: 3.x`` or ``swagger: "2.0"`` and has
    a ``paths`` mapping. Local ``$ref``s are resolved (cycle-safe); parts of
    the wrong type are skipped. Never raises.
    """
    try:
        doc = _load(text, content_type) if isinstance(text, str) else None
        if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
            return None
        version = _spec_version(doc)
        if version is None:
            return None
        swagger2 = version == "2.0"
        info = doc.get("info")
        info = info if isinstance(info, dict) else {}
        title, ver = info.get("title"), info.get("version")
        base_path, endpoints = _endpoints(doc, base_url, swagger2)
        if swagger2:
            schemes = doc.get("securityDefinitions")
        else:
            components = doc.get("components")
            schemes = components.get("securitySchemes") if isinstance(components, dict) else None
        return Spec(
            spec_version=version,
            title=title if isinstance(title, str) else None,
            version=_as_example(ver) if isinstance(ver, str | int | float) else None,
            base_path=base_path,
            endpoints=endpoints,
            raw_security_schemes=schemes if isinstance(schemes, dict) else {},
        )
    except (RecursionError, ValueError, TypeError, AttributeError, KeyError):
        return None
