"""The coffee shop example, served over real HTTP, called with tokens for the
realm's roles: barista (get:drinks, get:drinks-detail) and manager (all five)."""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from guard_testkit import AUDIENCE
from werkzeug.serving import make_server

from authgate.guard.flask import FlaskGuard
from authgate.testing import TestIssuer

API_FILE = Path(__file__).resolve().parents[2] / "examples" / "coffee_shop" / "api.py"
FRONTEND = "http://127.0.0.1:5000"
ROLES = {
    "barista": ["get:drinks", "get:drinks-detail"],
    "manager": ["get:drinks", "get:drinks-detail", "post:drinks", "patch:drinks", "delete:drinks"],
}
LATTE = {"title": "latte", "recipe": [{"name": "espresso", "color": "brown", "parts": 1},
                                      {"name": "milk", "color": "white", "parts": 3}]}


def load_api() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coffee_shop_api", API_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through it
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def api(issuer: TestIssuer) -> Iterator[httpx.Client]:
    module = load_api()
    guard = FlaskGuard(issuer=issuer.url, audience=AUDIENCE, required_typ="at+jwt")
    app = module.create_app(guard=guard, cors_origins=[FRONTEND])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}") as client:
        yield client
    server.shutdown()
    guard.close()


def auth(issuer: TestIssuer, keys: Any, role: str | None) -> dict[str, str]:
    if role is None:
        return {}
    return {"Authorization": "Bearer " + issuer.token(key=keys.rs, sub=f"user-{role}", permissions=ROLES[role])}


# (method, path, body) -> status for: nobody, barista, manager
MATRIX = [
    pytest.param("GET", "/drinks", None, (200, 200, 200), id="GET /drinks is public"),
    pytest.param("GET", "/drinks-detail", None, (401, 200, 200), id="GET /drinks-detail"),
    pytest.param("POST", "/drinks", LATTE, (401, 403, 200), id="POST /drinks"),
    pytest.param("PATCH", "/drinks/1", {"title": "sparkling water"}, (401, 403, 200), id="PATCH /drinks/1"),
    pytest.param("DELETE", "/drinks/1", None, (401, 403, 200), id="DELETE /drinks/1"),
]


@pytest.mark.parametrize(("method", "path", "body", "statuses"), MATRIX)
@pytest.mark.parametrize("role_index", [0, 1, 2], ids=["nobody", "barista", "manager"])
def test_roles_get_exactly_what_they_hold(api: httpx.Client, issuer: TestIssuer, keys: Any, method: str,
                                         path: str, body: Any, statuses: tuple[int, int, int],
                                         role_index: int) -> None:
    role = [None, "barista", "manager"][role_index]
    response = api.request(method, path, json=body, headers=auth(issuer, keys, role))
    assert response.status_code == statuses[role_index], response.text
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"] == f'Bearer realm="{AUDIENCE}"'
    if response.status_code == 403:
        challenge = response.headers["WWW-Authenticate"]
        assert 'error="insufficient_scope"' in challenge
        assert f'scope="{method.lower()}:drinks"' in challenge


def test_manager_runs_the_menu_and_baristas_see_it(api: httpx.Client, issuer: TestIssuer, keys: Any) -> None:
    manager, barista = auth(issuer, keys, "manager"), auth(issuer, keys, "barista")
    created = api.post("/drinks", json=LATTE, headers=manager).json()["drinks"][0]
    assert created["recipe"][0] == {"color": "brown", "name": "espresso", "parts": 1}

    public = {d["title"]: d for d in api.get("/drinks").json()["drinks"]}
    assert public["latte"]["recipe"] == [{"color": "brown", "parts": 1}, {"color": "white", "parts": 3}]

    patched = api.patch(f"/drinks/{created['id']}", json={"title": "flat white"}, headers=manager)
    assert patched.json()["drinks"][0]["title"] == "flat white"
    detail = {d["title"] for d in api.get("/drinks-detail", headers=barista).json()["drinks"]}
    assert detail == {"water", "flat white"}

    assert api.delete(f"/drinks/{created['id']}", headers=manager).json() == {"success": True,
                                                                             "delete": created["id"]}
    assert api.delete(f"/drinks/{created['id']}", headers=manager).status_code == 404
    assert api.post("/drinks", json={"title": "water", "recipe": LATTE["recipe"]},
                    headers=manager).status_code == 409
    assert api.post("/drinks", json={"title": "tea", "recipe": [{"name": "tea"}]},
                    headers=manager).status_code == 422


def test_cors_allows_only_the_configured_frontend(api: httpx.Client) -> None:
    allowed = api.options("/drinks-detail", headers={"Origin": FRONTEND,
                                                     "Access-Control-Request-Method": "GET"})
    assert allowed.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    other = api.get("/drinks", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_configuration_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COFFEE_ISSUER", "http://127.0.0.1:9999")
    monkeypatch.setenv("COFFEE_AUDIENCE", "https://tea.example/api")
    monkeypatch.setenv("COFFEE_CORS_ORIGINS", "http://a.example, http://b.example")
    app = load_api().create_app()
    client = app.test_client()
    response = client.get("/drinks-detail", headers={"Origin": "http://b.example"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="https://tea.example/api"'
    assert response.headers["Access-Control-Allow-Origin"] == "http://b.example"
