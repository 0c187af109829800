"""Unrestricted resource consumption (API4): no throttling on auth or costly endpoints."""
