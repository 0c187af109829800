"""An introspected GraphQL schema as typed values, and the operations it offers.

``parse_schema(text)`` turns an introspection answer (the JSON text of
``common.graphql.INTROSPECTION``'s result) into a :class:`Schema`; ``operations`` turns
its root fields into :class:`Operation` values whose ``document(values)`` is a complete
query or mutation with literal argument values: a spec the other checks can send, the
way an OpenAPI document gives them endpoints. The text comes from the target: every
field is type-checked, a part of the wrong shape is skipped, output is capped.
``parse_schema`` is a module-level function so checks can run it in the analysis pool
(``ctx.offload``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from apigrade.discovery.model import Endpoint, Param

MAX_TYPES = 2000
MAX_FIELDS = 200  # per type
MAX_ARGS = 30  # per field
MAX_OPERATIONS = 200
MAX_SELECTED = 8  # scalar fields selected in an operation's answer
_TYPE_DEPTH = 8  # ofType wrappers followed

SCALAR_KINDS = frozenset({"SCALAR", "ENUM"})


@dataclass(frozen=True)
class TypeRef:
    """A field's or argument's type: ``kind`` NON_NULL / LIST wrap ``of_type``."""

    kind: str
    name: str | None = None
    of_type: TypeRef | None = None

    @property
    def named(self) -> str:
        """The named type under the wrappers (``User`` for ``[User!]!``)."""
        ref: TypeRef | None = self
        while ref is not None and ref.name is None:
            ref = ref.of_type
        return ref.name if ref is not None and ref.name else ""

    @property
    def required(self) -> bool:
        return self.kind == "NON_NULL"

    @property
    def is_list(self) -> bool:
        ref: TypeRef | None = self
        while ref is not None:
            if ref.kind == "LIST":
                return True
            ref = ref.of_type
        return False

    def render(self) -> str:
        """The type in SDL notation: ``[User!]!``."""
        if self.kind == "NON_NULL" and self.of_type is not None:
            return self.of_type.render() + "!"
        if self.kind == "LIST" and self.of_type is not None:
            return "[" + self.of_type.render() + "]"
        return self.name or "?"


@dataclass(frozen=True)
class Arg:
    """An argument of a field, or an input object's field."""

    name: str
    type: TypeRef
    default: str | None = None


@dataclass(frozen=True)
class Field:
    name: str
    type: TypeRef
    args: tuple[Arg, ...] = ()


@dataclass(frozen=True)
class GqlType:
    kind: str  # OBJECT, INTERFACE, UNION, SCALAR, ENUM, INPUT_OBJECT
    name: str
    fields: tuple[Field, ...] = ()
    input_fields: tuple[Arg, ...] = ()
    enum_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schema:
    """What introspection told: root type names and every named type."""

    query_type: str | None
    mutation_type: str | None
    types: tuple[GqlType, ...] = ()
    _by_name: dict[str, GqlType] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({t.name: t for t in self.types})

    def type(self, name: str | None) -> GqlType | None:
        return self._by_name.get(name or "")

    def root_fields(self, kind: str) -> tuple[Field, ...]:
        """The fields of the query (``kind="query"``) or mutation root type."""
        root = self.type(self.query_type if kind == "query" else self.mutation_type)
        return root.fields if root is not None else ()

    @property
    def own_types(self) -> list[str]:
        """Type names that are not introspection's own (``__Schema``...)."""
        return [t.name for t in self.types if not t.name.startswith("__")]


# -- parsing --------------------------------------------------------------------------
def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 200 else None


def _type_ref(node: Any, depth: int = 0) -> TypeRef | None:
    if not isinstance(node, dict) or depth > _TYPE_DEPTH:
        return None
    kind = node.get("kind")
    if not isinstance(kind, str):
        return None
    inner = _type_ref(node.get("ofType"), depth + 1) if node.get("ofType") is not None else None
    if kind in ("NON_NULL", "LIST") and inner is None:
        return None
    return TypeRef(kind=kind, name=_name(node.get("name")), of_type=inner)


def _args(nodes: Any) -> tuple[Arg, ...]:
    out = []
    for node in nodes[:MAX_ARGS] if isinstance(nodes, list) else ():
        name = _name(node.get("name")) if isinstance(node, dict) else None
        ref = _type_ref(node.get("type")) if name else None
        if name and ref is not None:
            default = node.get("defaultValue")
            out.append(Arg(name, ref, default if isinstance(default, str) else None))
    return tuple(out)


def _fields(nodes: Any) -> tuple[Field, ...]:
    out = []
    for node in nodes[:MAX_FIELDS] if isinstance(nodes, list) else ():
        name = _name(node.get("name")) if isinstance(node, dict) else None
        ref = _type_ref(node.get("type")) if name else None
        if name and ref is not None:
            out.append(Field(name, ref, _args(node.get("args"))))
    return tuple(out)


