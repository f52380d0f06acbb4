"""Foreign relying parties complete the whole flow against authgate: npm's openid-client (v6) and Authlib.

openid-client runs under node (tests/integration/oidc_client/rp.js); its
node_modules is installed on first use from the committed package-lock.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from authlib.integrations.requests_client import OAuth2Session
from oidc_client.flow import PASSWORDS, SPA_REDIRECT, BrowserLike, query_of
from oidc_client.servers import serve_world

from testkit import npm_install

RP_DIR = Path(__file__).resolve().parent / "oidc_client"
POST_LOGOUT = "http://127.0.0.1:5000/"


# One worker runs this module: its tests share one server per backend (see oidc_client/servers.py).
pytestmark = pytest.mark.xdist_group("test_oidc_foreign_clients")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve_world(request, tmp_path_factory.mktemp("foreign"))


@pytest.fixture(scope="session")
def node_rp() -> Path:
    if shutil.which("node") is None:
        pytest.fail("node is needed for the openid-client interop test (apt-get install nodejs npm)")
    npm_install(RP_DIR, "openid-client")
    return RP_DIR / "rp.js"


def test_openid_client_completes_discovery_code_pkce_token_userinfo_refresh_and_logout(
    live_server: Any, node_rp: Path
) -> None:
    env = {**os.environ, "ISSUER": live_server.url, "CLIENT_ID": "coffee-spa", "REDIRECT_URI": SPA_REDIRECT,
           "POST_LOGOUT_REDIRECT_URI": POST_LOGOUT, "USERNAME": "manager", "PASSWORD": PASSWORDS["manager"],
           "SCOPE": "openid profile email offline_access get:drinks"}
    done = subprocess.run(["node", str(node_rp)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    claims = result["id_token_claims"]
    assert claims["iss"] == live_server.url and claims["aud"] == "coffee-spa"
    assert claims["preferred_username"] == "manager"
    assert result["scope"] == "openid profile email offline_access get:drinks"
    assert result["userinfo"]["sub"] == claims["sub"] and result["userinfo"]["email"] == "manager@coffee.example"
    assert result["refreshed"] == {"rotated": True, "id_token_sub": claims["sub"]}
    assert result["logout"] == {"status": 303, "location": POST_LOGOUT + "?state=rp-state"}
    assert result["after_logout"] == "login_required"


def test_authlib_oauth2session_code_pkce_userinfo_and_refresh(live_server: Any) -> None:
    metadata = httpx.get(live_server.url + "/.well-known/openid-configuration").json()
    session = OAuth2Session(client_id="coffee-spa", redirect_uri=SPA_REDIRECT, scope="openid profile get:drinks",
                           code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce="n-0S6"
    )
    browser = BrowserLike(live_server.url)
    try:
        response = browser.get(url.replace(live_server.url, ""))
        response = browser.submit_login(response.headers["location"], "barista")
        callback = browser.get(response.headers["location"]).headers["location"]
    finally:
        browser.close()
    assert query_of(callback)["iss"] == live_server.url
    token = session.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state
    )
    key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(token["id_token"])
    claims = jwt.decode(token["id_token"], key.key, algorithms=["RS256"], audience="coffee-spa", issuer=live_server.url)
    assert claims["nonce"] == "n-0S6"
    info = session.get(metadata["userinfo_endpoint"]).json()
    assert info == {
        "sub": claims["sub"], "preferred_username": "barista", "name": "Bea Barista", "updated_at": info["updated_at"],
    }
    renewed = session.refresh_token(metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert renewed["refresh_token"] != token["refresh_token"] and renewed["scope"] == "openid profile get:drinks"
