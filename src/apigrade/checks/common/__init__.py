"""Plumbing shared by checks of several categories.

``apiutil``: JSON-API helpers and identity probes; ``slots``: probe URLs and bodies with
one parameter replaced by a payload; ``injection``: every injection point (parameters, path
segments, missing paths, headers, cookies) and the shared reflection probe that picks the
points worth payloads; ``html_context``: where a value lands in an HTML page; ``fanout``: run a bounded set of probes concurrently;
``errors``: database, template and XML parser errors wherever an answer shows them.
A check imports helpers from here, never from another category's package.
"""
