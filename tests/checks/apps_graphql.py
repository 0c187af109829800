"""GraphQL fixture apps: real Strawberry and Ariadne servers, flawed and fixed.

Written from the libraries' documentation (Strawberry's Flask integration and schema
extensions; Ariadne's Flask integration with ``graphql_sync`` and its explorers):

- ``strawberry_app()``: the defaults a tutorial gives (GraphiQL, introspection, field
  suggestions, GET queries) plus batching turned on and no depth or alias limit.
  ``fixed=True``: no IDE, introspection off, no suggestions, masked errors, no batching,
  a depth limit, an alias limit, and ``user(id)`` answers only the caller's own record.
  ``introspection=True`` keeps introspection on in the fixed app, so the limits can be
  tested with a known schema.
- ``ariadne_app()``: a hand-written Flask view that also runs GET queries (mutations
  included), with ``debug=True`` (stack traces in errors) and the GraphiQL explorer.
  ``fixed=True``: POST only, ``debug=False``, introspection off, no explorer.
- ``fastapi_app()``: the Strawberry schema on FastAPI (``GraphQLRouter``), flawed or fixed.
- ``csrf_prevention_app()``: the Strawberry app behind Apollo-style CSRF prevention.
- ``injectable_app()``: resolvers that inject (raw SQL, a Jinja2 template), and fixed.
- ``json_catch_all()``: 200 with the same JSON for every path and method.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import jinja2
import strawberry
from ariadne import MutationType, ObjectType, QueryType, graphql_sync, make_executable_schema
from ariadne.explorer import ExplorerGraphiQL
from ariadne.format_error import format_error
from flask import Flask, jsonify, request
from graphql import FieldNode, GraphQLError, ValidationContext, ValidationRule
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    QueryDepthLimiter,
)
from strawberry.flask.views import GraphQLView
from strawberry.schema.config import StrawberryConfig

USERS = {1: {"id": 1, "username": "ada", "email": "ada@example.com"},
         2: {"id": 2, "username": "bob", "email": "bob@example.com"}}  # fmt: skip
POSTS = {1: {"id": 1, "title": "Hello", "author": 1}, 2: {"id": 2, "title": "Notes", "author": 2}}


# -- Strawberry -----------------------------------------------------------------------
@strawberry.type
class Post:
    id: strawberry.ID
    title: str
    author_id: strawberry.Private[int]

    @strawberry.field
    def author(self) -> User:
        return _user(USERS[self.author_id])


@strawberry.type
class User:
    id: strawberry.ID
    username: str
    email: str

    @strawberry.field
    def posts(self) -> list[Post]:
        return [_post(p) for p in POSTS.values() if str(p["author"]) == str(self.id)]


def _user(row: dict[str, Any]) -> User:
    return User(id=strawberry.ID(str(row["id"])), username=row["username"], email=row["email"])


def _post(row: dict[str, Any]) -> Post:
    return Post(id=strawberry.ID(str(row["id"])), title=row["title"], author_id=row["author"])


@strawberry.type
class Query:
    @strawberry.field
    def users(self) -> list[User]:
        return [_user(u) for u in USERS.values()]

    @strawberry.field
    def user(self, info: strawberry.Info, id: strawberry.ID) -> User | None:
        row = USERS.get(int(id))
        if row and info.context.get("owner_only"):  # the fix: only the caller's own record
            caller = info.context["request"].headers.get("Authorization")
            if caller != f"Bearer {row['username']}":
                return None
        return _user(row) if row else None

    @strawberry.field
    def search_posts(self, term: str) -> list[Post]:
        return [_post(p) for p in POSTS.values() if term.lower() in p["title"].lower()]


@strawberry.type
class Mutation:
    @strawberry.mutation
    def create_post(self, title: str) -> Post:
        row = {"id": len(POSTS) + 1, "title": title, "author": 1}
        POSTS[row["id"]] = row
        return _post(row)


def strawberry_app(
    fixed: bool = False, introspection: bool | None = None, path: str = "/graphql"
) -> Flask:
    """Strawberry on Flask (``strawberry.flask.views.GraphQLView``)."""
    app = Flask("gql_strawberry_fixed" if fixed else "gql_strawberry")

    class View(GraphQLView):
        def get_context(self, request: Any, response: Any) -> dict[str, Any]:
            return {"request": request, "response": response, "owner_only": fixed}

    view = View.as_view("graphql_view", schema=_schema(fixed, introspection),
                        graphql_ide=None if fixed else "graphiql")  # fmt: skip
    app.add_url_rule(path, view_func=view)  # "/graphql/": Flask redirects /graphql there

    @app.route("/")
    def index() -> Any:
        return "<html><body><h1>Blog</h1><a href='/about'>about</a></body></html>"

    return app


def fastapi_app(fixed: bool = False) -> Any:
    """The same schema on FastAPI (``strawberry.fastapi.GraphQLRouter``)."""
    from fastapi import FastAPI
    from strawberry.fastapi import GraphQLRouter

    async def context() -> dict[str, Any]:
        return {"owner_only": fixed}

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    router = GraphQLRouter(_schema(fixed, None), graphql_ide=None if fixed else "graphiql",
                           context_getter=context)  # fmt: skip
    app.include_router(router, prefix="/graphql")
    return app


def _schema(fixed: bool, introspection: bool | None) -> strawberry.Schema:
    introspection = (not fixed) if introspection is None else introspection
    if fixed:
        config = StrawberryConfig(disable_field_suggestions=True)  # batching off by default
        extensions: list[Any] = [MaskErrors, lambda: QueryDepthLimiter(max_depth=6),
                                 lambda: MaxAliasesLimiter(max_alias_count=15)]  # fmt: skip
    else:
        config = StrawberryConfig(batching_config={"max_operations": 50})
        extensions = []
    if not introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(query=Query, mutation=Mutation, config=config, extensions=extensions)


# -- Ariadne --------------------------------------------------------------------------
TYPE_DEFS = """
type Query {
  user(id: ID!): User
  users: [User!]!
}
type User {
  id: ID!
  username: String!
  posts: [Post!]!
}
type Post {
  id: ID!
  title: String!
  author: User!
}
type Mutation {
  deletePost(id: ID!): Boolean!
}
"""


def _ariadne_schema() -> Any:
    query, user, post, mutation = (
        QueryType(),
        ObjectType("User"),
        ObjectType("Post"),
        MutationType(),
    )

    @query.field("user")
    def resolve_user(_: Any, info: Any, id: str) -> Any:
        return USERS[int(id)]  # a malformed id raises: the traceback shows with debug=True

    @query.field("users")
    def resolve_users(*_: Any) -> Any:
        return list(USERS.values())

    @user.field("posts")
    def resolve_posts(obj: Any, *_: Any) -> Any:
        return [p for p in POSTS.values() if p["author"] == obj["id"]]

    @post.field("author")
    def resolve_author(obj: Any, *_: Any) -> Any:
        return USERS[obj["author"]]

    @mutation.field("deletePost")
    def resolve_delete(_: Any, info: Any, id: str) -> bool:
        return POSTS.pop(int(id), None) is not None

    return make_executable_schema(TYPE_DEFS, query, user, post, mutation)


class MaxAliases(ValidationRule):
    """At most 15 aliased fields per document (a hand-written rule, as Ariadne has none)."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.count = 0

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.alias is not None:
            self.count += 1
            if self.count == 16:
                self.report_error(GraphQLError("Too many aliases in one query.", node))


