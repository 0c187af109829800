"""Broken object level authorisation (API1:2023): object ids readable by the wrong caller.

``apiutil`` holds JSON-API helpers shared with the other API authorisation checks.
"""
