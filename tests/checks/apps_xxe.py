"""Flask apps for the XXE check: XML parsers with entities on, and their defusedxml twins."""

from __future__ import annotations

import xml.sax
from typing import Any
from xml.sax.handler import feature_external_ges

import defusedxml.ElementTree
from defusedxml import DefusedXmlException
from flask import Flask, request
from lxml import etree

SPEC_PATHS = {
    "/api/import": {
        "post": {
            "requestBody": {
                "content": {
                    "application/xml": {
                        "schema": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}},
                        }
                    }
                }
            },
            "responses": {"200": {"description": "imported"}},
        }
    },
    "/api/feed": {
        "post": {
            "requestBody": {"content": {"text/xml": {"schema": {"type": "string"}}}},
            "responses": {"200": {"description": "read"}},
        }
    },
    "/api/notes": {
        "post": {
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"text": {"type": "string"}},
                        }
                    }
                }
            },
            "responses": {"201": {"description": "created"}},
        }
    },
}


def _spec() -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "XML API", "version": "1"},
            "paths": SPEC_PATHS}  # fmt: skip


def _sax_text(data: bytes, external: bool) -> str:
    """The character data of a document read with xml.sax (external general entities on or
    off)."""

    class Text(xml.sax.ContentHandler):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []

        def characters(self, content: str) -> None:
            self.parts.append(content)

    parser = xml.sax.make_parser()
    parser.setFeature(feature_external_ges, external)  # expat has no external parameter entities
    handler = Text()
    parser.setContentHandler(handler)
    parser.feed(data)
    parser.close()
    return "".join(handler.parts)


def flawed_app() -> Flask:
    """lxml with ``resolve_entities=True`` (in-band, a request body and a form field),
    xml.sax with external general entities on (it fetches them over HTTP: out of band),
    and a JSON endpoint."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        return (
            '<title>XML tools</title><form method="post" action="/tools/parse">'
            '<textarea name="xml"></textarea><button>Parse</button></form>'
        )

    @app.post("/tools/parse")
    def parse() -> Any:
        parser = etree.XMLParser(resolve_entities=True)
        try:
            root = etree.fromstring(request.form.get("xml", "").encode(), parser)
        except etree.XMLSyntaxError as exc:
            return f"<p>lxml.etree.XMLSyntaxError: {exc}</p>", 400
        return f"<pre>{etree.tostring(root).decode()[:500]}</pre>"

    @app.route("/openapi.json")
    def spec() -> Any:
        return _spec()

    @app.post("/api/import")
    def import_() -> Any:
        parser = etree.XMLParser(resolve_entities=True)
        try:
            root = etree.fromstring(request.get_data(), parser)
        except etree.XMLSyntaxError as exc:
            return {"error": f"lxml.etree.XMLSyntaxError: {exc}"}, 400
        return {"imported": "".join(root.itertext())[:500]}

    @app.post("/api/feed")
    def feed() -> Any:
        try:
            _sax_text(request.get_data(), external=True)
        except (xml.sax.SAXException, OSError, ValueError) as exc:
            return {"error": f"xml.sax._exceptions.SAXParseException: {exc}"}, 400
        return {"status": "read"}  # blind: nothing of the document comes back

    @app.post("/api/notes")
    def notes() -> Any:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return {"error": "expected JSON"}, 400
        return {"text": data.get("text")}, 201

    return app


def fixed_app() -> Flask:
    """The same endpoints with defusedxml (entity declarations refused). The raw document is echoed on errors: a reflection of the
    probe must not count."""
    app = Flask(__name__)

    @app.route("/openapi.json")
    def spec() -> Any:
        return _spec()

    @app.post("/api/import")
    def import_() -> Any:
        data = request.get_data()
        try:
            root = defusedxml.ElementTree.fromstring(data)
        except (DefusedXmlException, defusedxml.ElementTree.ParseError) as exc:
            return {"error": type(exc).__name__, "document": data.decode(errors="replace")}, 400
        return {"imported": "".join(root.itertext())[:500]}

    @app.post("/api/feed")
    def feed() -> Any:
        try:
            root = defusedxml.ElementTree.fromstring(request.get_data())
        except (DefusedXmlException, defusedxml.ElementTree.ParseError) as exc:
            return {"error": str(exc) or type(exc).__name__}, 400
        return {"status": "read", "text": "".join(root.itertext())[:500]}

    @app.post("/api/notes")
    def notes() -> Any:
        return {"echo": request.get_data(as_text=True)[:2000]}, 201

    return app


def stdlib_app() -> Flask:
    """The standard library's ElementTree: internal entities expand, external ones never
    load (only the low-severity expansion finding, no XXE)."""
    app = Flask(__name__)

    @app.route("/openapi.json")
    def spec() -> Any:
        return _spec()

    @app.post("/api/import")
    def import_() -> Any:
        import xml.etree.ElementTree as ET  # noqa: N817, S405 - the fixture's point

        try:
            root = ET.fromstring(request.get_data())  # noqa: S314
        except ET.ParseError as exc:
            return {"error": f"xml.etree.ElementTree.ParseError: {exc}"}, 400
        return {"imported": "".join(root.itertext())[:500]}

    return app