def quiet_errors(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """Ariadne's formatter without "Did you mean ...?" suggestions."""
    formatted = format_error(error, debug)
    formatted["message"] = formatted["message"].split(" Did you mean")[0]
    return formatted


def ariadne_app(fixed: bool = False) -> Flask:
    """Ariadne's Flask integration: a view calling ``graphql_sync``."""
    schema = _ariadne_schema()
    app = Flask("gql_ariadne_fixed" if fixed else "gql_ariadne")
    explorer = ExplorerGraphiQL()
    hardening: dict[str, Any] = (
        {"validation_rules": [MaxAliases], "error_formatter": quiet_errors} if fixed else {}
    )

    def run(data: Any) -> Any:
        success, result = graphql_sync(
            schema, data, context_value={"request": request},
            debug=not fixed, introspection=not fixed, **hardening,
        )  # fmt: skip
        return jsonify(result), 200 if success else 400

    @app.route("/graphql", methods=["GET"])
    def graphql_get() -> Any:
        if fixed:
            return jsonify(errors=[{"message": "Use POST"}]), 405
        if "query" in request.args:  # "GET support" added by hand: mutations run too
            return run({"query": request.args["query"]})
        return explorer.html(None), 200

    @app.route("/graphql", methods=["POST"])
    def graphql_post() -> Any:
        return run(request.get_json(silent=True))

    return app


def json_catch_all() -> Flask:
    """200 and the same JSON for every path and method."""
    app = Flask("gql_catch_all")
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.route("/", defaults={"path": ""}, methods=methods)
    @app.route("/<path:path>", methods=methods)
    def anything(path: str) -> Any:
        return jsonify(data={"items": []})

    return app


# -- resolvers that inject (the schema as a spec for the injection checks) --------------
def _posts_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT)")
    db.executemany("INSERT INTO posts (title) VALUES (?)", [("Hello",), ("Notes",)])
    return db


