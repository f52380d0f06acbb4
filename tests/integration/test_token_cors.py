"""CORS on the token and revocation endpoints: only a client's registered web origins, nothing wider."""

from __future__ import annotations

import pytest
from test_token_world import HTTP, PASSWORD, REPORT_SECRET, SPA_ORIGIN, token_server

__all__ = ["token_server"]
PATHS = ["/oauth/token", "/oauth/revoke"]


@pytest.mark.parametrize("path", PATHS)
def test_preflight_allows_a_registered_origin_only(token_server, path):
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = HTTP.options(token_server.url + path, headers={"Origin": SPA_ORIGIN, **asked})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SPA_ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "Origin" in allowed.headers["vary"]
    assert "access-control-allow-credentials" not in allowed.headers

    refused = HTTP.options(token_server.url + path, headers={"Origin": "https://evil.example", **asked})
    assert "access-control-allow-origin" not in refused.headers
    assert "Origin" in refused.headers["vary"]


def test_the_response_echoes_only_the_requesting_clients_origin(token_server):
    url = token_server.url + "/oauth/token"
    spa = HTTP.post(
        url, data={"grant_type": "password", "client_id": "coffee-app", "username": "barista", "password": PASSWORD},
        headers={"Origin": SPA_ORIGIN},
    )
    assert spa.status_code == 200
    assert spa.headers["access-control-allow-origin"] == SPA_ORIGIN and "Origin" in spa.headers["vary"]

    failed = HTTP.post(
        url, data={"grant_type": "password", "client_id": "coffee-app", "username": "barista", "password": "no"},
        headers={"Origin": SPA_ORIGIN},
    )
    assert failed.status_code == 400
    assert failed.headers["access-control-allow-origin"] == SPA_ORIGIN, "the app must be able to read the error"

    # The origin is registered, but by another client than the one asking.
    other = HTTP.post(url, data={"grant_type": "client_credentials"}, auth=("nightly-report", REPORT_SECRET),
                       headers={"Origin": SPA_ORIGIN})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers and "Origin" in other.headers["vary"]

    stranger = HTTP.post(url, data={"grant_type": "password", "client_id": "coffee-app", "username": "barista",
                                     "password": PASSWORD}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers


def test_revocation_answers_the_spa_with_its_origin(token_server):
    login = HTTP.post(token_server.url + "/oauth/token", data={"grant_type": "password", "client_id": "coffee-app",
                                                                "username": "barista", "password": PASSWORD})
    revoked = HTTP.post(
        token_server.url + "/oauth/revoke",
        data={"client_id": "coffee-app", "token": login.json()["refresh_token"]},
        headers={"Origin": SPA_ORIGIN},
    )
    assert revoked.status_code == 200
    assert revoked.headers["access-control-allow-origin"] == SPA_ORIGIN
