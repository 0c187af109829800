"""The grey-box fixture apps (tests/inprocess/apps) on sys.path, and a Django guard."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for folder in (HERE / "apps", HERE.parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import grey_django  # noqa: E402
import grey_fastapi  # noqa: E402
import grey_flask  # noqa: E402

ROOT = HERE.parents[1]
FRAMEWORKS = ("flask", "fastapi", "django")


@contextmanager
def django_app(variant: str) -> Iterator[Any]:
    """A grey_django handler; Django's process-wide settings are put back afterwards."""
    try:
        yield grey_django.create_app(variant)
    finally:
        grey_django.restore()


@contextmanager
def app_of(framework: str, variant: str) -> Iterator[Any]:
    if framework == "django":
        with django_app(variant) as app:
            yield app
    elif framework == "fastapi":
        yield grey_fastapi.create_app(variant)
    else:
        yield grey_flask.create_app(variant)


def base_url(framework: str, variant: str) -> str:
    """The fixed Django project redirects plain HTTP (SECURE_SSL_REDIRECT): scan it on https."""
    return (
        "https://testserver/"
        if (framework, variant) == ("django", "fixed")
        else "http://testserver/"
    )