def injectable_app(fixed: bool = False) -> Flask:
    """Strawberry with a raw-SQL search and a greeting built as a Jinja2 template.

    ``fixed=True``: a bound SQL parameter and the name passed as template context.
    Introspection stays on (the schema is the spec), the IDE is off.
    """

    @strawberry.type
    class SearchQuery:
        @strawberry.field
        def search_posts(self, term: str) -> list[str]:
            db = _posts_db()
            if fixed:
                rows = db.execute("SELECT title FROM posts WHERE title LIKE ?", (f"%{term}%",))
            else:
                rows = db.execute(f"SELECT title FROM posts WHERE title LIKE '%{term}%'")
            return [r[0] for r in rows]

        @strawberry.field
        def greeting(self, name: str) -> str:
            if fixed:
                return jinja2.Template("Hello {{ name }}!").render(name=name)
            return jinja2.Template("Hello " + name + "!").render()

    schema = strawberry.Schema(query=SearchQuery)
    app = Flask("gql_injectable_fixed" if fixed else "gql_injectable")
    app.add_url_rule(
        "/graphql", view_func=GraphQLView.as_view("graphql_view", schema=schema, graphql_ide=None)
    )
    return app


CSRF_MESSAGE = (
    "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). "
    "Please either specify a 'content-type' header (with a type that is not one of "
    "application/x-www-form-urlencoded, multipart/form-data, text/plain) or provide a "
    "non-empty value for one of the following headers: x-apollo-operation-name, "
    "apollo-require-preflight\n"
)
_SIMPLE_TYPES = ("", "application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


def csrf_prevention_app() -> Flask:
    """The Strawberry app behind the CSRF prevention Apollo Server documents: a GET
    operation needs a non-simple Content-Type or a preflight header, else 400."""
    app = strawberry_app()

    @app.before_request
    def prevent_csrf() -> Any:
        if request.method != "GET" or "query" not in request.args:
            return None
        ctype = (request.content_type or "").split(";")[0].strip().lower()
        preflight = request.headers.get("Apollo-Require-Preflight") or request.headers.get(
            "X-Apollo-Operation-Name"
        )
        if ctype in _SIMPLE_TYPES and not preflight:
            body = {"errors": [{"message": CSRF_MESSAGE, "extensions": {"code": "BAD_REQUEST"}}]}
            return jsonify(body), 400
        return None

    return app
