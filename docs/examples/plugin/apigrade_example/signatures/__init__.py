"""Signature files of the example plugin: every *.toml file in this package."""
