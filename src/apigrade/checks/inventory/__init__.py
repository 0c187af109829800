"""Inventory checks (API9:2023): exposed specs and docs, GraphQL introspection, old versions, spec drift."""
