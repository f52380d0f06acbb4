"""UserInfo (OIDC Core §5.3): GET and POST, header or body token, claims per scope, RFC 6750 errors, CORS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from oidc_client.flow import BrowserLike, Flow
from oidc_client.servers import serve_world

# One worker runs this module: its tests share one server per backend (see oidc_client/servers.py).
pytestmark = pytest.mark.xdist_group("test_oidc_userinfo")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve_world(request, tmp_path_factory.mktemp("userinfo"))


@pytest.fixture(scope="module")
def tokens_by_scope(live_server: Any) -> dict[str, str]:
    browser = BrowserLike(live_server.url)
    found = {}
    try:
        for scope in ("openid", "openid profile", "openid email", "openid profile email", "get:drinks"):
            flow = Flow(scope=scope)
            found[scope] = browser.redeem(flow, browser.code_for(flow, "barista")).json()["access_token"]
    finally:
        browser.close()
    return found


def call(server: Any, how: str, token: str, **extra: Any) -> httpx.Response:
    url = server.url + "/userinfo"
    if how == "get-header":
        return httpx.get(url, headers={"Authorization": f"Bearer {token}", **extra})
    if how == "post-header":
        return httpx.post(url, headers={"Authorization": f"Bearer {token}", **extra})
    return httpx.post(url, data={"access_token": token}, headers=extra)


@pytest.mark.parametrize("how", ["get-header", "post-header", "post-body"])
def test_every_way_of_sending_the_token_works(live_server: Any, tokens_by_scope: dict[str, str], how: str) -> None:
    response = call(live_server, how, tokens_by_scope["openid profile email"])
    assert response.status_code == 200
    body = response.json()
    assert body["preferred_username"] == "barista" and body["email"] == "barista@coffee.example"
    assert body["email_verified"] is False and body["name"] == "Bea Barista" and isinstance(body["updated_at"], int)
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("scope", "expected"), [
    pytest.param("openid", {"sub"}, id="openid-only"),
    pytest.param("openid profile", {"sub", "preferred_username", "name", "updated_at"}, id="profile"),
    pytest.param("openid email", {"sub", "email", "email_verified"}, id="email"),
    pytest.param(
        "openid profile email", {"sub", "preferred_username", "name", "updated_at", "email", "email_verified"}, id="all"
    ),
])
def test_claims_follow_the_scope(
    live_server: Any, tokens_by_scope: dict[str, str], scope: str, expected: set[str]
) -> None:
    assert set(call(live_server, "get-header", tokens_by_scope[scope]).json()) == expected


def test_no_token_gets_a_bare_challenge(live_server: Any) -> None:
    response = httpx.get(live_server.url + "/userinfo")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="authgate"'  # RFC 6750 §3.1: no error code


@pytest.mark.parametrize("token", ["garbage", "a.b.c"], ids=["not-a-jwt", "bad-jwt"])
def test_invalid_token_is_401_invalid_token(live_server: Any, token: str) -> None:
    response = call(live_server, "get-header", token)
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["www-authenticate"]


def test_token_without_openid_scope_is_403_insufficient_scope(
    live_server: Any, tokens_by_scope: dict[str, str]
) -> None:
    response = call(live_server, "get-header", tokens_by_scope["get:drinks"])
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="openid"' in challenge


def test_token_in_header_and_body_at_once_is_invalid_request(live_server: Any, tokens_by_scope: dict[str, str]) -> None:
    token = tokens_by_scope["openid"]
    response = httpx.post(
        live_server.url + "/userinfo", data={"access_token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_cors_only_for_the_clients_registered_origin(live_server: Any, tokens_by_scope: dict[str, str]) -> None:
    token = tokens_by_scope["openid"]
    ours = call(live_server, "get-header", token, Origin="http://127.0.0.1:5000")
    assert ours.headers["access-control-allow-origin"] == "http://127.0.0.1:5000"
    theirs = call(live_server, "get-header", token, Origin="https://evil.example")
    assert "access-control-allow-origin" not in theirs.headers
    preflight = httpx.options(live_server.url + "/userinfo", headers={
        "Origin": "http://127.0.0.1:5000",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    })
    assert preflight.status_code == 204 and "GET" in preflight.headers["access-control-allow-methods"]


def test_discovery_lists_working_endpoints(live_server: Any) -> None:
    metadata = httpx.get(live_server.url + "/.well-known/openid-configuration").json()
    assert metadata["issuer"] == live_server.url
    # OIDC Discovery §3: the REQUIRED members.
    for member in ("authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported",
                   "subject_types_supported", "id_token_signing_alg_values_supported"):
        assert member in metadata, member
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    assert {"openid", "profile", "email", "offline_access"} <= set(metadata["scopes_supported"])
    assert metadata["response_modes_supported"] == ["query", "form_post"]
    assert metadata["prompt_values_supported"] == ["none", "login", "consent"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["acr_values_supported"] == ["urn:authgate:acr:password", "urn:authgate:acr:mfa"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    for name in ("authorization_endpoint", "userinfo_endpoint", "end_session_endpoint", "jwks_uri"):
        assert httpx.get(metadata[name]).status_code != 404, name
    assert httpx.post(metadata["token_endpoint"], data={}).status_code == 400


# One bearer parser (the guard's, RFC 6750 §2.1) reads userinfo's header too; before, userinfo answered
# invalid_token to another scheme (RFC 6750 §3.1: no credentials, so no error code) and took "a b" as a token.
@pytest.mark.parametrize(("authorization", "status", "error"), [
    pytest.param("Basic dXNlcjpwYXNz", 401, None, id="another-scheme-is-no-bearer-credentials"),
    pytest.param("Bearer", 400, "invalid_request", id="bearer-without-token"),
    pytest.param("Bearer two tokens", 400, "invalid_request", id="two-tokens"),
    pytest.param("Bearer " + "a" * 9000, 401, "invalid_token", id="too-large"),
    pytest.param("bearer not-a-jwt", 401, "invalid_token", id="scheme-case-insensitive-token-checked"),
])
def test_the_authorization_header_is_read_as_the_guard_reads_it(live_server: Any, authorization: str, status: int,
                                                                 error: str | None) -> None:
    from authgate.guard.bearer import bearer_token
    from authgate.guard.errors import GuardError
    from authgate.oauth2.jws import MAX_TOKEN_BYTES

    response = httpx.get(live_server.url + "/userinfo", headers={"Authorization": authorization})
    assert response.status_code == status
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer ")
    if error is None:
        assert "error=" not in response.headers["www-authenticate"]
    else:
        assert response.json()["error"] == error
    try:
        bearer_token(authorization, MAX_TOKEN_BYTES)
        guard_verdict: tuple[int, str | None] = (401, "invalid_token")  # a token: the verifier refuses it
    except GuardError as refused:
        guard_verdict = (refused.status_code, refused.error)
    assert guard_verdict == (status, error)
