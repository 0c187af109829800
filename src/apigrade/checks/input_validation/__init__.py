"""Injection checks: SQL, NoSQL, template injection, path traversal, ReDoS.

The probe-URL helpers they share with other categories live in ``checks/common/slots.py``.
"""
