"""Signing key rotation end to end: a resource server with PyJWKClient keeps verifying across a rotation.

New tokens carry the new kid at once; tokens signed before still verify while
the old key is published; after the overlap the old key leaves the JWKS and
its tokens stop verifying (and stop introspecting as active).
"""

from __future__ import annotations

import json
from datetime import timedelta

import jwt
import pytest
from jwt import PyJWKClient
from sqlalchemy import update
from test_token_world import COFFEE, HTTP, REPORT_SECRET, basic, load_world, start_server

from authgate.clock import utcnow
from authgate.storage.models import SigningKey
from testkit import TEST_MASTER_KEY, cli_in_process

__all__ = ["start_server"]


def machine_token(server) -> str:
    response = HTTP.post(server.url + "/oauth/token", data={"grant_type": "client_credentials"},
                          headers=basic("nightly-report", REPORT_SECRET))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def verify(jwks: PyJWKClient, server, access_token: str) -> dict:
    assert jwt.get_unverified_header(access_token)["typ"] == "at+jwt"
    key = jwks.get_signing_key_from_jwt(access_token)
    return jwt.decode(access_token, key.key, algorithms=["ES256"], audience=COFFEE, issuer=server.url)


def keys_list(server, database_url: str) -> list[dict]:
    """`authgate keys list --json`, in this process."""
    authgate = cli_in_process({"AUTHGATE_DATABASE_URL": database_url, "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY,
                               "AUTHGATE_DATA_DIR": str(server.services.settings.data_dir)})
    return json.loads(authgate("keys", "list", "--json").stdout)


def test_tokens_verify_across_a_key_rotation(start_server, database_url):
    server = start_server()
    load_world(server.services)
    jwks_uri = HTTP.get(server.url + "/.well-known/openid-configuration").json()["jwks_uri"]
    # A resource server that caches the key set and refetches on an unknown kid (no refetch cooldown in a test).
    resource_server = PyJWKClient(jwks_uri, cache_keys=True, lifespan=3600, cooldown_duration=0)

    before = machine_token(server)
    old_kid = jwt.get_unverified_header(before)["kid"]
    assert verify(resource_server, server, before)["sub"] == "nightly-report"

    new_kids = server.services.keys.rotate(actor="test")
    after = machine_token(server)
    new_kid = jwt.get_unverified_header(after)["kid"]
    assert new_kid in new_kids and new_kid != old_kid, "new tokens are signed with the new key at once"
    # The resource server has the old JWKS cached; an unknown kid makes it fetch again.
    assert verify(resource_server, server, after)["sub"] == "nightly-report"
    assert verify(resource_server, server, before)["sub"] == "nightly-report", "old tokens verify during the overlap"
    published = {key["kid"] for key in HTTP.get(jwks_uri).json()["keys"]}
    assert {old_kid, new_kid} <= published
    states = {row["kid"]: row["state"] for row in keys_list(server, database_url)}
    assert states[old_kid] == "published" and states[new_kid] == "signing"

    # Time passes beyond the overlap window.
    with server.services.database.transaction() as session:
        session.execute(update(SigningKey).where(SigningKey.kid == old_kid).values(unpublish_at=utcnow() - timedelta(seconds=1)))
    server.services.keys.ensure_active()  # drops the server's key cache, as its 5-second refresh would
    published = {key["kid"] for key in HTTP.get(jwks_uri).json()["keys"]}
    assert old_kid not in published and new_kid in published
    fresh_client = PyJWKClient(jwks_uri)
    with pytest.raises(jwt.PyJWKClientError):
        fresh_client.get_signing_key_from_jwt(before)
    assert verify(fresh_client, server, after)["sub"] == "nightly-report"
    inactive = HTTP.post(server.url + "/oauth/introspect", data={"token": before}, headers=basic("nightly-report", REPORT_SECRET))
    assert inactive.json() == {"active": False}
