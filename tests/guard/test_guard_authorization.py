"""Permissions, RFC 6750 challenges, and the decorator's contract, on Flask,
FastAPI and Starlette apps whose guard fetches keys from the test issuer."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from guard_testkit import AUDIENCE, call
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from authgate.guard import Claims, Guard
from authgate.guard.asgi import GuardMiddleware
from authgate.guard.flask import FlaskGuard
from authgate.testing import TestIssuer

BARISTA = ["get:drinks", "get:drinks-detail"]


def test_valid_token_reaches_the_view_with_its_claims(issuer: TestIssuer, keys: Any, client: Any) -> None:
    token = issuer.token(key=keys.es, sub="user-abe", client_id="coffee-spa", permissions=BARISTA)
    status, challenge, body = call(client, "/drinks-detail", token)
    assert (status, challenge) == (200, None)
    assert body == {"sub": "user-abe", "client_id": "coffee-spa", "granted": sorted(BARISTA)}


def test_missing_permission_is_403_insufficient_scope_naming_it(
    issuer: TestIssuer, keys: Any, client: Any
) -> None:
    status, challenge, body = call(client, "/drinks-detail", issuer.token(key=keys.es, permissions=["get:drinks"]))
    assert status == 403
    assert challenge is not None
    assert challenge["error"] == "insufficient_scope"  # RFC 6750 §3.1
    assert challenge["scope"] == "get:drinks-detail"
    assert "get:drinks-detail" in challenge["error_description"]
    assert body["error"] == "insufficient_scope"


@pytest.mark.parametrize(("granted", "status"), [
    pytest.param(["patch:drinks", "delete:drinks"], 200, id="both-granted"),
    pytest.param(["patch:drinks"], 403, id="only-one-of-two"),
    pytest.param([], 403, id="none"),
])
def test_all_of_needs_every_permission(issuer: TestIssuer, keys: Any, client: Any,
                                       granted: list[str], status: int) -> None:
    code, challenge, body = call(client, "/drinks/7/all", issuer.token(key=keys.es, permissions=granted))
    assert code == status
    if status == 200:
        assert body["drink_id"] == 7  # route arguments still reach the view
    else:
        assert challenge is not None and challenge["scope"] == "delete:drinks patch:drinks"
        assert "delete:drinks" in challenge["error_description"]


@pytest.mark.parametrize(("granted", "status"), [
    pytest.param(["patch:drinks"], 200, id="first-alternative"),
    pytest.param(["delete:drinks"], 200, id="second-alternative"),
    pytest.param(["get:drinks"], 403, id="neither"),
])
def test_any_of_needs_one_permission(issuer: TestIssuer, keys: Any, client: Any,
                                     granted: list[str], status: int) -> None:
    code, challenge, _ = call(client, "/any", issuer.token(key=keys.es, permissions=granted))
    assert code == status
    if status == 403:
        assert challenge is not None and challenge["error"] == "insufficient_scope"
        assert challenge["scope"] == "delete:drinks patch:drinks"


def test_scope_claim_counts_as_permissions(issuer: TestIssuer, keys: Any, client: Any) -> None:
    token = issuer.token(key=keys.es, permissions=None, scope="openid get:drinks-detail")
    assert call(client, "/drinks-detail", token)[0] == 200
    token = issuer.token(key=keys.es, permissions=None, scp=["get:drinks-detail"])
    assert call(client, "/drinks-detail", token)[0] == 200


@pytest.mark.parametrize("authorization", [
    pytest.param(None, id="no-header"),
    pytest.param("Basic YWJlOnNlY3JldA==", id="other-scheme"),
])
def test_no_bearer_credentials_is_401_without_error_code(client: Any, authorization: str | None) -> None:
    status, challenge, _ = call(client, "/me", authorization=authorization)
    assert status == 401
    # RFC 6750 §3.1: no error code when the request has no authentication.
    assert challenge == {"scheme": "Bearer", "realm": AUDIENCE}


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer   ", "Bearer two tokens"])
def test_malformed_authorization_header_is_400_invalid_request(client: Any, authorization: str) -> None:
    status, _, body = call(client, "/me", authorization=authorization)
    assert status == 400
    assert body["error"] == "invalid_request"


def test_bearer_scheme_is_case_insensitive(issuer: TestIssuer, keys: Any, client: Any) -> None:
    status, _, _ = call(client, "/me", authorization="bEaReR " + issuer.token(key=keys.es))
    assert status == 200


def _starlette_app(guard: Guard) -> Starlette:
    @guard.requires_auth("get:drinks")
    def sync_view(claims: Claims, request: Request) -> JSONResponse:
        return JSONResponse({"kind": "sync", "sub": claims.sub, "path": request.url.path})

    @guard.requires_auth("get:drinks")
    async def async_view(claims: Claims, request: Request) -> JSONResponse:
        return JSONResponse({"kind": "async", "sub": claims.sub, "path": request.url.path})

    app = Starlette(routes=[Route("/sync", sync_view), Route("/async", async_view)])
    app.add_middleware(GuardMiddleware, guard=guard)
    return app


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_decorator_on_sync_and_async_starlette_views(make_guard: Any, issuer: TestIssuer, keys: Any,
                                                     kind: str) -> None:
    client = TestClient(_starlette_app(make_guard(kind=Guard)))
    token = issuer.token(key=keys.es, permissions=["get:drinks"])
    ok = client.get(f"/{kind}", headers={"Authorization": "Bearer " + token})
    assert ok.status_code == 200
    assert ok.json() == {"kind": kind, "sub": "user-abe", "path": f"/{kind}"}
    denied = client.get(f"/{kind}", headers={"Authorization": "Bearer " + issuer.token(key=keys.es)})
    assert denied.status_code == 403
    assert 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]
    anonymous = client.get(f"/{kind}")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == f'Bearer realm="{AUDIENCE}"'


def test_decorator_keeps_name_docstring_and_public_signature(make_guard: Any) -> None:
    guard = make_guard(kind=Guard)

    async def list_orders(claims: Claims, request: Request, limit: int = 10) -> dict[str, Any]:
        """List the caller's orders."""
        return {}

    wrapped = guard.requires_auth("get:orders")(list_orders)
    assert wrapped.__name__ == "list_orders"
    assert wrapped.__doc__ == "List the caller's orders."
    assert wrapped.__wrapped__ is list_orders  # type: ignore[attr-defined]
    assert inspect.iscoroutinefunction(wrapped)
    # The wrapper takes everything but the claims, and says so.
    assert list(inspect.signature(wrapped).parameters) == ["request", "limit"]
    assert inspect.signature(wrapped).parameters["limit"].default == 10
    assert inspect.signature(wrapped).return_annotation == inspect.signature(list_orders).return_annotation


def test_flask_decorator_keeps_the_view_name_flask_routes_by(make_guard: Any) -> None:
    guard: FlaskGuard = make_guard()

    def create_drink(payload: Claims) -> str:
        """Create a drink."""
        return "ok"

    wrapped = guard.requires_auth("post:drinks")(create_drink)
    assert (wrapped.__name__, wrapped.__doc__) == ("create_drink", "Create a drink.")
    assert list(inspect.signature(wrapped).parameters) == []
    assert not inspect.iscoroutinefunction(wrapped)


def test_decorator_refuses_views_it_cannot_serve(make_guard: Any) -> None:
    guard = make_guard(kind=Guard)
    with pytest.raises(TypeError, match="request"):
        guard.requires_auth("a")(lambda claims: None)  # no request to read the token from
    with pytest.raises(TypeError, match="claims"):
        guard.requires_auth("a")(lambda: None)  # nowhere to put the claims
    with pytest.raises(ValueError):
        guard.requires_auth("two words")
