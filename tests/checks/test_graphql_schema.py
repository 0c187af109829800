"""The pure GraphQL helpers: answer shapes, IDE pages, stack traces, the typed schema.

The schema comes from a real server (Strawberry's and Ariadne's answers to the scanner's
introspection query, executed in-process), and every document built from it is checked
with graphql-core's own parser and validator against that server's schema.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from graphql import build_client_schema, get_introspection_query, parse, validate
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_graphql as gql  # noqa: E402

from apigrade.checks.common.graphql import (  # noqa: E402
    INTROSPECTION,
    aliases,
    answer_of,
    candidate_paths,
    stack_trace,
    suggestion,
    typename_of,
)
from apigrade.checks.common.graphql_schema import (  # noqa: E402
    TypeRef,
    deep_query,
    operations,
    parse_schema,
    schema_endpoints,
    schema_from,
    to_endpoints,
)


def _introspect(app: Any, query: str = INTROSPECTION) -> dict[str, Any]:
    client = app.test_client()
    resp = client.post("/graphql", json={"query": query})
    body: dict[str, Any] = resp.get_json()
    assert "errors" not in body, body
    return body


@pytest.fixture(scope="module")
def strawberry_body() -> dict[str, Any]:
    return _introspect(gql.strawberry_app())


def test_answer_shapes() -> None:
    assert typename_of(answer_of({"data": {"__typename": "Query"}})) == "Query"
    err = answer_of({"errors": [{"message": "Syntax Error: Expected Name, found <EOF>."}]})
    assert err is not None and err.data is None
    located = answer_of({"errors": [{"message": "x", "locations": [{"line": 1, "column": 2}]}]})
    assert located is not None
    # REST envelopes and look-alikes are not GraphQL answers
    for body in (
        {"errors": [{"message": "Not found"}]},
        {"error": "bad request"},
        {"data": {"items": []}, "ok": True},
        {"data": [1, 2]},
        {"errors": "boom"},
        [{"data": {"__typename": "Query"}}],
        {"data": None},
    ):
        assert answer_of(body) is None or typename_of(answer_of(body)) is None, body
    assert answer_of({"errors": [{"message": "Not found"}]}) is None


def test_suggestions_and_stack_traces() -> None:
    msg = "Cannot query field 'usr' on type 'Query'. Did you mean 'user' or 'users'?"
    assert suggestion(answer_of({"errors": [{"message": msg, "locations": []}]})) == msg
    assert (
        suggestion(answer_of({"errors": [{"message": "Cannot query field 'x'.", "path": []}]}))
        is None
    )
    ariadne_like = {"errors": [{"message": "boom", "extensions": {"exception": {
        "stacktrace": ["Traceback (most recent call last):", '  File "/app/x.py", line 3'],
        "context": {"id": "'1'"}}}}]}  # fmt: skip
    trace = stack_trace(answer_of(ariadne_like))
    assert trace is not None and trace.startswith("Traceback (most recent call last):")
    apollo_like = {"errors": [{"message": "boom", "extensions": {"code": "INTERNAL_SERVER_ERROR",
        "stacktrace": ["Error: boom", "    at resolve (/app/index.js:10:11)"]}}]}  # fmt: skip
    assert "Error: boom" in (stack_trace(answer_of(apollo_like)) or "")
    masked = {"errors": [{"message": "Unexpected error.", "locations": [], "path": ["user"]}]}
    assert stack_trace(answer_of(masked)) is None
    code_only = {"errors": [{"message": "x", "extensions": {"code": "BAD_USER_INPUT"}}]}
    assert stack_trace(answer_of(code_only)) is None
    not_a_trace = {"errors": [{"message": "x", "extensions": {"stack": "main", "exception": {
        "code": "E1"}}}]}  # fmt: skip
    assert stack_trace(answer_of(not_a_trace)) is None
    python_text = {"errors": [{"message": 'Traceback (most recent call last):\n  File "/a.py",'
                               " line 1, in f\nKeyError: 3", "path": ["user"]}]}  # fmt: skip
    assert (stack_trace(answer_of(python_text)) or "").startswith("Traceback")
    assert answer_of({"data": {"__typename": "Query"}, "errors": []}) is not None


def test_schema_is_typed(strawberry_body: dict[str, Any]) -> None:
    schema = parse_schema(json.dumps(strawberry_body))
    assert schema is not None and schema == schema_from(strawberry_body)
    assert (schema.query_type, schema.mutation_type) == ("Query", "Mutation")
    assert {"User", "Post", "Query", "Mutation"} <= set(schema.own_types)
    user = {f.name: f for f in schema.root_fields("query")}["user"]
    assert [(a.name, a.type.render()) for a in user.args] == [("id", "ID!")]
    assert user.type.render() == "User" and user.type.named == "User"
    users = {f.name: f for f in schema.root_fields("query")}["users"]
    assert users.type.render() == "[User!]!" and users.type.is_list
    assert [f.name for f in schema.root_fields("mutation")] == ["createPost"]


def test_operations_are_valid_documents(strawberry_body: dict[str, Any]) -> None:
    schema = parse_schema(json.dumps(strawberry_body))
    assert schema is not None
    full = _introspect(gql.strawberry_app(), get_introspection_query())
    client_schema = build_client_schema(full["data"])  # graphql-core's own view of it
    ops = {o.field.name: o for o in operations(schema)}
    assert set(ops) == {"users", "user", "searchPosts", "createPost"}
    assert ops["createPost"].kind == "mutation"
    for op in ops.values():
        doc = op.document()
        assert not validate(client_schema, parse(doc)), doc
    odd = ops["user"].document({"id": "1' OR \"1\"='1"})
    assert not validate(client_schema, parse(odd)), odd
    assert [a.name for a in ops["searchPosts"].string_args()] == ["term"]
    deep = deep_query(schema, 15)
    assert deep is not None and deep.startswith("{users{posts{author{posts{")
    assert deep.count("{") == deep.count("}") == 16  # 15 fields and the operation
    assert not validate(client_schema, parse(deep))


def test_ariadne_schema_and_hostile_shapes() -> None:
    body = _introspect(gql.ariadne_app())
    schema = schema_from(body)
    assert schema is not None
    assert {o.field.name for o in operations(schema)} == {"user", "users", "deletePost"}
    assert schema_from({"data": {"__schema": {"types": "x"}}}) is None
    assert (
        schema_from({"data": {"__schema": {"types": [1, {"name": 3}, {"kind": "OBJECT"}]}}}) is None
    )
    assert parse_schema("[" * 100_000) is None
    deep_ref = {"kind": "NON_NULL", "name": None, "ofType": None}
    node = deep_ref
    for _ in range(50):
        node = {"kind": "LIST", "name": None, "ofType": node}
    weird = {"data": {"__schema": {"queryType": {"name": "Q"}, "types": [
        {"kind": "OBJECT", "name": "Q", "fields": [{"name": "f", "args": [], "type": node}]}]}}}  # fmt: skip
    parsed = schema_from(weird)
    assert parsed is not None and parsed.root_fields("query") == ()  # the type was refused
    assert (
        TypeRef("NON_NULL", None, TypeRef("LIST", None, TypeRef("SCALAR", "Int"))).render()
        == "[Int]!"
    )


def test_alias_document() -> None:
    doc = aliases(100)
    assert doc.count(":__typename") == 100
    parse(doc)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["data", "errors", "__schema", "types", "name", "kind", "fields", "args",
                         "type", "ofType", "queryType", "mutationType", "message", "extensions",
                         "stacktrace", "exception", "enumValues", "inputFields"]),
        inner, max_size=5),
    max_leaves=40,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_hostile_shapes_never_raise(body: Any) -> None:
    """The answer and schema parsers take any JSON the target sends without raising."""
    ans = answer_of(body)
    stack_trace(ans), suggestion(ans), typename_of(ans)
    schema = schema_from(body)
    if schema is not None:
        operations(schema), deep_query(schema, 15)
        to_endpoints("http://t/graphql", schema, True)
    assert schema_endpoints(json.dumps(body), "http://t/graphql", False) is None or schema


def test_candidate_paths() -> None:
    urls = ["http://t/app/graphql", "http://t/static/gql-client.js", "http://t/api/users",
            "http://t/graphql"]  # fmt: skip
    got = candidate_paths(urls)
    assert got[:3] == ["/app/graphql", "/graphql", "/api/graphql"] and len(got) == 8
    assert "/static/gql-client.js" not in got and "/api/users" not in got
