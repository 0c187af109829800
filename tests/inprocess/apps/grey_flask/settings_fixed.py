"""The fixed shop's configuration, loaded with ``app.config.from_object``."""

import os
import secrets
from datetime import timedelta

DEBUG = False
SECRET_KEY = os.environ.get("SHOP_SECRET_KEY") or secrets.token_hex(32)
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
MAX_CONTENT_LENGTH = 4 * 1024 * 1024
PREFERRED_URL_SCHEME = "https"
