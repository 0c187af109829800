"""Broken object level authorisation (API1:2023): object ids readable by the wrong caller.

The JSON-API helpers it shares with other checks live in ``checks/common/apiutil.py``.
"""
