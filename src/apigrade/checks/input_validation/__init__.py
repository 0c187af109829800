"""Injection checks: SQL, NoSQL, template injection, cross-site scripting, path traversal, ReDoS.

The injection points they share with other categories live in ``checks/common/injection.py``
(built on the probe-URL helpers of ``checks/common/slots.py``).
"""
