"""A route's minimum sign-in: ``acr`` (ordered, "this or stronger"), ``amr`` and ``max_age``,
refused with RFC 9470's 401 ``insufficient_user_authentication`` on Starlette, Flask, FastAPI,
Django REST framework and the MCP guard, with tokens from the test issuer."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient as FastAPIClient
from flask import Flask
from guard_testkit import AUDIENCE, call, parse_challenge
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from authgate.guard import Claims, Guard, GuardConfig, InsufficientUserAuthentication, InvalidToken
from authgate.guard.asgi import GuardMiddleware
from authgate.guard.authentication import AUTHGATE_ACR_VALUES, AuthenticationRequirement
from authgate.guard.flask import FlaskGuard
from authgate.testing import TestIssuer

PASSWORD, MFA = AUTHGATE_ACR_VALUES
NOW = 1_900_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def starlette_client(guard: Guard) -> TestClient:
    @guard.requires_auth("post:drinks", acr=MFA)
    async def mfa_only(claims: Claims, request: Request) -> JSONResponse:
        return JSONResponse({"acr": claims["acr"]})

    @guard.requires_auth(amr=["mfa"])
    async def needs_mfa_method(claims: Claims, request: Request) -> JSONResponse:
        return JSONResponse({"amr": list(claims["amr"])})

    @guard.requires_auth(acr=PASSWORD)
    async def any_sign_in(claims: Claims, request: Request) -> JSONResponse:
        return JSONResponse({"acr": claims["acr"]})

    @guard.requires_auth(max_age=300)
    def recent(claims: Claims, request: Request) -> JSONResponse:
        return JSONResponse({"auth_time": claims["auth_time"]})

    app = Starlette(routes=[Route("/mfa", mfa_only), Route("/amr", needs_mfa_method),
                            Route("/password", any_sign_in), Route("/recent", recent)])
    app.add_middleware(GuardMiddleware, guard=guard)
    return TestClient(app)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def guard(issuer: TestIssuer, clock: FakeClock) -> Guard:
    return Guard(issuer.url, AUDIENCE, clock=clock, claims_cache_size=0)


@pytest.fixture
def client(guard: Guard) -> TestClient:
    return starlette_client(guard)


def mint(issuer: TestIssuer, *permissions: str, **claims: Any) -> str:
    claims.setdefault("iat", int(NOW))
    claims.setdefault("exp", int(NOW) + 600)
    return issuer.token(*permissions, **claims)


# --- acr: a minimum in the configured order ------------------------------------------------

@pytest.mark.parametrize(("acr", "status"), [
    pytest.param(MFA, 200, id="the-minimum-itself"),
    pytest.param(PASSWORD, 401, id="weaker"),
    pytest.param(None, 401, id="no-acr-claim"),
    pytest.param("urn:other:acr:unknown", 401, id="unlisted-value"),
])
def test_minimum_acr_accepts_that_class_or_stronger(issuer: TestIssuer, client: TestClient,
                                                    acr: str | None, status: int) -> None:
    code, challenge, body = call(client, "/mfa", mint(issuer, "post:drinks", acr=acr))
    assert code == status
    if status == 401:
        assert challenge is not None
        assert challenge["error"] == "insufficient_user_authentication"  # RFC 9470 §3
        assert challenge["acr_values"] == MFA
        assert body["error"] == "insufficient_user_authentication"
        assert body["acr_values"] == MFA


def test_a_weaker_minimum_also_accepts_every_stronger_class(issuer: TestIssuer, client: TestClient) -> None:
    assert call(client, "/password", mint(issuer, acr=PASSWORD))[0] == 200
    assert call(client, "/password", mint(issuer, acr=MFA))[0] == 200
    code, challenge, _ = call(client, "/password", mint(issuer))
    assert code == 401 and challenge is not None
    # The challenge lists every acceptable class, weakest first.
    assert challenge["acr_values"] == f"{PASSWORD} {MFA}"


def test_the_order_is_the_one_configured(issuer: TestIssuer, clock: FakeClock) -> None:
    ladder = ("urn:example:bronze", "urn:example:silver", "urn:example:gold")
    guard = Guard(issuer.url, AUDIENCE, clock=clock, acr_values=ladder)

    @guard.requires_auth(acr="urn:example:silver")
    async def view(claims: Claims, request: Request) -> JSONResponse:
        return JSONResponse({})

    app = Starlette(routes=[Route("/", view)])
    app.add_middleware(GuardMiddleware, guard=guard)
    client = TestClient(app)
    assert call(client, "/", mint(issuer, acr="urn:example:gold"))[0] == 200
    assert call(client, "/", mint(issuer, acr="urn:example:silver"))[0] == 200
    code, challenge, _ = call(client, "/", mint(issuer, acr="urn:example:bronze"))
    assert code == 401 and challenge is not None
    assert challenge["acr_values"] == "urn:example:silver urn:example:gold"


def test_permissions_are_checked_before_the_sign_in(issuer: TestIssuer, client: TestClient) -> None:
    """Stepping up cannot grant a missing permission: that stays a final 403."""
    code, challenge, _ = call(client, "/mfa", mint(issuer, acr=PASSWORD))
    assert code == 403 and challenge is not None and challenge["error"] == "insufficient_scope"


# --- amr: every named method ----------------------------------------------------------------

@pytest.mark.parametrize(("amr", "status"), [
    pytest.param(["pwd", "otp", "mfa"], 200, id="has-mfa"),
    pytest.param(["pwd"], 401, id="password-only"),
    pytest.param(None, 401, id="no-amr-claim"),
])
def test_amr_requirement(issuer: TestIssuer, client: TestClient, amr: list[str] | None, status: int) -> None:
    code, challenge, _ = call(client, "/amr", mint(issuer, amr=amr))
    assert code == status
    if status == 401:
        assert challenge is not None and challenge["error"] == "insufficient_user_authentication"
        assert "mfa" in challenge["error_description"]
        assert "acr_values" not in challenge  # nothing to ask for by class


@pytest.mark.parametrize(("claim", "value"), [
    pytest.param("amr", "mfa", id="amr-a-string"),
    pytest.param("amr", ["mfa", 7], id="amr-not-all-strings"),
])
def test_malformed_amr_is_an_invalid_token(issuer: TestIssuer, client: TestClient, claim: str, value: Any) -> None:
    code, challenge, _ = call(client, "/amr", mint(issuer, **{claim: value}))
    assert code == 401 and challenge is not None and challenge["error"] == "invalid_token"


def test_malformed_acr_is_an_invalid_token(issuer: TestIssuer, client: TestClient) -> None:
    code, challenge, _ = call(client, "/password", mint(issuer, acr=["urn:authgate:acr:mfa"]))
    assert code == 401 and challenge is not None and challenge["error"] == "invalid_token"


# --- max_age: measured with the guard's clock ---------------------------------------------------

def test_max_age_follows_the_injected_clock(issuer: TestIssuer, client: TestClient, clock: FakeClock) -> None:
    token = mint(issuer, auth_time=int(NOW) - 100)
    assert call(client, "/recent", token)[0] == 200
    clock.now += 201  # now 301 seconds after the sign-in
    code, challenge, body = call(client, "/recent", token)
    assert code == 401 and challenge is not None
    assert challenge["error"] == "insufficient_user_authentication"
    assert challenge["max_age"] == "300"
    assert body["max_age"] == "300"


@pytest.mark.parametrize(("auth_time", "error"), [
    pytest.param(None, "insufficient_user_authentication", id="missing"),
    pytest.param("yesterday", "invalid_token", id="a-string"),
    pytest.param(True, "invalid_token", id="a-boolean"),
])
def test_max_age_without_a_usable_auth_time(issuer: TestIssuer, client: TestClient,
                                            auth_time: Any, error: str) -> None:
    code, challenge, _ = call(client, "/recent", mint(issuer, auth_time=auth_time))
    assert code == 401 and challenge is not None and challenge["error"] == error


# --- configuration mistakes fail at decoration time ---------------------------------------------

@pytest.mark.parametrize("arguments", [
    pytest.param({"acr": "urn:not:configured"}, id="acr-not-in-acr_values"),
    pytest.param({"amr": "mfa"}, id="amr-a-string"),
    pytest.param({"amr": [""]}, id="amr-empty-value"),
    pytest.param({"max_age": -1}, id="negative-max_age"),
    pytest.param({"max_age": 1.5}, id="fractional-max_age"),
])
def test_bad_requirements_are_refused_when_declared(guard: Guard, arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        guard.requires_auth(**arguments)


@pytest.mark.parametrize("acr_values", [pytest.param("urn:a", id="a-string"), pytest.param(["a", "a"], id="twice")])
def test_acr_values_must_be_a_list_of_distinct_values(acr_values: Any) -> None:
    with pytest.raises(ValueError):
        GuardConfig(issuer="https://issuer.example", audience=AUDIENCE, acr_values=acr_values)


# --- the challenge itself -----------------------------------------------------------------------

def test_challenge_shape_matches_rfc_9470() -> None:
    err = InsufficientUserAuthentication("a stronger authentication is required", acr_values=MFA, max_age=5)
    header = err.headers("coffee")["WWW-Authenticate"]
    assert header.startswith('Bearer realm="coffee", error="insufficient_user_authentication", ')
    assert parse_challenge(header) | {} == {
        "scheme": "Bearer", "realm": "coffee", "error": "insufficient_user_authentication",
        "error_description": "a stronger authentication is required", "acr_values": MFA, "max_age": "5",
    }
    assert err.status_code == 401


def test_requirement_check_with_a_plain_mapping() -> None:
    requirement = AuthenticationRequirement.of(acr=PASSWORD, amr=["pwd"], max_age=60)
    requirement.check({"acr": MFA, "amr": ["pwd"], "auth_time": NOW}, AUTHGATE_ACR_VALUES, lambda: NOW + 60)
    with pytest.raises(InsufficientUserAuthentication):
        requirement.check({"acr": MFA, "amr": ["pwd"], "auth_time": NOW}, AUTHGATE_ACR_VALUES, lambda: NOW + 61)
    with pytest.raises(InvalidToken):
        requirement.check({"acr": 3, "amr": ["pwd"], "auth_time": NOW}, AUTHGATE_ACR_VALUES, lambda: NOW)


# --- the other integrations ------------------------------------------------------------------------

def test_flask_guard_answers_insufficient_user_authentication(issuer: TestIssuer, clock: FakeClock) -> None:
    guard = FlaskGuard(issuer.url, AUDIENCE, clock=clock)
    app = Flask(__name__)

    @app.get("/mfa")
    @guard.requires_auth(acr=MFA)
    def mfa_only(claims: Claims) -> dict[str, Any]:
        return {"acr": claims["acr"]}

    client = app.test_client()
    assert call(client, "/mfa", mint(issuer, acr=MFA))[0] == 200
    code, challenge, body = call(client, "/mfa", mint(issuer, acr=PASSWORD))
    assert code == 401 and challenge is not None and challenge["acr_values"] == MFA
    assert body["error"] == "insufficient_user_authentication"


def test_fastapi_dependency_answers_insufficient_user_authentication(issuer: TestIssuer, clock: FakeClock) -> None:
    guard = Guard(issuer.url, AUDIENCE, clock=clock)
    app = FastAPI()

    @app.get("/mfa")
    def mfa_only(claims: Claims = Depends(guard.fastapi(amr=["mfa"]))) -> dict[str, Any]:
        return {"sub": claims.sub}

    client = FastAPIClient(app)
    assert call(client, "/mfa", mint(issuer, amr=["pwd", "otp", "mfa"]))[0] == 200
    code, challenge, body = call(client, "/mfa", mint(issuer, amr=["pwd"]))
    assert code == 401 and challenge is not None
    assert challenge["error"] == "insufficient_user_authentication"
    assert body["error"] == "insufficient_user_authentication"
