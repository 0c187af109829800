"""``apigrade serve``: an HTTP API and a web dashboard for scans (FastAPI + uvicorn).

A scan service is an SSRF vector: it sends requests wherever it is told to. Every scan
target must match an ``--allow`` pattern (:mod:`apigrade.service.scope`); with no pattern
every scan is refused.
"""
