"""The authorization code grant end to end: tokens, ID token claims, PKCE, code binding, reuse, refresh.

Tokens are checked with PyJWT against the published JWKS (PyJWKClient), as a relying party would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from oidc_client.flow import THIRD_PARTY_REDIRECT, BrowserLike, Flow
from oidc_client.servers import serve_world
from sqlalchemy import select, update

from authgate import audit, tokens
from authgate.clock import utcnow
from authgate.oidc.id_tokens import left_half_hash
from authgate.storage.models import AuditEvent, AuthorizationCode, User

# One worker runs this module: its tests share one server per backend (see oidc_client/servers.py).
pytestmark = pytest.mark.xdist_group("test_oidc_code_flow")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve_world(request, tmp_path_factory.mktemp("codeflow"))


@pytest.fixture
def browser(live_server: Any) -> Iterator[BrowserLike]:
    client = BrowserLike(live_server.url)
    yield client
    client.close()


def id_token_claims(server: Any, id_token: str, audience: str = "coffee-spa") -> dict[str, Any]:
    keys = jwt.PyJWKClient(server.url + "/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(id_token)
    return jwt.decode(id_token, key.key, algorithms=["RS256"], audience=audience, issuer=server.url)


def userinfo(server: Any, access_token: str) -> httpx.Response:
    return httpx.get(server.url + "/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def refresh(server: Any, refresh_token: str, client_id: str = "coffee-spa") -> httpx.Response:
    return httpx.post(server.url + "/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id})


def test_code_exchange_issues_access_refresh_and_id_token(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow(scope="openid profile email get:drinks post:drinks")
    response = browser.redeem(flow, browser.code_for(flow, "barista"))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"]
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert access["aud"] == "https://coffee.example/api"
    assert access["permissions"] == ["get:drinks"]  # barista lacks post:drinks: narrowed, not refused
    assert body["scope"] == "openid profile email get:drinks"
    claims = id_token_claims(live_server, body["id_token"])
    assert claims["sub"] == access["sub"]
    assert claims["nonce"] == flow.nonce
    assert claims["azp"] == "coffee-spa"
    assert claims["at_hash"] == left_half_hash(body["access_token"])  # OIDC Core §3.1.3.6
    assert claims["sid"] and isinstance(claims["auth_time"], int)
    assert claims["preferred_username"] == "barista" and claims["email"] == "barista@coffee.example"
    assert claims["acr"] == "urn:authgate:acr:password" and claims["amr"] == ["pwd"]  # a password login
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "RS256"


def test_request_without_nonce_succeeds_and_id_token_has_no_nonce(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow()
    flow.nonce = None  # type: ignore[assignment]
    body = browser.redeem(flow, browser.code_for(flow)).json()
    assert "nonce" not in id_token_claims(live_server, body["id_token"])


def test_acr_values_adds_acr(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow(extra={"acr_values": "urn:authgate:acr:password"})
    body = browser.redeem(flow, browser.code_for(flow)).json()
    assert id_token_claims(live_server, body["id_token"])["acr"] == "urn:authgate:acr:password"


def test_openid_login_without_api_gets_a_userinfo_only_token(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow(client_id="partner", redirect_uri=THIRD_PARTY_REDIRECT, scope="openid email")
    body = browser.redeem(flow, browser.code_for(flow)).json()
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert access["aud"] == live_server.url + "/userinfo" and access["permissions"] == []
    assert userinfo(live_server, body["access_token"]).json()["email"] == "barista@coffee.example"
    assert id_token_claims(live_server, body["id_token"], audience="partner")["sub"] == access["sub"]


BAD_REDEMPTIONS = [
    pytest.param({"redirect_uri": "http://localhost:5000/callback"}, id="other-registered-redirect-uri"),
    pytest.param({"redirect_uri": None}, id="redirect-uri-omitted-in-openid-flow"),
    pytest.param({"code_verifier": "x" * 43}, id="wrong-verifier"),
    pytest.param({"code_verifier": None}, id="missing-verifier"),
    pytest.param({"code_verifier": "short"}, id="malformed-verifier"),
    pytest.param({"client_id": "partner"}, id="another-client"),
    pytest.param({"code": "not-a-code"}, id="unknown-code"),
]


@pytest.mark.parametrize("overrides", BAD_REDEMPTIONS)
def test_bad_redemptions_fail_with_invalid_grant_and_leave_the_code_usable(
    browser: BrowserLike, overrides: dict[str, str | None]
) -> None:
    flow = Flow()
    code = browser.code_for(flow)
    response = browser.redeem(flow, code, **overrides)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"
    # RFC 7636 §4.6: only the right verifier, client and redirect URI redeem it; a failed try does not burn it.
    assert browser.redeem(flow, code).status_code == 200


def test_expired_code_fails(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow()
    code = browser.code_for(flow)
    with live_server.services.database.transaction() as session:
        session.execute(update(AuthorizationCode).where(AuthorizationCode.code_hash == tokens.digest(code))
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    response = browser.redeem(flow, code)
    assert response.json() == {"error": "invalid_grant", "error_description": "The authorization code has expired."}


def test_code_is_stored_hashed_and_expires_quickly(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow()
    code = browser.code_for(flow)
    with live_server.services.database.reader() as session:
        row = session.get(AuthorizationCode, tokens.digest(code))
        assert row is not None and code not in (row.code_hash, row.redirect_uri, row.scope)
        lifetime = row.expires_at - row.created_at
    assert lifetime == timedelta(seconds=live_server.services.settings.authorization_code_ttl)


def test_reused_code_fails_and_revokes_everything_it_issued(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow()
    code = browser.code_for(flow)
    first = browser.redeem(flow, code).json()
    assert userinfo(live_server, first["access_token"]).status_code == 200
    second = browser.redeem(flow, code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    # RFC 6749 §4.1.2: the tokens issued from the code are revoked.
    assert userinfo(live_server, first["access_token"]).status_code == 401
    assert refresh(live_server, first["refresh_token"]).json()["error"] == "invalid_grant"
    with live_server.services.database.reader() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.type == audit.CODE_REUSED)).all()
    assert any(event.subject == "barista" and event.client_id == "coffee-spa" for event in events)


def test_refresh_rotates_and_returns_a_new_id_token(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow(scope="openid profile get:drinks")
    first = browser.redeem(flow, browser.code_for(flow)).json()
    original = id_token_claims(live_server, first["id_token"])
    renewed = refresh(live_server, first["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    assert body["refresh_token"] != first["refresh_token"]
    claims = id_token_claims(live_server, body["id_token"])  # OIDC Core §12.2
    kept = ("sub", "auth_time", "sid")
    assert [claims[name] for name in kept] == [original[name] for name in kept]
    assert "nonce" not in claims and claims["at_hash"] == left_half_hash(body["access_token"])


def test_disabled_user_cannot_redeem(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow()
    code = browser.code_for(flow, "other")
    with live_server.services.database.transaction() as session:
        session.execute(update(User).where(User.username == "other").values(disabled=True))
    try:
        assert browser.redeem(flow, code).json()["error"] == "invalid_grant"
    finally:
        with live_server.services.database.transaction() as session:
            session.execute(update(User).where(User.username == "other").values(disabled=False))


def test_confidential_client_must_authenticate(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow(client_id="partner", redirect_uri=THIRD_PARTY_REDIRECT, scope="openid")
    code = browser.code_for(flow)
    response = httpx.post(live_server.url + "/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": THIRD_PARTY_REDIRECT, "client_id": "partner"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert browser.redeem(flow, code).status_code == 200


def test_confidential_client_may_use_client_secret_post(browser: BrowserLike, live_server: Any) -> None:
    from oidc_client.flow import PARTNER_SECRET

    flow = Flow(client_id="partner", redirect_uri=THIRD_PARTY_REDIRECT, scope="openid")
    code = browser.code_for(flow)
    response = httpx.post(live_server.url + "/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": THIRD_PARTY_REDIRECT,
        "client_id": "partner", "client_secret": PARTNER_SECRET, "code_verifier": flow.verifier})
    assert response.status_code == 200, response.text
    assert id_token_claims(live_server, response.json()["id_token"], audience="partner")


def test_id_tokens_follow_a_key_rotation(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow()
    before = browser.redeem(flow, browser.code_for(flow)).json()["id_token"]
    live_server.services.keys.rotate(actor="test")
    flow = Flow()
    after = browser.redeem(flow, browser.code_for(flow)).json()["id_token"]
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
    # Both verify from the published JWKS: the new key at once, the old one for its overlap window.
    assert id_token_claims(live_server, after)["sub"] == id_token_claims(live_server, before)["sub"]


def test_long_expired_codes_are_purged_when_new_ones_are_issued(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow()
    old = browser.code_for(flow)
    with live_server.services.database.transaction() as session:
        session.execute(update(AuthorizationCode).where(AuthorizationCode.code_hash == tokens.digest(old))
                        .values(expires_at=utcnow() - timedelta(days=2)))
    browser.code_for(Flow())
    with live_server.services.database.reader() as session:
        assert session.get(AuthorizationCode, tokens.digest(old)) is None
