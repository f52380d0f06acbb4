# settings.py: the parts of a Django project's settings the guard reads.
import os

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",  # only if you use Django REST framework
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    # Optional: verifies the bearer token of every request that has one and
    # sets request.auth_claims (None without a token).
    "authgate.guard.django.GuardMiddleware",
]

# The guard: the fields of authgate.guard.GuardConfig, in upper case.
# Only ISSUER and AUDIENCE are required.
AUTHGATE_GUARD = {
    "ISSUER": os.environ.get("AUTHGATE_ISSUER", "http://127.0.0.1:8000"),
    "AUDIENCE": "https://coffee.example/api",
    "REQUIRED_TYP": "at+jwt",  # authgate issues RFC 9068 access tokens
    "LEEWAY": 30,  # seconds of clock skew tolerated on exp and nbf
}

# Django REST framework: authenticate bearer tokens with the guard.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["authgate.guard.drf.GuardAuthentication"],
}
