"""Every response carries `X-Content-Type-Options: nosniff`: pages, JSON, errors, 404s and 405s.

The table is the app's own route table (protocol endpoints, pages, static files,
the admin API and console), each path with each method it takes and one it does
not, asked once without credentials and once with an admin token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
from starlette.routing import BaseRoute, Mount, Route
from test_admin_support import AdminWorld, admin_world  # noqa: F401 (admin_world: a fixture)

from authgate.admin.app import build
from authgate.admin.app import routes as admin_routes
from authgate.web.app import collect_routes

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
EXTRA_PATHS = [
    "/",
    "/nothing",
    "/static/authgate.css",
    "/static/nothing.css",
    "/admin/api/openapi.json",
    "/admin/api/docs",
    "/admin/api/nothing",
    "/admin/nothing",
    "/.well-known/nothing",
]


def paths(routes: list[BaseRoute], prefix: str = "") -> Iterator[str]:
    for route in routes:
        if isinstance(route, Route):
            yield prefix + re.sub(r"\{\w+(:\w+)?\}", "x", route.path)
        elif isinstance(route, Mount) and route.routes:
            yield from paths(list(route.routes), prefix + route.path)


def every_path() -> list[str]:
    api = [f"/admin/api{route}" for route in paths(list(build().routes))]
    return sorted({*paths(collect_routes()), *paths(admin_routes()), *api, *EXTRA_PATHS})


def test_every_answer_of_every_endpoint_says_nosniff(admin_world: AdminWorld) -> None:
    missing = []
    asked = 0
    with httpx.Client(base_url=admin_world.url, timeout=30) as client:
        for path in every_path():
            for method in METHODS:
                for headers in ({}, {"Authorization": f"Bearer {admin_world.root_token}"}):
                    response = client.request(method, path, headers=headers)
                    asked += 1
                    if response.headers.get("x-content-type-options") != "nosniff":
                        missing.append(f"{method} {path} -> {response.status_code}")
    assert asked > 500
    assert not missing, missing


def test_the_protocol_answers_say_nosniff_once(admin_world: AdminWorld) -> None:
    """Token, introspection (the hot paths), JWKS, discovery, userinfo: success and error alike."""
    url = admin_world.url
    answers = [
        httpx.post(
            f"{url}/oauth/token",
            data={
                "grant_type": "password",
                "client_id": "admin-script",
                "username": "root",
                "password": "violet-harbour-lantern-1987",
                "audience": "authgate-admin",
            },
        ),
        httpx.post(f"{url}/oauth/token", data={"grant_type": "nonsense"}),
        httpx.post(f"{url}/oauth/introspect", data={"token": "x"}),
        httpx.post(f"{url}/oauth/revoke", data={"token": "x"}),
        httpx.get(f"{url}/userinfo", headers={"Authorization": f"Bearer {admin_world.root_token}"}),
        httpx.get(f"{url}/userinfo"),
        httpx.get(f"{url}/.well-known/jwks.json"),
        httpx.get(f"{url}/.well-known/openid-configuration"),
        httpx.get(
            f"{admin_world.api}/users",
            headers={"Authorization": f"Bearer {admin_world.root_token}"},
        ),
    ]
    assert (
        answers[0].status_code == 200
        and answers[1].status_code in (400, 401)
        and answers[8].status_code == 200
    )
    for response in answers:
        assert response.headers.get_list("x-content-type-options") == ["nosniff"], (
            response.request.url
        )
