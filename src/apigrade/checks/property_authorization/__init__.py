"""Broken object property level authorisation (API3:2023): excessive data, mass assignment."""
