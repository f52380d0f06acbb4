"""Each grant through a foreign client library (Authlib), every token verified through the JWKS (PyJWT).

Runs on SQLite and PostgreSQL, over real HTTP against the live server.
"""

from __future__ import annotations

import uuid

import jwt
import pytest
from authlib.integrations.requests_client import OAuth2Session
from jwt import PyJWKClient
from test_token_world import (
    BACKOFFICE_SECRET,
    COFFEE,
    HTTP,
    INVENTORY,
    PASSWORD,
    REPORT_SECRET,
    claims_of,
    password_login,
    token,
    token_server,
)

__all__ = ["token_server"]  # the module-scoped server fixture


@pytest.fixture
def world(token_server):
    live_server = token_server
    discovery = HTTP.get(live_server.url + "/.well-known/openid-configuration").json()
    live_server.token_url = discovery["token_endpoint"]
    live_server.jwks = PyJWKClient(discovery["jwks_uri"], cache_keys=False)
    return live_server


def verify(server, access_token: str, audience: str = COFFEE) -> dict:
    """What a resource server does: key from the published JWKS, RFC 9068 header and claims."""
    header = jwt.get_unverified_header(access_token)
    assert header["typ"] == "at+jwt"  # RFC 9068 §2.1
    key = server.jwks.get_signing_key_from_jwt(access_token)
    claims = jwt.decode(access_token, key.key, algorithms=["ES256"], audience=audience, issuer=server.url,
                        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]})
    assert claims["exp"] > claims["iat"]
    return claims


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials_through_authlib(world, method):
    session = OAuth2Session("nightly-report", REPORT_SECRET, token_endpoint_auth_method=method)
    issued = session.fetch_token(world.token_url, grant_type="client_credentials", audience=INVENTORY)
    assert issued["token_type"] == "Bearer" and "refresh_token" not in issued
    claims = verify(world, issued["access_token"], audience=INVENTORY)
    assert claims["sub"] == "nightly-report" and claims["client_id"] == "nightly-report"
    assert claims["permissions"] == ["read:stock"]
    assert issued["scope"] == claims["scope"] == "read:stock"


def test_password_then_refresh_through_authlib(world):
    session = OAuth2Session("coffee-app", token_endpoint_auth_method="none", scope="openid get:drinks post:drinks")
    issued = session.fetch_token(world.token_url, username="barista", password=PASSWORD)
    claims = verify(world, issued["access_token"])
    user_id = claims["sub"]
    assert uuid.UUID(user_id).version == 4, "users are named by their random, stable subject"
    assert claims["permissions"] == ["get:drinks"], "post:drinks is not the barista's: left out, no error"
    assert claims["scope"] == "openid get:drinks"
    assert issued["refresh_token"]

    refreshed = session.refresh_token(world.token_url, refresh_token=issued["refresh_token"])
    again = verify(world, refreshed["access_token"])
    assert again["sub"] == user_id and again["permissions"] == ["get:drinks"]
    assert refreshed["refresh_token"] != issued["refresh_token"], "rotated on use"


def test_password_grant_with_a_confidential_client_and_basic(world):
    session = OAuth2Session("backoffice", BACKOFFICE_SECRET, token_endpoint_auth_method="client_secret_basic")
    issued = session.fetch_token(world.token_url, username="manager", password=PASSWORD)
    claims = verify(world, issued["access_token"])
    assert claims["client_id"] == "backoffice"
    assert claims["permissions"] == sorted(
        ["get:drinks", "get:drinks-detail", "post:drinks", "patch:drinks", "delete:drinks"]
    )
    refreshed = session.refresh_token(world.token_url, refresh_token=issued["refresh_token"])
    assert verify(world, refreshed["access_token"])["permissions"] == claims["permissions"]


# The coffee shop matrix: who holds what for which audience, narrowed by scope.
PERMISSION_CASES = [
    pytest.param("barista", {}, ["get:drinks", "get:drinks-detail"], id="barista-everything-held"),
    pytest.param("manager", {}, ["delete:drinks", "get:drinks", "get:drinks-detail", "patch:drinks", "post:drinks"],
                 id="manager-everything-held"),
    pytest.param("manager", {"scope": "post:drinks get:drinks"}, ["get:drinks", "post:drinks"], id="manager-narrowed"),
    pytest.param("barista", {"scope": "delete:drinks"}, [], id="barista-asks-for-what-she-lacks"),
    pytest.param(
        "barista", {"scope": "get:drinks no-such:permission"}, ["get:drinks"], id="unknown-permission-left-out"
    ),
    pytest.param("manager", {"audience": INVENTORY}, ["read:stock"], id="manager-other-audience"),
    pytest.param("manager", {"resource": INVENTORY}, ["read:stock"], id="rfc8707-resource"),
    pytest.param("barista", {"audience": INVENTORY}, [], id="barista-holds-nothing-there"),
    pytest.param("idle", {}, [], id="user-without-roles"),
]


@pytest.mark.parametrize(("username", "extra", "expected"), PERMISSION_CASES)
def test_permissions_claim_per_user_and_role(world, username, extra, expected):
    response = password_login(world.url, username, **extra)
    assert response.status_code == 200, response.text
    audience = extra.get("audience") or extra.get("resource") or COFFEE
    claims = verify(world, response.json()["access_token"], audience=audience)
    assert claims["permissions"] == expected
    assert claims.get("scope", "").split() == expected


