"""Broken function level authorisation (API5:2023): privileged functions, method tampering."""
