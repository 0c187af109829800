"""Unsafe consumption (API10): permissive CORS, open redirects, JSONP callbacks."""
