"""One Django configuration for every test process that needs Django.

Django's settings can be configured once per process, so the Django, DRF and
docs tests all call ``configure()`` and vary what they need (the guard's
issuer, the URLconf, the middleware) with ``override_settings``.
"""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings

urlpatterns: list[Any] = []


def configure() -> None:
    """Configure Django for the tests, once; later calls do nothing."""
    if settings.configured:
        return
    settings.configure(
        SECRET_KEY="test-only, not a secret",
        DEBUG=False,
        ALLOWED_HOSTS=["testserver", "127.0.0.1", "localhost"],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        MIDDLEWARE=[],
        ROOT_URLCONF="django_project",
        DATABASES={},
        USE_TZ=True,
        LOGGING_CONFIG=None,  # leave the test process's logging as the other tests set it
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": ["authgate.guard.drf.GuardAuthentication"],
            "UNAUTHENTICATED_USER": None,
        },
    )
    django.setup()
