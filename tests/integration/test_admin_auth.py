"""Every admin operation refuses a caller without a token (401) and one without its permission (403).

The operations are walked from the server's own OpenAPI document, and the
document is checked against the app's route table, so a route added later is
covered without touching this file. Tokens come from the real token endpoint.
"""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute
from test_admin_support import ADMIN_API, ROOT_PASSWORD, USER_PASSWORD, AdminWorld, admin_world, apply, password_token  # noqa: F401

from authgate.admin.app import build
from authgate.admin.auth import PERMISSION_KEY
from authgate.bootstrap import ADMIN_PERMISSIONS

METHODS = {"get", "post", "put", "patch", "delete"}


def operations(document: dict) -> list[tuple[str, str, str]]:
    """(METHOD, path with placeholders filled, permission) for every operation in the document."""
    found = []
    for template, item in document["paths"].items():
        path = re.sub(r"\{[^}]+\}", "zz-nothing-here", template)
        for method, operation in item.items():
            if method in METHODS:
                found.append((method.upper(), path, operation[PERMISSION_KEY]))
    return found


CONNECTION = httpx.Client(timeout=30)  # one keep-alive connection for the whole walk


def send(world: AdminWorld, token: str | None, method: str, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return CONNECTION.request(method, f"{world.api}{path}", headers=headers,
                              json={} if method in {"POST", "PUT", "PATCH"} else None)


def test_the_document_lists_every_route_of_the_app_with_its_permission() -> None:
    app = build()
    document = app.openapi()
    in_table = {
        (method, route.path) for route in app.routes if isinstance(route, APIRoute) for method in route.methods
    }
    in_document = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item if method in METHODS
    }
    assert {(m, p.replace(":path", "")) for m, p in in_table} == in_document
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation[PERMISSION_KEY] in ADMIN_PERMISSIONS, f"{method} {path}"
            assert operation["security"] == [{"bearer": [operation[PERMISSION_KEY]]}]
            assert {"401", "403", "503"} <= set(operation["responses"]), f"{method} {path} must declare its errors"
    assert len(in_document) >= 39


def test_without_a_token_every_operation_is_401_with_a_bare_challenge(admin_world: AdminWorld) -> None:
    document = httpx.get(f"{admin_world.api}/openapi.json").json()
    for method, path, _ in operations(document):
        response = send(admin_world, None, method, path)
        assert response.status_code == 401, f"{method} {path}: {response.status_code} {response.text}"
        # RFC 6750 §3.1: no error code in the challenge when no credentials were sent.
        assert response.headers["www-authenticate"] == 'Bearer realm="authgate-admin"', f"{method} {path}"
        assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("token", ["not-a-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."], ids=["garbage", "alg-none"])
def test_a_bad_token_is_401_invalid_token(admin_world: AdminWorld, token: str) -> None:
    response = send(admin_world, token, "GET", "/users")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert response.json()["error"] == "invalid_token"


def test_without_its_permission_every_operation_is_403_naming_it(admin_world: AdminWorld) -> None:
    """Each token holds every admin permission but one, so a 403 proves the route checks exactly its own."""
    slug = {name: name.replace(":", "-") for name in ADMIN_PERMISSIONS}
    all_but = {name: ", ".join(p for p in ADMIN_PERMISSIONS if p != name) for name in ADMIN_PERMISSIONS}
    roles = "\n".join(
        f"  - name: all-but-{slug[name]}\n    permissions: {{{ADMIN_API}: [{all_but[name]}]}}"
        for name in ADMIN_PERMISSIONS
    )
    users = "\n".join(
        f"  - username: lacks-{slug[name]}\n    password: {USER_PASSWORD}\n    roles: [all-but-{slug[name]}]"
        for name in ADMIN_PERMISSIONS
    )
    apply(admin_world.server, f"roles:\n{roles}\nusers:\n{users}\n")
    lacking = {
        name: password_token(admin_world.url, f"lacks-{slug[name]}", USER_PASSWORD) for name in ADMIN_PERMISSIONS
    }
    document = httpx.get(f"{admin_world.api}/openapi.json").json()
    for method, path, permission in operations(document):
        response = send(admin_world, lacking[permission], method, path)
        assert response.status_code == 403, f"{method} {path}: {response.status_code} {response.text}"
        assert response.json()["error"] == "insufficient_scope"
        assert f'scope="{permission}"' in response.headers["www-authenticate"]
        # The same request with the permission gets past the check.
        allowed = send(admin_world, admin_world.root_token, method, path)
        assert allowed.status_code not in (401, 403), f"{method} {path} refused an admin: {allowed.text}"


def test_a_token_for_another_audience_is_refused(admin_world: AdminWorld) -> None:
    apply(admin_world.server, "apis:\n  - identifier: https://coffee.example/api\n    permissions: [get:drinks]\n")
    response = httpx.post(f"{admin_world.url}/oauth/token", data={
        "grant_type": "password", "client_id": "admin-script", "username": "root", "password": ROOT_PASSWORD,
        "audience": "https://coffee.example/api",
    })
    assert response.status_code == 200, response.text
    refused = send(admin_world, response.json()["access_token"], "GET", "/users")
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"
