"""Tests of scan history, comparison and verify (issue 5)."""
