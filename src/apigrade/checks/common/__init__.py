"""Plumbing shared by checks of several categories.

``apiutil``: JSON-API helpers and identity probes; ``slots``: probe URLs and bodies with
one parameter replaced by a payload; ``fanout``: run a bounded set of probes concurrently.
A check imports helpers from here, never from another category's package.
"""