def schema_from(body: Any) -> Schema | None:
    """A :class:`Schema` from a parsed introspection answer, or None when it is not one."""
    data = body.get("data") if isinstance(body, dict) else None
    schema = data.get("__schema") if isinstance(data, dict) else None
    if not isinstance(schema, dict) or not isinstance(schema.get("types"), list):
        return None
    types = []
    for node in schema["types"][:MAX_TYPES]:
        name = _name(node.get("name")) if isinstance(node, dict) else None
        kind = node.get("kind") if name else None
        if not name or not isinstance(kind, str):
            continue
        enums = node.get("enumValues") if isinstance(node.get("enumValues"), list) else []
        types.append(GqlType(
            kind=kind, name=name, fields=_fields(node.get("fields")),
            input_fields=_args(node.get("inputFields")),
            enum_values=tuple(n for e in enums[:100] if (n := _name(e.get("name") if isinstance(e, dict) else None))),
        ))  # fmt: skip
    if not types:
        return None

    def root(key: str) -> str | None:
        node = schema.get(key)
        return _name(node.get("name")) if isinstance(node, dict) else None

    return Schema(
        query_type=root("queryType"), mutation_type=root("mutationType"), types=tuple(types)
    )


def parse_schema(text: str) -> Schema | None:
    """``schema_from`` on a JSON text (for ``ctx.offload``)."""
    try:
        return schema_from(json.loads(text))
    except (ValueError, RecursionError):
        return None


# -- operations -----------------------------------------------------------------------
_SCALAR_VALUES = {"Int": "1", "Float": "1.0", "Boolean": "true"}


@dataclass(frozen=True)
class Operation:
    """One root field of the schema as a sendable operation."""

    kind: str  # "query" | "mutation"
    field: Field
    selection: str  # "" for a scalar result, else "{id name}"
    #: literal values of the required arguments (GraphQL syntax), by argument name
    defaults: tuple[tuple[str, str], ...] = ()

    @property
    def args(self) -> tuple[Arg, ...]:
        return self.field.args

    def document(self, values: dict[str, str] | None = None) -> str:
        """The operation with literal arguments: ``values`` (raw strings, sent as GraphQL
        string literals) for the named arguments, the defaults for the other required ones."""
        given = values or {}
        parts = [f"{name}:{json.dumps(given[name])}" if name in given else f"{name}:{lit}"
                 for name, lit in self.defaults]  # fmt: skip
        parts += [f"{a.name}:{json.dumps(v)}" for a in self.args
                  if (v := given.get(a.name)) is not None and a.name not in dict(self.defaults)]  # fmt: skip
        call = self.field.name + (f"({','.join(parts)})" if parts else "")
        return f"{self.kind}{{{call}{self.selection}}}"

    def string_args(self) -> list[Arg]:
        """Arguments that take a string literal (String, ID, custom scalars): where a
        payload reaches the resolver."""
        return [a for a in self.args if not a.type.is_list
                and a.type.named not in ("Int", "Float", "Boolean")]  # fmt: skip


def literal(schema: Schema, ref: TypeRef, depth: int = 0) -> str | None:
    """A harmless literal of a type (``"1"``, ``1``, the first enum value, an input object
    with its required fields), or None when none can be built."""
    named = ref.named
    if ref.is_list:
        inner = literal(schema, TypeRef(kind="NAMED", name=named), depth)
        return None if inner is None else f"[{inner}]"
    if named in _SCALAR_VALUES:
        return _SCALAR_VALUES[named]
    t = schema.type(named)
    if t is None or t.kind == "SCALAR":
        return '"1"'  # String, ID and custom scalars
    if t.kind == "ENUM":
        return t.enum_values[0] if t.enum_values else None
    if t.kind == "INPUT_OBJECT" and depth < 3:
        parts = []
        for f in t.input_fields:
            if f.type.required and f.default is None:
                value = literal(schema, f.type, depth + 1)
                if value is None:
                    return None
                parts.append(f"{f.name}:{value}")
        return "{" + ",".join(parts) + "}"
    return None


def selection(schema: Schema, ref: TypeRef) -> str:
    """The answer's selection: up to MAX_SELECTED scalar fields, else ``{__typename}``."""
    t = schema.type(ref.named)
    if t is None or t.kind in SCALAR_KINDS:
        return ""
    scalars = [f.name for f in t.fields
               if (ft := schema.type(f.type.named)) is not None and ft.kind in SCALAR_KINDS
               and not any(a.type.required for a in f.args)]  # fmt: skip
    return "{" + " ".join(["__typename", *scalars[:MAX_SELECTED]]) + "}"


