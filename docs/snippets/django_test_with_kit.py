# tests/test_views.py in a Django project (Django set up by your test
# runner, e.g. pytest-django): the guard's settings point at the test issuer.
from django.test import Client, override_settings


def test_baristas_read_recipes(authgate_issuer):
    guard = {"ISSUER": authgate_issuer.url, "AUDIENCE": authgate_issuer.audience}
    with override_settings(AUTHGATE_GUARD=guard):
        headers = authgate_issuer.auth_headers("get:drinks-detail")
        response = Client().get("/drinks-detail", headers=headers)
    assert response.status_code == 200


def test_expired_tokens_are_refused(authgate_issuer):
    guard = {"ISSUER": authgate_issuer.url, "AUDIENCE": authgate_issuer.audience}
    with override_settings(AUTHGATE_GUARD=guard):
        token = authgate_issuer.expired_token("get:drinks-detail")
        response = Client().get("/drinks-detail", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["error_description"] == "token expired"
