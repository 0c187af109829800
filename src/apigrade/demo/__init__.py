"""The bundled demo target: a deliberately misconfigured Flask app."""
