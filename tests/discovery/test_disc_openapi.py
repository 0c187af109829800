"""OpenAPI 3 / Swagger 2 parsing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apigrade.discovery.model import Endpoint, Param
from apigrade.discovery.openapi import (
    MAX_ENDPOINTS,
    OPENAPI_PATHS,
    looks_like_spec,
    parse_spec,
)

OAS3: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Pet API", "version": "1.2.0"},
    # Another host: only the path survives, rebased on the target's origin.
    "servers": [
        {"url": "https://api.elsewhere.test/{base}", "variables": {"base": {"default": "v1"}}}
    ],
    "security": [{"bearer": []}],
    "paths": {
        "/pets": {
            "get": {
                "security": [],
                "parameters": [
                    {"$ref": "#/components/parameters/Limit"},
                    {
                        "name": "tag",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["cat", "dog"]},
                    },
                    {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                    {"name": "sid", "in": "cookie", "example": "abc"},
                ],
            },
            "post": {
                "requestBody": {"$ref": "#/components/requestBodies/NewPet"},
            },
        },
        "/pets/{petId}": {
            "parameters": [
                {"name": "petId", "in": "path", "schema": {"$ref": "#/components/schemas/Id"}}
            ],
            "get": {"security": [{}, {"bearer": []}]},
            "delete": {
                "parameters": [
                    {"name": "petId", "in": "path", "required": True, "schema": {"type": "string"}}
                ]
            },
            "put": {
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "age": {"type": "integer"},
                                },
                            }
                        }
                    }
                }
            },
        },
        "/tree": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Node"}}
                    }
                }
            }
        },
        "/loop": {"$ref": "#/paths/~1loop"},
        "not-a-path": {"get": {}},
        "/broken": {"get": "nope", "post": {"parameters": "nope", "requestBody": 5}},
    },
    "components": {
        "parameters": {
            "Limit": {
                "name": "limit",
                "in": "query",
                "required": True,
                "schema": {"type": "integer", "default": 20},
            }
        },
        "schemas": {
            "Id": {"type": "integer", "format": "int64"},
            "Pet": {
                "allOf": [
                    {"$ref": "#/components/schemas/Base"},
                    {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string", "example": "Rex"},
                            "tags": {"type": "array", "items": {"type": "string"}},
                            "owner": {"$ref": "#/components/schemas/Owner"},
                            "nick": {"type": ["string", "null"]},
                        },
                    },
                ]
            },
            "Base": {"type": "object", "properties": {"id": {"$ref": "#/components/schemas/Id"}}},
            "Owner": {
                "type": "object",
                "properties": {"pet": {"$ref": "#/components/schemas/Pet"}},
            },
            # A self-referential schema and a $ref cycle must not hang or raise.
            "Node": {
                "type": "object",
                "properties": {
                    "child": {"$ref": "#/components/schemas/Node"},
                    "bad": {"$ref": "#/components/schemas/A"},
                },
                "allOf": [{"$ref": "#/components/schemas/Node"}],
            },
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"$ref": "#/components/schemas/A"},
        },
        "requestBodies": {
            "NewPet": {
                "required": True,
                "content": {
                    "text/plain": {"schema": {"type": "string"}},
                    "application/json; charset=utf-8": {
                        "schema": {"$ref": "#/components/schemas/Pet"}
                    },
                },
            }
        },
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
}


def _by_key(endpoints: list[Endpoint]) -> dict[tuple[str, str], Endpoint]:
    return {(e.method, e.url): e for e in endpoints}


def test_openapi3() -> None:
    spec = parse_spec(json.dumps(OAS3), "http://target.test:8080/some/page")
    assert spec is not None
    assert (spec.spec_version, spec.title, spec.version) == ("3.0.3", "Pet API", "1.2.0")
    assert spec.base_path == "/v1"
    assert spec.raw_security_schemes == {"bearer": {"type": "http", "scheme": "bearer"}}
    eps = _by_key(spec.endpoints)
    base = "http://target.test:8080/v1"
    assert set(eps) == {
        ("GET", base + "/pets"),
        ("POST", base + "/pets"),
        ("GET", base + "/pets/{petId}"),
        ("DELETE", base + "/pets/{petId}"),
        ("PUT", base + "/pets/{petId}"),
        ("POST", base + "/tree"),
        ("POST", base + "/broken"),
    }
    assert all(e.source == "openapi" for e in spec.endpoints)

    list_pets = eps[("GET", base + "/pets")]
    assert list_pets.secured is False  # security: [] turns global auth off
    assert list_pets.params == (
        Param("limit", "query", "integer", True, "20"),
        Param("tag", "query", "string", False, "cat"),
        Param("X-Trace", "header", "string", False, None),
        Param("sid", "cookie", None, False, "abc"),
    )

    create = eps[("POST", base + "/pets")]
    assert create.secured is True  # global security
    assert create.content_type == "application/json"
    body = {p.name: p for p in create.params}
    assert body == {
        "id": Param("id", "body", "integer", False, None),
        "name": Param("name", "body", "string", True, "Rex"),
        "tags": Param("tags", "body", "array", False, None),
        "owner": Param("owner", "body", "object", False, None),
        "nick": Param("nick", "body", "string", False, None),
    }

    get_pet = eps[("GET", base + "/pets/{petId}")]
    assert get_pet.secured is False  # {} alternative: anonymous access allowed
    assert get_pet.params == (Param("petId", "path", "integer", True, None),)
    # Operation-level parameters override path-level ones.
    assert eps[("DELETE", base + "/pets/{petId}")].params == (
        Param("petId", "path", "string", True, None),
    )
    put = eps[("PUT", base + "/pets/{petId}")]
    assert put.content_type == "application/x-www-form-urlencoded"
    assert [(p.name, p.location, p.type) for p in put.params] == [
        ("petId", "path", "integer"),
        ("name", "form", "string"),
        ("age", "form", "integer"),
    ]
    tree = eps[("POST", base + "/tree")]
    assert [p.name for p in tree.params] == ["child", "bad"]
    assert tree.params[1].type is None  # unresolvable cycle
    broken = eps[("POST", base + "/broken")]
    assert broken.params == () and broken.content_type is None


SWAGGER2: dict[str, Any] = {
    "swagger": "2.0",
    "info": {"title": "Legacy", "version": 3},
    "host": "legacy.other.test",
    "basePath": "/api",
    "consumes": ["application/json"],
    "securityDefinitions": {"key": {"type": "apiKey", "name": "X-API-Key", "in": "header"}},
    "paths": {
        "/users/{id}": {
            "parameters": [{"$ref": "#/parameters/UserId"}],
            "get": {"security": [{"key": []}]},
            "put": {
                "parameters": [
                    {"name": "body", "in": "body", "schema": {"$ref": "#/definitions/User"}}
                ]
            },
        },
        "/upload": {
            "post": {
                "consumes": ["multipart/form-data"],
                "parameters": [
                    {"name": "file", "in": "formData", "type": "file", "required": True},
                    {"name": "note", "in": "formData", "type": "string"},
                ],
            }
        },
        "/login": {
            "post": {
                "consumes": ["application/x-www-form-urlencoded"],
                "parameters": [
                    {"name": "user", "in": "formData", "type": "string", "required": True},
                    {"name": "remember", "in": "formData", "type": "boolean", "default": False},
                ],
            }
        },
    },
    "parameters": {"UserId": {"name": "id", "in": "path", "type": "integer", "required": True}},
    "definitions": {
        "User": {
            "type": "object",
            "required": ["email"],
            "properties": {
                "email": {"type": "string", "example": "a@b.test"},
                "admin": {"type": "boolean"},
                "friend": {"$ref": "#/definitions/User"},
            },
        }
    },
}


def test_swagger2() -> None:
    spec = parse_spec(json.dumps(SWAGGER2), "https://target.test/")
    assert spec is not None
    assert (spec.spec_version, spec.title, spec.version) == ("2.0", "Legacy", "3")
    assert spec.raw_security_schemes == SWAGGER2["securityDefinitions"]
    eps = _by_key(spec.endpoints)
    get_user = eps[("GET", "https://target.test/api/users/{id}")]
    assert get_user.secured is True
    assert get_user.params == (Param("id", "path", "integer", True, None),)
    put_user = eps[("PUT", "https://target.test/api/users/{id}")]
    assert put_user.secured is None  # no security anywhere for it
    assert put_user.content_type == "application/json"
    assert put_user.params == (
        Param("id", "path", "integer", True, None),
        Param("email", "body", "string", True, "a@b.test"),
        Param("admin", "body", "boolean", False, None),
        Param("friend", "body", "object", False, None),
    )
    upload = eps[("POST", "https://target.test/api/upload")]
    assert upload.content_type == "multipart/form-data"
    assert upload.params[0] == Param("file", "form", "string", True, None)
    login = eps[("POST", "https://target.test/api/login")]
    assert login.content_type == "application/x-www-form-urlencoded"
    assert login.params[1] == Param("remember", "form", "boolean", False, "false")


def test_relative_server_and_no_servers() -> None:
    doc = {
        "openapi": "3.1.0",
        "info": {},
        "servers": [{"url": "/api/v2/"}],
        "paths": {"/x": {"get": {}}},
    }
    spec = parse_spec(json.dumps(doc), "http://h/")
    assert spec is not None and [e.url for e in spec.endpoints] == ["http://h/api/v2/x"]
    doc = {"openapi": "3.0.0", "paths": {"/x": {"get": {}}}}
    spec = parse_spec(json.dumps(doc), "http://h/app/")
    assert spec is not None and spec.endpoints == [Endpoint("http://h/x", source="openapi")]
    assert spec.title is None


def test_not_openapi_returns_none() -> None:
    for text in (
        '{"name": "not a spec", "paths": {}}',
        '{"openapi": "2.5", "paths": {}}',
        '{"swagger": "1.2", "apis": []}',
        '{"openapi": "3.0.0"}',
        '{"openapi": "3.0.0", "paths": []}',
        "[1, 2, 3]",
        "<html>Swagger UI</html>",
        "",
        "{",
        "[" * 100_000,
        "openapi: 3.0.0\npaths: {}\n",  # YAML only when PyYAML is installed; never JSON
    ):
        spec = parse_spec(text, "http://h/")
        if text.startswith("openapi:"):
            assert spec is None or spec.endpoints == []
        else:
            assert spec is None, text[:40]


def test_endpoint_cap() -> None:
    doc = {"openapi": "3.0.0", "paths": {f"/p{i}": {"get": {}} for i in range(MAX_ENDPOINTS + 50)}}
    spec = parse_spec(json.dumps(doc), "http://h/")
    assert spec is not None and len(spec.endpoints) == MAX_ENDPOINTS


def test_yaml_when_available() -> None:
    pytest.importorskip("yaml")
    text = (
        "openapi: 3.1\ninfo: {title: Y}\npaths:\n  /a:\n    get:\n      parameters:\n"
        "        - {name: n, in: query, schema: {type: integer}}\n"
    )
    spec = parse_spec(text, "http://h/")
    assert spec is not None and spec.endpoints[0].params == (Param("n", "query", "integer"),)
    # Alias bombs are refused outright.
    bomb = "openapi: 3.0.0\na: &a [x, x]\nb: &b [*a, *a]\npaths: {}\n"
    assert parse_spec(bomb, "http://h/") is None


def test_looks_like_spec_and_paths() -> None:
    assert looks_like_spec(json.dumps(OAS3))
    assert looks_like_spec('{"swagger":"2.0","paths":{}}')
    assert looks_like_spec("openapi: '3.0.1'\n")
    assert not looks_like_spec('{"name": "x"}')
    assert not looks_like_spec("<html>")
    assert OPENAPI_PATHS[0] == "/openapi.json"
    assert len(OPENAPI_PATHS) == len(set(OPENAPI_PATHS)) >= 15
    assert all(p.startswith("/") for p in OPENAPI_PATHS)