def operations(schema: Schema) -> list[Operation]:
    """Every root query and mutation field that can be called with built arguments."""
    out: list[Operation] = []
    for kind in ("query", "mutation"):
        for f in schema.root_fields(kind):
            defaults = []
            for a in f.args:
                if a.type.required and a.default is None:
                    value = literal(schema, a.type)
                    if value is None:
                        break
                    defaults.append((a.name, value))
            else:
                out.append(Operation(kind, f, selection(schema, f.type), tuple(defaults)))
            if len(out) >= MAX_OPERATIONS:
                return out
    return out


def deep_query(schema: Schema, depth: int) -> str | None:
    """A query ``depth`` levels deep along a cycle of the schema, or None."""
    path = _cycle(schema)
    if path is None:
        return None
    head, loop = path
    names = list(head)
    while len(names) < depth:
        names += loop
    names = names[:depth]
    return "{" + "{".join(names) + "{__typename" + "}" * depth + "}"


def _cycle(schema: Schema, max_len: int = 4) -> tuple[list[str], list[str]] | None:
    """(fields from the root to a type T, fields from T back to T), argument-free."""
    root = schema.type(schema.query_type)
    if root is None:
        return None
    frontier: list[tuple[str, list[str], list[str]]] = [(root.name, [], [root.name])]
    for _ in range(max_len):
        nxt = []
        for tname, path, seen in frontier:
            t = schema.type(tname)
            for f in t.fields if t is not None else ():
                target = schema.type(f.type.named)
                if target is None or target.kind not in ("OBJECT", "INTERFACE"):
                    continue
                if any(a.type.required and a.default is None for a in f.args):
                    continue
                if target.name in seen[1:]:
                    i = seen.index(target.name, 1)
                    return path[:i], [*path[i:], f.name]
                nxt.append((target.name, [*path, f.name], [*seen, target.name]))
        frontier = nxt[:500]
    return None


# -- operations as endpoints (the schema as a spec) -----------------------------------
MAX_ENDPOINT_OPS = 100  # operations turned into endpoints, per GraphQL endpoint
_PARAM_TYPES = {"Int": "integer", "Float": "number", "Boolean": "boolean"}
_EXAMPLES = {"ID": "1", "Int": "1", "Float": "1", "Boolean": "true"}


def _usable(schema: Schema, arg: Arg) -> bool:
    """Arguments a variable of a plain value can carry: scalars and enums, not lists."""
    if arg.type.is_list:
        return False
    t = schema.type(arg.type.named)
    return t is None or t.kind in SCALAR_KINDS


def _example(schema: Schema, arg: Arg) -> str | None:
    t = schema.type(arg.type.named)
    if t is not None and t.kind == "ENUM":
        return t.enum_values[0] if t.enum_values else None
    return _EXAMPLES.get(arg.type.named)


def to_endpoints(url: str, schema: Schema, get_ok: bool) -> list[Endpoint]:
    """The GraphQL endpoint and one endpoint per operation (at most MAX_ENDPOINT_OPS).

    An operation's document declares a variable per scalar or enum argument, named like
    it (``query($id:ID!){user(id:$id){__typename id name}}``); its params (location
    ``graphql``) are those variables, so the injection checks put a payload in one
    argument and example values in the others, and pick arguments by name as they pick
    query parameters. Queries go
    over GET when the endpoint runs GET queries, mutations always over POST.
    """
    out = [Endpoint(url=url, method="GET" if get_ok else "POST", source="graphql",
                    content_type="application/json")]  # fmt: skip
    for op in operations(schema):
        args = [a for a in op.args if _usable(schema, a)]
        if any(a.type.required and a.default is None and a not in args for a in op.args):
            continue  # a required list or input object: not sent as a plain variable
        name = op.field.name
        params = tuple(
            Param(name=a.name, location="graphql", required=a.type.required,
                  type=_PARAM_TYPES.get(a.type.named, "string"), example=_example(schema, a))
            for a in args
        )  # fmt: skip
        decl = ",".join(f"${a.name}:{a.type.render()}" for a in args)
        call = ",".join(f"{a.name}:${a.name}" for a in args)
        doc = (f"{op.kind}{f'({decl})' if decl else ''}"
               f"{{{name}{f'({call})' if call else ''}{op.selection}}}")  # fmt: skip
        method = "GET" if op.kind == "query" and get_ok else "POST"
        out.append(Endpoint(url=url, method=method, params=params, source="graphql",
                            content_type="application/json", graphql=doc))  # fmt: skip
        if len(out) > MAX_ENDPOINT_OPS:
            break
    return out


def schema_endpoints(text: str, url: str, get_ok: bool) -> list[Endpoint] | None:
    """``to_endpoints`` of an introspection answer's text, or None when it is not one
    (module-level: discovery runs it in the analysis pool)."""
    schema = parse_schema(text)
    return None if schema is None else to_endpoints(url, schema, get_ok)
