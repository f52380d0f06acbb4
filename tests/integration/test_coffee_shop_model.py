"""The seed's whole model over real HTTP: authgate issues, the coffee shop API (the guard) verifies.

authgate runs as a live server on a real database; the API runs under
werkzeug; tokens come from the password grant of the first-party `coffee-pos`
client in the demo realm; the guard finds the keys through discovery.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from werkzeug.serving import make_server

from authgate.guard.flask import FlaskGuard
from authgate.provisioning import load_realm_file

ROOT = Path(__file__).resolve().parents[2]
AUDIENCE = "https://coffee.example/api"
# TEST FIXTURE ONLY: passwords set for this test's users.
PASSWORDS = {"barista": "test-fixture barista passphrase", "manager": "test-fixture manager passphrase"}
LATTE = {"title": "latte", "recipe": [{"name": "espresso", "color": "brown", "parts": 1}]}


@pytest.fixture
def realm(live_server):
    from authgate.provisioning import apply_realm

    services = live_server.services
    with services.realm(actor="test") as realm:
        apply_realm(realm, load_realm_file(ROOT / "src/authgate/demo/realm.yaml"))
        for username, password in PASSWORDS.items():
            realm.users.set_password(username, password)
    return live_server


@pytest.fixture
def api(realm):
    spec = importlib.util.spec_from_file_location("coffee_api_model", ROOT / "examples/coffee_shop/api.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    # A short refetch interval so the rotation test need not wait the default 10 s.
    guard = FlaskGuard(issuer=realm.url, audience=AUDIENCE, required_typ="at+jwt", jwks_refetch_interval=0.5)
    server = make_server("127.0.0.1", 0, module.create_app(guard=guard), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}") as client:
        yield client
    server.shutdown()


def login(server, username: str) -> str:
    response = httpx.post(server.url + "/oauth/token", data={
        "grant_type": "password", "client_id": "coffee-pos", "username": username, "password": PASSWORDS[username],
    })
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


ROUTES = [
    ("GET", "/drinks-detail", None, "get:drinks-detail"),
    ("POST", "/drinks", LATTE, "post:drinks"),
    ("PATCH", "/drinks/1", {"title": "still water"}, "patch:drinks"),
    ("DELETE", "/drinks/1", None, "delete:drinks"),
]


@pytest.mark.parametrize("role", ["barista", "manager"])
def test_each_role_gets_exactly_what_it_holds(realm, api, role):
    token = login(realm, role)
    allowed = {"barista": {"get:drinks-detail"}, "manager": {p for *_, p in ROUTES}}[role]
    for method, path, body, permission in ROUTES:
        response = api.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
        if permission in allowed:
            assert response.status_code == 200, (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path)
            assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
            assert permission in response.json()["error_description"]


def test_no_token_or_a_bad_one_is_401(realm, api):
    assert api.get("/drinks").status_code == 200, "the short list is public"
    missing = api.get("/drinks-detail")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    token = login(realm, "manager")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    bad = api.get("/drinks-detail", headers={"Authorization": f"Bearer {tampered}"})
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["www-authenticate"]


def test_a_signing_key_rotation_is_picked_up_without_restart(realm, api):
    before = login(realm, "barista")
    assert api.get("/drinks-detail", headers={"Authorization": f"Bearer {before}"}).status_code == 200
    realm.services.keys.rotate(actor="test")
    time.sleep(0.6)  # past the guard's refetch interval: an unknown kid may trigger one JWKS fetch
    after = login(realm, "barista")
    import jwt

    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
    assert api.get("/drinks-detail", headers={"Authorization": f"Bearer {after}"}).status_code == 200
    assert api.get("/drinks-detail", headers={"Authorization": f"Bearer {before}"}).status_code == 200, \
        "the old key stays published during the overlap window"


def test_a_token_for_another_audience_is_refused(realm, api):
    with realm.services.realm(actor="test") as admin_realm:
        admin_realm.apis.create("https://tea.example/api", "Tea", ["get:tea"])
    response = httpx.post(realm.url + "/oauth/token", data={
        "grant_type": "password", "client_id": "coffee-pos", "username": "manager",
        "password": PASSWORDS["manager"], "audience": "https://tea.example/api",
    })
    token = response.json()["access_token"]
    refused = api.get("/drinks-detail", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
