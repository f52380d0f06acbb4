"""The guard in Django REST framework: GuardAuthentication and the permission
classes on real APIViews, through Django's test client, with tokens from
authgate.testing's issuer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import path
from guard_testkit import parse_challenge, password_token

from authgate.testing import TestIssuer
from django_project import configure
from testkit import in_own_thread

configure()  # DRF reads its settings when a view class is defined

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from authgate.guard import Claims
from authgate.guard.drf import (
    GuardAuthentication,
    HasAnyPermission,
    HasPermission,
    TokenUser,
)


def summary(request: Request) -> dict[str, Any]:
    claims = request.auth
    assert isinstance(claims, Claims) and isinstance(request.user, TokenUser)
    return {"user": str(request.user), "sub": claims.sub, "granted": sorted(claims.granted)}


class Me(APIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        return Response(summary(request))


class Drinks(APIView):
    authentication_classes = (GuardAuthentication,)
    permission_classes = (HasPermission.of("post:drinks"),)

    def post(self, request: Request) -> Response:
        return Response({**summary(request), "created": request.data["title"]}, status=201)


class DrinkAdmin(APIView):
    permission_classes = (HasAnyPermission.of("patch:drinks", "delete:drinks"),)

    def delete(self, request: Request, drink_id: int) -> Response:
        return Response({**summary(request), "deleted": drink_id})


class Recipes(APIView):
    permission_classes = (HasPermission.of("get:drinks") & HasPermission.of("get:drinks-detail"),)

    def get(self, request: Request) -> Response:
        return Response(summary(request))


class ApiKeyAuthentication(BaseAuthentication):  # type: ignore[misc]
    """Another scheme a project might accept besides bearer tokens."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme != "ApiKey":
            return None
        if key != "test-only-api-key":
            raise AuthenticationFailed("unknown API key")
        return SimpleNamespace(is_authenticated=True, username="ci"), None


class Mixed(APIView):
    """An API key first, then the guard: each class handles its own scheme."""

    authentication_classes = (ApiKeyAuthentication, GuardAuthentication)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        return Response({"user": request.user.username, "claims": isinstance(request.auth, Claims)})


class Refunds(APIView):
    permission_classes = (HasPermission.of("post:refunds", amr=["mfa"]),)

    def post(self, request: Request) -> Response:
        return Response(summary(request))


urlpatterns = [
    path("refunds", Refunds.as_view()),
    path("me", Me.as_view()),
    path("drinks", Drinks.as_view()),
    path("drinks/<int:drink_id>", DrinkAdmin.as_view()),
    path("recipes", Recipes.as_view()),
    path("mixed", Mixed.as_view()),
]


@pytest.fixture
def project(authgate_issuer: TestIssuer) -> Iterator[TestIssuer]:
    configured = {"ISSUER": authgate_issuer.url, "AUDIENCE": authgate_issuer.audience,
                  "REQUIRED_TYP": "at+jwt"}
    with override_settings(ROOT_URLCONF=__name__, AUTHGATE_GUARD=configured):
        yield authgate_issuer


def call(method: str, path: str, token: str | None = None, *,
         authorization: str | None = None) -> tuple[int, dict[str, str] | None, Any]:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        headers["Authorization"] = authorization
    response = in_own_thread(lambda: getattr(Client(), method)(
        path, data={"title": "latte"}, content_type="application/json", headers=headers))
    challenge = response.headers.get("WWW-Authenticate")
    return response.status_code, parse_challenge(challenge) if challenge else None, \
        json.loads(response.content)


def test_a_valid_token_sets_request_auth_and_user(project: TestIssuer) -> None:
    status, challenge, body = call("post", "/drinks", project.token("post:drinks", sub="ada"))
    assert (status, challenge) == (201, None)
    assert body == {"user": "ada", "sub": "ada", "granted": ["post:drinks"], "created": "latte"}
    status, _, body = call("get", "/me", project.token(sub="bo"))
    assert (status, body["user"]) == (200, "bo")


@pytest.mark.parametrize("path", ["/me", "/drinks", "/recipes"])
def test_no_token_is_401_with_the_bearer_challenge(project: TestIssuer, path: str) -> None:
    status, challenge, _ = call("post" if path == "/drinks" else "get", path)
    assert status == 401
    assert challenge == {"scheme": "Bearer", "realm": project.audience}


@pytest.mark.parametrize(
    ("mint", "reason"),
    [
        pytest.param(TestIssuer.forged_token, "signature verification failed", id="bad-signature"),
        pytest.param(TestIssuer.expired_token, "token expired", id="expired"),
        pytest.param(TestIssuer.wrong_audience_token, "wrong audience", id="wrong-audience"),
    ],
)
def test_a_bad_token_is_401_invalid_token(project: TestIssuer, mint: Any, reason: str) -> None:
    status, challenge, body = call("post", "/drinks", mint(project, "post:drinks"))
    assert status == 401
    assert challenge is not None
    assert (challenge["error"], challenge["error_description"]) == ("invalid_token", reason)
    assert body == {"error": "invalid_token", "error_description": reason}


