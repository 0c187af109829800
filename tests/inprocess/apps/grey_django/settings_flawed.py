"""The flawed project's settings (what DJANGO_SETTINGS_MODULE would name)."""

SECRET_KEY = "django-insecure-7n#x2v!k9q@p4m8r$w3t6y1u5i0o"
DEBUG = True
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "grey_django.urls_flawed"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SESSION_COOKIE_AGE = 60 * 60 * 24 * 90
SECURE_HSTS_SECONDS = 0
SECURE_SSL_REDIRECT = False
