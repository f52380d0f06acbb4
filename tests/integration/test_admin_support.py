"""What the admin API tests share: a live server set up by `authgate init`, and real tokens for it.

Tokens come from the server's own token endpoint (password grant, a
first-party client made for the tests), so every request goes through the
same path an operator's script would. No tests live here.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from authgate import bootstrap
from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import parse_realm

# TEST FIXTURE ONLY: passwords of throwaway test accounts.
ROOT_PASSWORD = "violet-harbour-lantern-1987"
USER_PASSWORD = "quiet-meadow-copper-4412"
ADMIN_API = bootstrap.ADMIN_API
TOOL_CLIENT = "admin-script"

TOOL_REALM = f"""
clients:
  - client_id: {TOOL_CLIENT}
    type: public
    grant_types: [password]
    default_audience: {ADMIN_API}
"""


@dataclass
class AdminWorld:
    url: str
    api: str
    server: object
    root_token: str

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.api, headers=headers, timeout=30)


def apply(server: object, yaml_text: str) -> None:
    with server.services.realm(actor="test") as realm:  # type: ignore[attr-defined]
        apply_realm(realm, parse_realm(yaml_text))


def password_token(url: str, username: str, password: str) -> str:
    """An access token for the admin API, from the password grant (RFC 6749 §4.3)."""
    response = httpx.post(f"{url}/oauth/token", data={
        "grant_type": "password", "client_id": TOOL_CLIENT, "username": username, "password": password,
        "audience": ADMIN_API,
    }, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def admin_world(live_server: object) -> AdminWorld:
    """`authgate init` (root holds the admin role), plus the test script's client."""
    bootstrap.initialize(live_server.services, admin_username="root", admin_password=ROOT_PASSWORD)  # type: ignore[attr-defined]
    apply(live_server, TOOL_REALM)
    url = live_server.url  # type: ignore[attr-defined]
    return AdminWorld(url, f"{url}/admin/api", live_server, password_token(url, "root", ROOT_PASSWORD))