def test_lacking_the_permission_is_403_insufficient_scope(project: TestIssuer) -> None:
    status, challenge, body = call("post", "/drinks", project.token("get:drinks"))
    assert status == 403
    assert challenge == {"scheme": "Bearer", "realm": project.audience, "error": "insufficient_scope",
                         "error_description": "missing permission: post:drinks",
                         "scope": "post:drinks"}
    assert body["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("granted", "status"),
    [(["delete:drinks"], 200), (["patch:drinks"], 200), (["get:drinks", "post:drinks"], 403)],
)
def test_has_any_permission(project: TestIssuer, granted: list[str], status: int) -> None:
    code, challenge, body = call("delete", "/drinks/3", project.token(*granted))
    assert code == status
    if status == 200:
        assert body["deleted"] == 3
    else:
        assert challenge is not None and challenge["scope"] == "delete:drinks patch:drinks"


def test_permission_classes_compose_with_drf_operators(project: TestIssuer) -> None:
    assert call("get", "/recipes", project.token("get:drinks", "get:drinks-detail"))[0] == 200
    status, challenge, _ = call("get", "/recipes", project.token("get:drinks"))
    assert status == 403 and challenge is not None and challenge["scope"] == "get:drinks-detail"


def test_other_schemes_are_left_to_other_authentication_classes(project: TestIssuer) -> None:
    assert call("get", "/mixed", project.token(sub="cy"))[2] == {"user": "cy", "claims": True}
    api_key = call("get", "/mixed", authorization="ApiKey test-only-api-key")
    assert api_key[0] == 200 and api_key[2] == {"user": "ci", "claims": False}
    assert call("get", "/mixed", authorization="Digest x=1")[0] == 403  # nobody claimed it


def test_the_permission_factories_make_distinct_classes() -> None:
    posting, patching = HasPermission.of("post:drinks"), HasPermission.of("patch:drinks")
    assert posting is not patching and issubclass(posting, HasPermission)
    assert str(posting.requirement) == "post:drinks"
    assert str(HasAnyPermission.of(["a", "b"]).requirement) == "(one of: a b)"


def test_an_issuer_never_reached_is_503_not_a_crash(authgate_issuer_factory: Any) -> None:
    issuer = authgate_issuer_factory()
    issuer.down = True
    configured = {"ISSUER": issuer.url, "AUDIENCE": issuer.audience}
    with override_settings(ROOT_URLCONF=__name__, AUTHGATE_GUARD=configured):
        status, _, body = call("post", "/drinks", issuer.token("post:drinks"))
    assert (status, body["error"]) == (503, "temporarily_unavailable")


def test_tokens_from_a_real_authgate_issuer(authgate_server: Any) -> None:
    """authgate issues (password grant, demo realm); DRF verifies, keys by discovery."""
    configured = {"ISSUER": authgate_server.url, "AUDIENCE": "https://coffee.example/api",
                  "REQUIRED_TYP": "at+jwt"}
    barista, manager = password_token(authgate_server, "barista"), password_token(authgate_server,
                                                                                  "manager")
    with override_settings(ROOT_URLCONF=__name__, AUTHGATE_GUARD=configured):
        status, challenge, body = call("post", "/drinks", barista)
        assert (status, body["error"]) == (403, "insufficient_scope")
        assert challenge is not None and challenge["scope"] == "post:drinks"
        status, _, body = call("post", "/drinks", manager)
        assert (status, body["created"]) == (201, "latte")
        assert body["user"] == body["sub"] and "post:drinks" in body["granted"]
        assert call("delete", "/drinks/1", manager)[0] == 200
        assert call("delete", "/drinks/1", barista)[0] == 403


def test_a_sign_in_without_the_required_method_is_401_insufficient_user_authentication(project: TestIssuer) -> None:
    assert call("post", "/refunds", project.token("post:refunds", amr=["pwd", "otp", "mfa"]))[0] == 200
    status, challenge, body = call("post", "/refunds", project.token("post:refunds", amr=["pwd"]))
    assert status == 401 and challenge is not None
    assert challenge["error"] == "insufficient_user_authentication"  # RFC 9470 §3
    assert body["error"] == "insufficient_user_authentication"
    status, challenge, _ = call("post", "/refunds", project.token(amr=["mfa"]))
    assert status == 403 and challenge is not None and challenge["error"] == "insufficient_scope"
