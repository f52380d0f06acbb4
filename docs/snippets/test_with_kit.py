# test_api.py: your API's tests, with real signed tokens from authgate.testing.
# The fixtures authgate_issuer, authgate_issuer_factory and authgate_clock come
# with authgate: nothing to configure.
import flask
import pytest

from authgate.guard.flask import FlaskGuard


def create_app(guard):  # your application factory
    app = flask.Flask(__name__)

    @app.post("/drinks")
    @guard.requires_auth("post:drinks")
    def create_drink(claims):
        return {"created_by": claims.sub}

    return app


@pytest.fixture
def client(authgate_issuer):
    # The guard trusts the test issuer: it finds its keys through discovery.
    guard = FlaskGuard(issuer=authgate_issuer.url, audience=authgate_issuer.audience)
    yield create_app(guard).test_client()
    guard.close()


def test_managers_create_drinks(client, authgate_issuer):
    headers = authgate_issuer.auth_headers("post:drinks", sub="manager-1")
    response = client.post("/drinks", headers=headers)
    assert response.status_code == 200
    assert response.json == {"created_by": "manager-1"}


def test_baristas_may_not(client, authgate_issuer):
    response = client.post("/drinks", headers=authgate_issuer.auth_headers("get:drinks"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("bad_token", ["expired_token", "not_yet_valid_token",
                                       "wrong_audience_token", "forged_token"])
def test_bad_tokens_are_refused(client, authgate_issuer, bad_token):
    token = getattr(authgate_issuer, bad_token)("post:drinks")
    response = client.post("/drinks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


def test_a_key_rotation_needs_no_restart(authgate_issuer_factory, authgate_clock):
    issuer = authgate_issuer_factory()  # a private issuer: rotating it affects no other test
    guard = FlaskGuard(issuer=issuer.url, audience=issuer.audience, monotonic=authgate_clock)
    client = create_app(guard).test_client()
    assert client.post("/drinks", headers=issuer.auth_headers("post:drinks")).status_code == 200
    issuer.rotate()  # new tokens carry a kid the guard has not seen
    authgate_clock.advance(10)  # past the guard's jwks_refetch_interval
    assert client.post("/drinks", headers=issuer.auth_headers("post:drinks")).status_code == 200
    guard.close()
