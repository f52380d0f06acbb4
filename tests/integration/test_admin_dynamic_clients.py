"""Dynamically registered clients in the admin API and console: marked, with their last use, removable."""

from __future__ import annotations

import json
from typing import Any

from test_admin_console import log_in
from test_admin_support import ROOT_PASSWORD, AdminWorld, admin_world  # noqa: F401 (admin_world: a fixture)

from authgate.registration import registrations
from authgate.registration.metadata import parse_client_metadata


def register(world: AdminWorld) -> str:
    body = json.dumps({"redirect_uris": ["http://127.0.0.1:7000/cb"], "token_endpoint_auth_method": "none",
                       "client_name": "Agent"}).encode()
    server: Any = world.server
    with server.services.realm(actor="test") as realm:
        return registrations.register(realm, parse_client_metadata(body, public_only=True)).client.client_id


def test_admin_api_marks_dynamic_clients_and_removes_them(admin_world: AdminWorld) -> None:
    client_id = register(admin_world)
    with admin_world.client(admin_world.root_token) as api:
        listed = {client["client_id"]: client for client in api.get("/clients").json()}
        assert listed[client_id]["dynamic"] is True and listed[client_id]["last_used_at"] is None
        assert listed[client_id]["first_party"] is False and listed[client_id]["type"] == "public"
        assert listed["authgate-console"]["dynamic"] is False
        assert api.get(f"/clients/{client_id}").json()["dynamic"] is True
        assert api.delete(f"/clients/{client_id}").status_code == 204
        assert api.get(f"/clients/{client_id}").status_code == 404


def test_console_lists_dynamic_clients_as_registered_by_themselves(admin_world: AdminWorld) -> None:
    client_id = register(admin_world)
    browser, _ = log_in(admin_world, "root", ROOT_PASSWORD, start="/admin/clients")
    page = browser.get("/admin/clients").text
    row = page[page.index(client_id):]
    row = row[:row.index("</tr>")]
    assert "registered itself" in row and "last used never" in row
    console_row = page[page.index("authgate-console"):]
    assert "registered itself" not in console_row[:console_row.index("</tr>")]
