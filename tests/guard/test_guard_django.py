"""The guard in a settings-configured Django project, called through Django's
test clients (the whole handler and middleware stack), with tokens from
authgate.testing's issuer whose keys the guard fetches over HTTP."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, JsonResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path
from guard_testkit import parse_challenge, password_token

from authgate.guard import Claims
from authgate.guard.django import GuardMiddleware, requires_auth, settings_guard
from authgate.testing import TestIssuer
from django_project import configure
from testkit import in_own_thread

configure()
MIDDLEWARE = "authgate.guard.django.GuardMiddleware"


def summary(claims: Claims | None) -> dict[str, Any]:
    if claims is None:
        return {"claims": None}
    return {"sub": claims.sub, "granted": sorted(claims.granted)}


@requires_auth()
def me(claims: Claims, request: HttpRequest) -> JsonResponse:
    return JsonResponse(summary(claims))


@requires_auth("get:drinks-detail")
def drinks_detail(claims: Claims, request: HttpRequest) -> JsonResponse:
    return JsonResponse(summary(claims))


@requires_auth("patch:drinks", "delete:drinks")
def drink_admin(claims: Claims, request: HttpRequest, drink_id: int) -> JsonResponse:
    return JsonResponse({**summary(claims), "drink_id": drink_id})


@requires_auth(any_of=["patch:drinks", "delete:drinks"])
def any_of(claims: Claims, request: HttpRequest) -> JsonResponse:
    return JsonResponse(summary(claims))


@requires_auth("get:drinks-detail")
async def async_detail(claims: Claims, request: HttpRequest) -> JsonResponse:
    await asyncio.sleep(0)
    return JsonResponse({**summary(claims), "async": True})


@requires_auth(acr="urn:authgate:acr:mfa")
def second_factor(claims: Claims, request: HttpRequest) -> JsonResponse:
    return JsonResponse(summary(claims))


def middleware_only(request: HttpRequest) -> JsonResponse:
    return JsonResponse(summary(request.auth_claims))  # type: ignore[attr-defined]


async def middleware_only_async(request: HttpRequest) -> JsonResponse:
    return JsonResponse(summary(request.auth_claims))  # type: ignore[attr-defined]


def raises_guard_error(request: HttpRequest) -> JsonResponse:
    settings_guard.get().authorize(request.headers.get("Authorization"))
    return JsonResponse({"unreachable": True})


urlpatterns = [
    path("me", me),
    path("drinks-detail", drinks_detail),
    path("drinks/<int:drink_id>/admin", drink_admin),
    path("any", any_of),
    path("async-detail", async_detail),
    path("plain", middleware_only),
    path("plain-async", middleware_only_async),
    path("raises", raises_guard_error),
    path("second-factor", second_factor),
]


def guard_settings(issuer: TestIssuer, **extra: Any) -> dict[str, Any]:
    return {"ISSUER": issuer.url, "AUDIENCE": issuer.audience, "REQUIRED_TYP": "at+jwt", **extra}


@pytest.fixture
def project(authgate_issuer: TestIssuer) -> Iterator[TestIssuer]:
    with override_settings(ROOT_URLCONF=__name__, AUTHGATE_GUARD=guard_settings(authgate_issuer)):
        yield authgate_issuer


def get(path: str, token: str | None = None, *, authorization: str | None = None,
        asynchronous: bool = False) -> tuple[int, dict[str, str] | None, Any]:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        headers["Authorization"] = authorization
    if asynchronous:
        response = in_own_thread(lambda: asyncio.run(AsyncClient().get(path, headers=headers)))
    else:
        response = in_own_thread(lambda: Client().get(path, headers=headers))
    challenge = response.headers.get("WWW-Authenticate")
    body = json.loads(response.content) if response.content else None
    return response.status_code, parse_challenge(challenge) if challenge else None, body


def test_a_valid_token_reaches_the_view_with_its_claims(project: TestIssuer) -> None:
    status, challenge, body = get("/drinks-detail", project.token("get:drinks-detail", sub="ada"))
    assert (status, challenge) == (200, None)
    assert body == {"sub": "ada", "granted": ["get:drinks-detail"]}
    status, _, body = get("/drinks/7/admin", project.token("patch:drinks", "delete:drinks"))
    assert (status, body["drink_id"]) == (200, 7)


def test_no_token_is_401_with_a_bare_bearer_challenge(project: TestIssuer) -> None:
    status, challenge, body = get("/me")
    assert status == 401
    assert challenge == {"scheme": "Bearer", "realm": project.audience}  # RFC 6750 §3.1: no error
    assert "error" not in body
    assert get("/me", authorization="Basic YWRhOnB3")[0] == 401


@pytest.mark.parametrize(
    ("mint", "reason"),
    [
        pytest.param(TestIssuer.forged_token, "signature verification failed", id="bad-signature"),
        pytest.param(TestIssuer.expired_token, "token expired", id="expired"),
        pytest.param(TestIssuer.not_yet_valid_token, "token not yet valid (nbf)", id="nbf"),
        pytest.param(TestIssuer.wrong_audience_token, "wrong audience", id="wrong-audience"),
    ],
)
def test_a_bad_token_is_401_invalid_token(project: TestIssuer, mint: Any, reason: str) -> None:
    status, challenge, body = get("/drinks-detail", mint(project, "get:drinks-detail"))
    assert status == 401
    assert challenge is not None
    assert (challenge["error"], challenge["error_description"]) == ("invalid_token", reason)
    assert body == {"error": "invalid_token", "error_description": reason}


def test_a_malformed_header_is_400_invalid_request(project: TestIssuer) -> None:
    status, challenge, _ = get("/me", authorization="Bearer")
    assert status == 400 and challenge is None


def test_lacking_a_permission_is_403_insufficient_scope(project: TestIssuer) -> None:
    status, challenge, body = get("/drinks/1/admin", project.token("patch:drinks"))
    assert status == 403
    assert challenge == {"scheme": "Bearer", "realm": project.audience, "error": "insufficient_scope",
                         "error_description": "missing permission: delete:drinks",
                         "scope": "delete:drinks patch:drinks"}
    assert body["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("granted", "status"),
    [(["delete:drinks"], 200), (["patch:drinks"], 200), (["get:drinks"], 403), ([], 403)],
)
def test_any_of_needs_one_of_the_permissions(project: TestIssuer, granted: list[str],
                                             status: int) -> None:
    code, challenge, _ = get("/any", project.token(*granted))
    assert code == status
    if status == 403:
        assert challenge is not None and challenge["scope"] == "delete:drinks patch:drinks"


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync-client", "async-client"])
def test_an_async_view_is_protected_the_same_way(project: TestIssuer, asynchronous: bool) -> None:
    ok = get("/async-detail", project.token("get:drinks-detail"), asynchronous=asynchronous)
    assert (ok[0], ok[2]["async"]) == (200, True)
    assert get("/async-detail", asynchronous=asynchronous)[0] == 401
    denied = get("/async-detail", project.token("get:drinks"), asynchronous=asynchronous)
    assert denied[1] is not None and denied[1]["error"] == "insufficient_scope"
    assert inspect.iscoroutinefunction(async_detail)


def test_bearer_protected_views_need_no_csrf_token(project: TestIssuer) -> None:
    client = Client(enforce_csrf_checks=True)
    with override_settings(MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"]):
        allowed = client.post("/drinks-detail", headers=project.auth_headers("get:drinks-detail"))
        assert allowed.status_code == 200
        assert client.post("/drinks-detail").status_code == 401, "still no way in without a token"
        assert client.post("/plain").status_code == 403, "unprotected views keep CSRF checks"


def test_the_view_keeps_its_signature_without_the_claims() -> None:
    assert list(inspect.signature(drink_admin).parameters) == ["request", "drink_id"]
    assert drink_admin.__name__ == "drink_admin"


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync-stack", "async-stack"])
def test_the_middleware_sets_request_auth_claims(project: TestIssuer, asynchronous: bool) -> None:
    plain = "/plain-async" if asynchronous else "/plain"
    with override_settings(MIDDLEWARE=[MIDDLEWARE]):
        status, _, body = get(plain, project.token("get:drinks", sub="bo"), asynchronous=asynchronous)
        assert (status, body) == (200, {"sub": "bo", "granted": ["get:drinks"]})
        assert get(plain, asynchronous=asynchronous)[2] == {"claims": None}
        other_scheme = get(plain, authorization="Basic YWRhOnB3", asynchronous=asynchronous)
        assert other_scheme[:1] + other_scheme[2:] == (200, {"claims": None})
        status, challenge, _ = get(plain, project.expired_token(), asynchronous=asynchronous)
        assert status == 401 and challenge is not None
        assert challenge["error_description"] == "token expired"


def test_the_middleware_answers_a_guard_error_raised_in_a_view(project: TestIssuer) -> None:
    with override_settings(MIDDLEWARE=[MIDDLEWARE]):
        status, challenge, _ = get("/raises")
        assert status == 401 and challenge == {"scheme": "Bearer", "realm": project.audience}
    assert GuardMiddleware.async_capable and GuardMiddleware.sync_capable


def test_the_guard_is_built_lazily_once_and_again_when_settings_change(
    authgate_issuer_factory: Any,
) -> None:
    issuer = authgate_issuer_factory()
    with override_settings(ROOT_URLCONF=__name__, AUTHGATE_GUARD=guard_settings(issuer)):
        assert sum(issuer.hits.values()) == 0, "decorating and configuring fetch nothing"
        first = settings_guard.get()
        assert sum(issuer.hits.values()) == 0, "building the guard fetches nothing either"
        assert get("/me", issuer.token())[0] == 200
        assert settings_guard.get() is first
        with override_settings(AUTHGATE_GUARD=guard_settings(issuer, REALM="drinks")):
            assert settings_guard.get() is not first
            assert get("/me")[1] == {"scheme": "Bearer", "realm": "drinks"}


@pytest.mark.parametrize(
    ("configured", "message"),
    [
        pytest.param(None, "must be a dict", id="missing"),
        pytest.param({"ISSUER": "http://127.0.0.1:9"}, "audience", id="no-audience"),
        pytest.param({"ISSUER": "x", "AUDIENCE": "y", "LEWAY": 5}, "unknown keys", id="typo"),
        pytest.param({"ISSUER": "x", "AUDIENCE": "y", "ALGORITHMS": ["HS256"]}, "algorithms",
                     id="hmac-algorithm"),
    ],
)
def test_a_bad_setting_is_improperly_configured(configured: Any, message: str) -> None:
    with override_settings(AUTHGATE_GUARD=configured), pytest.raises(ImproperlyConfigured,
                                                                      match=message):
        settings_guard.get()


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync-view", "async-view"])
def test_an_issuer_never_reached_is_503_not_a_crash(authgate_issuer_factory: Any,
                                                    asynchronous: bool) -> None:
    issuer = authgate_issuer_factory()
    issuer.down = True
    with override_settings(ROOT_URLCONF=__name__, AUTHGATE_GUARD=guard_settings(issuer)):
        view = "/async-detail" if asynchronous else "/drinks-detail"
        status, _, body = get(view, issuer.token("get:drinks-detail"), asynchronous=asynchronous)
    assert (status, body["error"]) == (503, "temporarily_unavailable")


def test_tokens_from_a_real_authgate_issuer(authgate_server: Any) -> None:
    """authgate issues (password grant, demo realm); Django verifies, keys by discovery."""
    configured = {"ISSUER": authgate_server.url, "AUDIENCE": "https://coffee.example/api",
                  "REQUIRED_TYP": "at+jwt"}
    barista, manager = password_token(authgate_server, "barista"), password_token(authgate_server,
                                                                                  "manager")
    with override_settings(ROOT_URLCONF=__name__, AUTHGATE_GUARD=configured,
                           MIDDLEWARE=[MIDDLEWARE]):
        status, _, body = get("/drinks-detail", barista)
        assert status == 200 and "get:drinks-detail" in body["granted"]
        status, challenge, _ = get("/drinks/1/admin", barista)
        assert status == 403 and challenge is not None
        assert challenge["error"] == "insufficient_scope"
        assert get("/drinks/1/admin", manager)[0] == 200
        assert get("/async-detail", manager, asynchronous=True)[0] == 200
        plain = get("/plain", manager)[2]
        assert plain["sub"] and plain["sub"] != body["sub"], "the manager, not the barista"
        assert "delete:drinks" in plain["granted"]
        tampered = barista[:-4] + ("AAAA" if not barista.endswith("AAAA") else "BBBB")
        status, challenge, _ = get("/drinks-detail", tampered)
        assert status == 401 and challenge is not None and challenge["error"] == "invalid_token"


def test_a_minimum_acr_is_read_against_the_settings_acr_values(authgate_issuer: TestIssuer) -> None:
    """RFC 9470: with the settings' ACR_VALUES order, "silver" accepts silver and gold; bronze gets the challenge."""
    ladder = ["urn:authgate:acr:password", "urn:authgate:acr:mfa", "urn:example:acr:hardware-key"]
    with override_settings(ROOT_URLCONF=__name__, AUTHGATE_GUARD=guard_settings(authgate_issuer, ACR_VALUES=ladder)):
        assert get("/second-factor", authgate_issuer.token(acr="urn:example:acr:hardware-key"))[0] == 200
        assert get("/second-factor", authgate_issuer.token(acr="urn:authgate:acr:mfa"))[0] == 200
        status, challenge, body = get("/second-factor", authgate_issuer.token(acr="urn:authgate:acr:password"))
    assert status == 401 and challenge is not None
    assert challenge["error"] == "insufficient_user_authentication"
    assert challenge["acr_values"] == "urn:authgate:acr:mfa urn:example:acr:hardware-key"
    assert body["error"] == "insufficient_user_authentication"
