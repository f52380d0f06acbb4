"""The coffee shop API with real signed tokens: who may do what.

Baristas hold get:drinks and get:drinks-detail; managers also post, patch
and delete drinks (see src/authgate/demo/realm.yaml).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from authgate.testing import FakeClock, TestIssuer

BARISTA = ("get:drinks", "get:drinks-detail")
MANAGER = (*BARISTA, "post:drinks", "patch:drinks", "delete:drinks")
LATTE = {"title": "latte", "recipe": [{"name": "espresso", "color": "brown", "parts": 1},
                                      {"name": "milk", "color": "white", "parts": 3}]}


def test_anyone_sees_the_menu_without_recipes(client: Any) -> None:
    response = client.get("/drinks")
    assert response.status_code == 200
    assert response.json["drinks"] == [{"id": 1, "title": "water",
                                        "recipe": [{"color": "blue", "parts": 1}]}]


def test_a_barista_reads_recipes_but_cannot_change_the_menu(
    client: Any, authgate_issuer: TestIssuer
) -> None:
    barista = authgate_issuer.auth_headers(*BARISTA, sub="barista-1")
    detail = client.get("/drinks-detail", headers=barista)
    assert detail.status_code == 200
    assert detail.json["drinks"][0]["recipe"][0]["name"] == "water"

    refused = client.post("/drinks", json=LATTE, headers=barista)
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert 'scope="post:drinks"' in refused.headers["WWW-Authenticate"]


def test_a_manager_runs_the_menu(client: Any, authgate_issuer: TestIssuer) -> None:
    manager = authgate_issuer.auth_headers(*MANAGER, sub="manager-1")
    created = client.post("/drinks", json=LATTE, headers=manager)
    assert created.status_code == 200
    drink_id = created.json["drinks"][0]["id"]
    renamed = client.patch(f"/drinks/{drink_id}", json={"title": "flat white"}, headers=manager)
    assert renamed.json["drinks"][0]["title"] == "flat white"
    assert client.delete(f"/drinks/{drink_id}", headers=manager).json == {
        "success": True, "delete": drink_id}


def test_no_token_is_401_with_the_bearer_challenge(client: Any) -> None:
    response = client.get("/drinks-detail")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="https://coffee.example/api"'


@pytest.mark.parametrize(
    ("mint", "reason"),
    [
        (TestIssuer.expired_token, "token expired"),
        (TestIssuer.not_yet_valid_token, "token not yet valid (nbf)"),
        (TestIssuer.wrong_audience_token, "wrong audience"),
        (TestIssuer.forged_token, "signature verification failed"),
    ],
    ids=["expired", "not-yet-valid", "wrong-audience", "forged"],
)
def test_a_bad_token_is_401_invalid_token(
    client: Any, authgate_issuer: TestIssuer, mint: Callable[..., str], reason: str
) -> None:
    token = mint(authgate_issuer, *MANAGER)
    response = client.get("/drinks-detail", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json == {"error": "invalid_token", "error_description": reason}


def test_the_api_follows_a_key_rotation_without_restart(
    make_client: Callable[..., Any], authgate_issuer_factory: Callable[..., TestIssuer],
    authgate_clock: FakeClock,
) -> None:
    issuer = authgate_issuer_factory()  # our own issuer: rotating it touches no other test
    client = make_client(issuer, monotonic=authgate_clock)
    assert client.get("/drinks-detail", headers=issuer.auth_headers(*BARISTA)).status_code == 200
    issuer.rotate()
    authgate_clock.advance(10)  # the guard refetches keys at most every 10 s by default
    assert client.get("/drinks-detail", headers=issuer.auth_headers(*BARISTA)).status_code == 200
    assert issuer.jwks_fetches == 2
