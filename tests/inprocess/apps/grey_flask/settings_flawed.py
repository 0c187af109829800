"""The flawed shop's configuration, loaded with ``app.config.from_object``."""

from datetime import timedelta

DEBUG = True
SECRET_KEY = "changeme"
SESSION_COOKIE_SAMESITE = None
PERMANENT_SESSION_LIFETIME = timedelta(days=90)
