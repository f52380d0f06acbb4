"""Event loop or threadpool, by one rule (oauth2/token_endpoint.py `serve`): a request runs on the
event loop only when every cache it needs answers from `peek()`; anything else goes to the
threadpool, where the same code may load. Counted by wrapping the threadpool hand-off."""

from __future__ import annotations

import base64
import json
import pickle
from typing import Any

import pytest
from starlette.testclient import TestClient

from authgate.access.clients import ClientSpec
from authgate.oauth2 import token_endpoint
from authgate.web import app as web_app

SECRET = "s" * 40
BASIC = {"Authorization": "Basic " + base64.b64encode(f"svc:{SECRET}".encode()).decode()}
ORIGIN = "https://app.example"


@pytest.fixture
def world(services, monkeypatch) -> tuple[TestClient, list[str]]:
    with services.realm(actor="test") as realm:
        realm.apis.create("https://api", permissions=["read"])
        realm.clients.create(ClientSpec(client_id="svc", client_secret=SECRET, grant_types=["client_credentials"],
                                        web_origins=[ORIGIN], default_audience="https://api",
                                        permissions={"https://api": ["read"]}))
    handed_off: list[str] = []
    original = token_endpoint.run_in_threadpool

    async def counting(work: Any, *args: Any) -> Any:
        handed_off.append(work.__qualname__)
        return await original(work, *args)

    monkeypatch.setattr(token_endpoint, "run_in_threadpool", counting)
    return TestClient(web_app.create_app(services=services)), handed_off


def client_credentials(http: TestClient, **extra: str):
    return http.post("/oauth/token", data={"grant_type": "client_credentials", **extra},
                     headers={**BASIC, "Origin": ORIGIN})


def test_client_credentials_runs_on_the_loop_once_its_caches_are_in_memory(world, services):
    http, handed_off = world
    assert client_credentials(http).status_code == 200
    assert handed_off == ["_answer"], "cold: the client, the keys and the API list are loaded in the threadpool"
    for _ in range(3):
        assert client_credentials(http).status_code == 200
    assert handed_off == ["_answer"], "warm: answered on the event loop"
    services.oauth2.clients.changed(["svc"])
    assert client_credentials(http).status_code == 200
    assert handed_off == ["_answer", "_answer"], "a forgotten client is loaded again, off the loop"


def test_an_error_on_the_loop_carries_the_clients_cors_headers(world):
    http, handed_off = world
    client_credentials(http)
    response = client_credentials(http, audience="https://unknown")
    assert response.status_code == 400 and response.json()["error"] == "invalid_target"
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["cache-control"] == "no-store"
    assert handed_off == ["_answer"]


def test_grants_that_use_storage_always_go_to_the_threadpool(world):
    http, handed_off = world
    client_credentials(http)
    for _ in range(2):
        response = http.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "nope"},
                             headers=BASIC)
        assert response.status_code == 400
    assert handed_off == ["_answer"] * 3


def test_introspection_of_a_token_seen_before_runs_on_the_loop(world):
    http, handed_off = world
    token = client_credentials(http).json()["access_token"]
    handed_off.clear()
    first = http.post("/oauth/introspect", data={"token": token}, headers=BASIC)
    assert first.json()["active"] is True and handed_off == ["_answer"], "verified once, in the threadpool"
    again = http.post("/oauth/introspect", data={"token": token}, headers=BASIC)
    assert again.json() == first.json() and handed_off == ["_answer"], "then from memory"
    opaque = http.post("/oauth/introspect", data={"token": "not-a-jwt"}, headers=BASIC)
    assert opaque.json() == {"active": False} and handed_off == ["_answer", "_answer"], "a refresh token reads storage"


def test_a_revocation_counts_at_once_on_the_loop_path(world):
    http, _ = world
    token = client_credentials(http).json()["access_token"]
    assert http.post("/oauth/introspect", data={"token": token}, headers=BASIC).json()["active"] is True
    assert http.post("/oauth/revoke", data={"token": token}, headers=BASIC).status_code == 200
    assert http.post("/oauth/introspect", data={"token": token}, headers=BASIC).json() == {"active": False}


def test_the_app_factory_carries_settings_to_workers_without_the_environment(monkeypatch, tmp_path):
    """`serve` hands uvicorn's workers a pickled AppFactory: its overrides, not os.environ, set the issuer."""
    from testkit import TEST_MASTER_KEY

    monkeypatch.delenv("AUTHGATE_ISSUER", raising=False)
    monkeypatch.setenv("AUTHGATE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AUTHGATE_MASTER_KEY", TEST_MASTER_KEY)
    factory = pickle.loads(pickle.dumps(web_app.AppFactory({"issuer": "http://127.0.0.1:8765"})))
    app = factory()
    assert app.state.services.settings.issuer == "http://127.0.0.1:8765"
    assert json.loads(json.dumps(dict(factory.overrides))) == {"issuer": "http://127.0.0.1:8765"}