MACHINE_CASES = [
    pytest.param({}, COFFEE, ["get:drinks", "get:drinks-detail"], id="default-audience"),
    pytest.param({"audience": INVENTORY}, INVENTORY, ["read:stock"], id="other-audience"),
    pytest.param({"scope": "get:drinks post:drinks"}, COFFEE, ["get:drinks"], id="narrowed-and-lacking"),
]


@pytest.mark.parametrize(("extra", "audience", "expected"), MACHINE_CASES)
def test_permissions_claim_for_a_machine_client(world, extra, audience, expected):
    response = token(world.url, {"grant_type": "client_credentials", "client_id": "nightly-report",
                                 "client_secret": REPORT_SECRET, **extra})
    assert response.status_code == 200, response.text
    assert verify(world, response.json()["access_token"], audience=audience)["permissions"] == expected


def test_unknown_or_several_audiences_are_invalid_target(world):
    for extra in ({"audience": "https://nowhere.example/api"}, {"resource": COFFEE + "#x"},
                  {"audience": COFFEE, "resource": INVENTORY}):
        response = password_login(world.url, "manager", **extra)
        assert response.status_code == 400 and response.json()["error"] == "invalid_target", extra
    two = HTTP.post(
        world.url + "/oauth/token",
        content=f"grant_type=client_credentials&resource={COFFEE}&resource={INVENTORY}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=("nightly-report", REPORT_SECRET),
    )
    assert two.status_code == 400 and two.json()["error"] == "invalid_target"


def test_disabled_user_and_wrong_password_get_the_same_answer(world):
    disabled = password_login(world.url, "suspended", client_id="coffee-lite")
    lite = {"grant_type": "password", "client_id": "coffee-lite"}
    wrong = token(world.url, {**lite, "username": "barista", "password": "nope"})
    unknown = token(world.url, {**lite, "username": "ghost", "password": "x"})
    bodies = {r.text for r in [disabled, wrong, unknown]}
    assert len(bodies) == 1 and wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_offline_access_is_granted_only_to_refreshing_clients(world):
    granted = password_login(world.url, "barista", scope="offline_access get:drinks")
    assert granted.status_code == 200 and "offline_access" in granted.json()["scope"].split()
    refused = password_login(world.url, "barista", client_id="coffee-lite", scope="offline_access")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    lite = password_login(world.url, "barista", client_id="coffee-lite")
    assert lite.status_code == 200 and "refresh_token" not in lite.json(), "no refresh_token grant, no refresh token"


def test_token_issue_is_audited(world):
    response = password_login(world.url, "manager")
    assert response.status_code == 200
    machine = token(
        world.url, {"grant_type": "client_credentials", "client_id": "nightly-report", "client_secret": REPORT_SECRET}
    )
    assert machine.status_code == 200
    world.services.oauth2.issuance_log.flush()
    from authgate import audit

    with world.services.database.reader() as session:
        events = audit.query(session, type_prefix=audit.TOKEN_ISSUED)
        seen = {(e.subject, e.client_id, e.detail["grant_type"]) for e in events}
    assert ("manager", "coffee-app", "password") in seen
    assert ("nightly-report", "nightly-report", "client_credentials") in seen
    assert claims_of(response.json()["access_token"])["jti"] in {e.detail.get("jti") for e in events}


def test_unknown_usernames_cost_what_wrong_passwords_cost(world, monkeypatch):
    """The same argon2 work either way, counted rather than timed (timings belong in bench/)."""
    hasher = world.services.hasher
    verified: list[str] = []

    class CountingArgon2:
        def __init__(self, inner):
            self.inner = inner

        def verify(self, stored, password):
            verified.append(stored)
            return self.inner.verify(stored, password)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(hasher, "_argon2", CountingArgon2(hasher._argon2))
    for username in ("barista", "ghost-never-existed"):
        verified.clear()
        response = token(
            world.url, {"grant_type": "password", "client_id": "coffee-lite", "username": username, "password": "wrong"}
        )
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
        assert len(verified) == 1, (username, verified)
    # Without the dummy verification an unknown user would cost no argon2 work at all.
    assert verified == [hasher._dummy_hash]


def test_batched_issuance_events_keep_every_field(world):
    """token.issued events are written in batches (COPY on PostgreSQL): nothing lost or mangled on the way."""
    from authgate import audit

    log = world.services.oauth2.issuance_log
    log.flush()  # what earlier requests queued
    odd = {"aud": "https://api.example/ä \\ \t \"q\"", "jti": "j\nnewline"}
    for n in range(3):
        log.record(subject=f"süb-{n}", client_id="nightly-report", grant_type="client_credentials", ip="::1", **odd)
    log.flush()  # (or the 0.5 s timer already did)
    with world.services.database.reader() as session:
        issued = audit.query(session, type_prefix=audit.TOKEN_ISSUED)
        events = [e for e in issued if (e.subject or "").startswith("süb-")]
    assert sorted(e.subject for e in events) == ["süb-0", "süb-1", "süb-2"]
    from authgate.clock import aware, utcnow

    assert all(e.detail == {"grant_type": "client_credentials", **odd} and e.ip == "::1" and e.outcome == "success"
               for e in events)
    assert all(abs((utcnow() - aware(e.at)).total_seconds()) < 60 for e in events), "stored as UTC"
