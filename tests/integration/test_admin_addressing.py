"""Each admin route acts on exactly the object its URL names, whatever characters the name holds.

A name goes in the path as one percent-encoded segment. The world holds look-alikes
(`https://amb.test/api` with permission `read`, and an API whose identifier is
`https://amb.test/api/permissions/read`), and every case compares the whole realm
before and after: only the named object may change.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from fastapi.routing import APIRoute
from test_admin_console import log_in, post_form
from test_admin_support import ROOT_PASSWORD, AdminWorld, admin_world, apply  # noqa: F401 (admin_world: a fixture)

from authgate.admin.app import build
from authgate.http.sessions import BrowserSessions
from authgate.oidc import consents
from authgate.services import Services

BASE = "https://amb.test/api"
TRAP = "https://amb.test/api/permissions/read"  # the case: an identifier like a route
QUERY = "https://amb.test/q?x=1#frag"
PERCENT = "urn:a%2Fb"  # a literal %2F, not a slash
SLASHED = "urn:a/b"
UNICODE = "urn:café/☕"
ROLE, ROLE_DECOY = "night shift", "night"
USER, USER_DECOY = "bob.smith+x@amb.test", "bob"
USER_EMAIL, DECOY_EMAIL = "bob.smith@amb.example.com", "bob@amb.example.com"
CLIENT, CLIENT_DECOY = "app:one.v2", "app"

WORLD = f"""
apis:
  - {{identifier: "{BASE}", permissions: [read, write, "permissions"]}}
  - {{identifier: "{TRAP}", permissions: [read]}}
  - {{identifier: "{QUERY}", permissions: ["a/b", "50%", "q?x", "#h", read]}}
  - {{identifier: "{PERCENT}", permissions: [x]}}
  - {{identifier: "{SLASHED}", permissions: [x]}}
  - {{identifier: "{UNICODE}", permissions: ["read/write", read]}}
roles:
  - {{name: "{ROLE}", permissions: {{"{BASE}": [read]}}}}
  - {{name: "{ROLE_DECOY}", permissions: {{"{BASE}": [read]}}}}
users:
  - {{username: "{USER}", email: "{USER_EMAIL}", roles: ["{ROLE}", "{ROLE_DECOY}"]}}
  - {{username: "{USER_DECOY}", email: "{DECOY_EMAIL}", roles: ["{ROLE}", "{ROLE_DECOY}"]}}
clients:
  - {{client_id: "{CLIENT}", type: confidential, grant_types: [client_credentials]}}
  - {{client_id: "{CLIENT_DECOY}", type: confidential, grant_types: [client_credentials]}}
"""

Snapshot = dict[str, Any]
Check = Callable[[httpx.Response, Snapshot], bool]


def api(identifier: str) -> str:
    return f"api {identifier}"


def permissions(after: Snapshot, identifier: str) -> set[str]:
    return {permission["name"] for permission in after[api(identifier)]["permissions"]}


def echoed(field: str, value: str) -> Check:
    return lambda response, after: response.json()[field] == value


def gone(key: str) -> Check:
    return lambda response, after: key not in after


def ok(response: httpx.Response, after: Snapshot) -> bool:
    """No check beyond the status and the keys allowed to change."""
    return True

# (description, method, route, path parameters, body, status, keys allowed to change, check)
Case = tuple[str, str, str, dict[str, str], Any, int, set[str], Check]
CASES: list[Case] = [
    *[
        (
            f"get API {identifier}",
            "GET",
            "/apis/{identifier}",
            {"identifier": identifier},
            None,
            200,
            set(),
            echoed("identifier", identifier),
        )
        for identifier in (TRAP, QUERY, PERCENT, SLASHED, UNICODE, BASE)
    ],
    *[
        (
            f"rename API {identifier}",
            "PATCH",
            "/apis/{identifier}",
            {"identifier": identifier},
            {"name": "renamed"},
            200,
            {api(identifier)},
            lambda r, after, i=identifier: after[api(i)]["name"] == "renamed",
        )  # type: ignore[misc]
        for identifier in (TRAP, QUERY, PERCENT, UNICODE)
    ],
    (
        "add a permission holding / to the API with ? and #",
        "POST",
        "/apis/{identifier}/permissions",
        {"identifier": QUERY},
        {"name": "c/d%?#"},
        201,
        {api(QUERY)},
        lambda r, after: "c/d%?#" in permissions(after, QUERY),
    ),
    (
        "set the permissions of the Unicode API",
        "PUT",
        "/apis/{identifier}/permissions",
        {"identifier": UNICODE},
        {"permissions": ["read/write", "new"]},
        200,
        {api(UNICODE)},
        lambda r, after: permissions(after, UNICODE) == {"read/write", "new"},
    ),
    *[
        (
            f"remove permission {name!r} from {QUERY}",
            "DELETE",
            "/apis/{identifier}/permissions/{permission}",
            {"identifier": QUERY, "permission": name},
            None,
            200,
            {api(QUERY)},
            lambda r, after, n=name: n not in permissions(after, QUERY),
        )  # type: ignore[misc]
        for name in ("a/b", "50%", "q?x", "#h")
    ],
    (
        "remove permission read from the API named like a route",
        "DELETE",
        "/apis/{identifier}/permissions/{permission}",
        {"identifier": TRAP, "permission": "read"},
        None,
        200,
        {api(TRAP)},
        lambda r, after: permissions(after, TRAP) == set(),
    ),
    (
        "the issue's case: delete the API whose identifier looks like a route",
        "DELETE",
        "/apis/{identifier}",
        {"identifier": TRAP},
        None,
        204,
        {api(TRAP)},
        gone(api(TRAP)),
    ),
    (
        "delete the API with a literal %2F (not the one with a slash)",
        "DELETE",
        "/apis/{identifier}",
        {"identifier": PERCENT},
        None,
        204,
        {api(PERCENT)},
        gone(api(PERCENT)),
    ),
    (
        "delete the Unicode API",
        "DELETE",
        "/apis/{identifier}",
        {"identifier": UNICODE},
        None,
        204,
        {api(UNICODE)},
        gone(api(UNICODE)),
    ),
    (
        "a permission that is not one segment of a real name",
        "DELETE",
        "/apis/{identifier}/permissions/{permission}",
        {"identifier": BASE, "permission": "read/x"},
        None,
        404,
        set(),
        ok,
    ),
    # roles: spaces
    (
        "get the role with a space",
        "GET",
        "/roles/{name}",
        {"name": ROLE},
        None,
        200,
        set(),
        echoed("name", ROLE),
    ),
    (
        "describe the role with a space",
        "PATCH",
        "/roles/{name}",
        {"name": ROLE},
        {"description": "d"},
        200,
        {f"role {ROLE}"},
        lambda r, after: after[f"role {ROLE}"]["description"] == "d",
    ),
    (
        "grant the role with a space a permission holding /",
        "PUT",
        "/roles/{name}/permissions",
        {"name": ROLE},
        {"permissions": {QUERY: ["c/d%?#"], SLASHED: ["x"]}},
        200,
        {f"role {ROLE}"},
        lambda r, after: (
            after[f"role {ROLE}"]["permissions"] == {QUERY: ["c/d%?#"], SLASHED: ["x"]}
        ),
    ),
    (
        "a role name with an encoded slash is one (impossible) name",
        "DELETE",
        "/roles/{name}",
        {"name": "night/shift"},
        None,
        422,
        set(),
        ok,
    ),
    (
        "remove the role with a space from a user",
        "DELETE",
        "/users/{username}/roles/{role}",
        {"username": USER, "role": ROLE},
        None,
        200,
        {f"user {USER}"},
        lambda r, after: after[f"user {USER}"]["roles"] == [ROLE_DECOY],
    ),
    (
        "delete the role with a space",
        "DELETE",
        "/roles/{name}",
        {"name": ROLE},
        None,
        204,
        {f"role {ROLE}", f"user {USER}", f"user {USER_DECOY}"},
        lambda r, after: (
            f"role {ROLE}" not in after and after[f"user {USER_DECOY}"]["roles"] == [ROLE_DECOY]
        ),
    ),
    # users: @ + . in a segment; an encoded slash is not a route separator
    (
        "get the user with @ and +",
        "GET",
        "/users/{username}",
        {"username": USER},
        None,
        200,
        set(),
        echoed("username", USER),
    ),
    (
        "a username with an encoded /disable does not disable bob",
        "POST",
        "/users/{username}/disable",
        {"username": f"{USER_DECOY}/disable"},
        None,
        422,
        set(),
        ok,
    ),
    (
        "a username with an encoded /delete does not reach bob",
        "DELETE",
        "/users/{username}",
        {"username": f"{USER_DECOY}/roles/{ROLE_DECOY}"},
        None,
        422,
        set(),
        ok,
    ),
    (
        "change the user with @ and +",
        "PATCH",
        "/users/{username}",
        {"username": USER},
        {"name": "Bob S"},
        200,
        {f"user {USER}"},
        lambda r, after: after[f"user {USER}"]["name"] == "Bob S",
    ),
    (
        "disable the user with @ and +",
        "POST",
        "/users/{username}/disable",
        {"username": USER},
        None,
        200,
        {f"user {USER}"},
        lambda r, after: after[f"user {USER}"]["disabled"],
    ),
    (
        "enable the user with @ and +",
        "POST",
        "/users/{username}/enable",
        {"username": USER},
        None,
        200,
        {f"user {USER}"},
        lambda r, after: not after[f"user {USER}"]["disabled"],
    ),
    (
        "set the password of the user with @ and +",
        "PUT",
        "/users/{username}/password",
        {"username": USER},
        {"password": "amber-willow-orchard-5521"},
        204,
        {f"user {USER}"},
        lambda r, after: after[f"user {USER}"]["has_password"],
    ),
    (
        "set the roles of the user with @ and +",
        "PUT",
        "/users/{username}/roles",
        {"username": USER},
        {"roles": [ROLE_DECOY]},
        200,
        {f"user {USER}"},
        lambda r, after: after[f"user {USER}"]["roles"] == [ROLE_DECOY],
    ),
    (
        "add a role to the user with @ and +",
        "POST",
        "/users/{username}/roles",
        {"username": USER},
        {"roles": [ROLE_DECOY]},
        200,
        set(),
        echoed("username", USER),
    ),
    (
        "unlock the user with @ and +",
        "POST",
        "/users/{username}/unlock",
        {"username": USER},
        None,
        200,
        set(),
        echoed("username", USER),
    ),
    (
        "list the sessions of the user with @ and +",
        "GET",
        "/users/{username}/sessions",
        {"username": USER},
        None,
        200,
        set(),
        lambda r, after: len(r.json()) == 1,
    ),
    (
        "end one session of the user with @ and +",
        "DELETE",
        "/users/{username}/sessions/{sid}",
        {"username": USER, "sid": "SID"},
        None,
        204,
        {f"sessions {USER}"},
        lambda r, after: after[f"sessions {USER}"] == [],
    ),
    (
        "list the factors of the user with @ and +",
        "GET",
        "/users/{username}/factors",
        {"username": USER},
        None,
        200,
        set(),
        lambda r, after: r.json() == [],
    ),
    (
        "remove a factor the user with @ and + does not have: nothing changes",
        "DELETE",
        "/users/{username}/factors/{kind}/{factor_id}",
        {"username": USER, "kind": "totp", "factor_id": "1"},
        None,
        404,
        set(),
        ok,
    ),
    (
        "end all sessions of the decoy",
        "DELETE",
        "/users/{username}/sessions",
        {"username": USER_DECOY},
        None,
        204,
        {f"sessions {USER_DECOY}"},
        lambda r, after: after[f"sessions {USER_DECOY}"] == [],
    ),
    (
        "list the consents of the user with @ and +",
        "GET",
        "/users/{username}/consents",
        {"username": USER},
        None,
        200,
        set(),
        lambda r, after: [c["client_id"] for c in r.json()] == [CLIENT],
    ),
    (
        "revoke a consent of the user with @ and + to the client with : and .",
        "DELETE",
        "/users/{username}/consents/{client_id}",
        {"username": USER, "client_id": CLIENT},
        None,
        204,
        {f"consents {USER}"},
        lambda r, after: after[f"consents {USER}"] == [],
    ),
    (
        "a client id with an encoded /secret does not rotate app's secret",
        "POST",
        "/clients/{client_id}/secret",
        {"client_id": f"{CLIENT_DECOY}/secret"},
        None,
        422,
        set(),
        ok,
    ),
    # clients: : and . in a segment
    (
        "get the client with : and .",
        "GET",
        "/clients/{client_id}",
        {"client_id": CLIENT},
        None,
        200,
        set(),
        echoed("client_id", CLIENT),
    ),
    (
        "change the client with : and .",
        "PATCH",
        "/clients/{client_id}",
        {"client_id": CLIENT},
        {"name": "App One"},
        200,
        {f"client {CLIENT}", f"consents {USER_DECOY}"},  # a consent shows its client's name
        lambda r, after: after[f"client {CLIENT}"]["name"] == "App One",
    ),
    (
        "rotate the secret of the client with : and .",
        "POST",
        "/clients/{client_id}/secret",
        {"client_id": CLIENT},
        None,
        200,
        set(),
        echoed("client_id", CLIENT),
    ),
    (
        "send the user with @ and + a password reset",
        "POST",
        "/users/{username}/password-reset",
        {"username": USER},
        None,
        202,
        {"outbox"},
        lambda r, after: after["outbox"][0]["target"] == USER_EMAIL,
    ),
    (
        "send the user with @ and + a new verification",
        "POST",
        "/users/{username}/verification",
        {"username": USER},
        None,
        202,
        {"outbox"},
        lambda r, after: after["outbox"][0]["target"] == USER_EMAIL,
    ),
    (
        "an outbox message no one has",
        "GET",
        "/outbox/{message_id}",
        {"message_id": "0" * 32},
        None,
        404,
        set(),
        ok,
    ),
    (
        "resend an invitation the user with @ and + never had",
        "POST",
        "/invitations/{username}/resend",
        {"username": USER},
        None,
        409,
        set(),
        lambda r, after: f"user {USER} " in r.json()["error_description"],
    ),
    (
        "revoke an invitation the user with @ and + never had",
        "DELETE",
        "/invitations/{username}",
        {"username": USER},
        None,
        409,
        set(),
        lambda r, after: f"user {USER} " in r.json()["error_description"],
    ),
    (
        "delete the user with @ and +",
        "DELETE",
        "/users/{username}",
        {"username": USER},
        None,
        204,
        {f"user {USER}", f"sessions {USER}", f"consents {USER}"},
        gone(f"user {USER}"),
    ),
    (
        "delete the client with : and .",
        "DELETE",
        "/clients/{client_id}",
        {"client_id": CLIENT},
        None,
        204,
        {f"client {CLIENT}", f"consents {USER_DECOY}"},
        gone(f"client {CLIENT}"),
    ),
    # identity providers: an alias is [a-z0-9_-], so an encoded / or . in it is refused before any lookup
    *[
        (
            f"{method} an identity provider whose alias smuggles /{suffix}",
            method,
            route,
            {"alias": f"corp/{suffix}"},
            body,
            422,
            set(),
            ok,
        )
        for method, route, suffix, body in (
            ("GET", "/identity-providers/{alias}", "check", None),
            ("PUT", "/identity-providers/{alias}", "check", {"client_id": "x", "issuer": "https://corp.example"}),
            ("POST", "/identity-providers/{alias}/check", "check", None),
            ("DELETE", "/identity-providers/{alias}", "check", None),
        )
    ],
]


def snapshot(client: httpx.Client) -> Snapshot:
    """Every API, role, user (with sessions and consents) and client, keyed by what names it."""
    found: Snapshot = {}
    for view in client.get("/apis").json():
        found[api(view["identifier"])] = view
    for view in client.get("/roles").json():
        found[f"role {view['name']}"] = view
    for view in client.get("/users", params={"limit": 200}).json()["items"]:
        found[f"user {view['username']}"] = view
        segment = quote(view["username"], safe="")
        found[f"sessions {view['username']}"] = client.get(f"/users/{segment}/sessions").json()
        found[f"consents {view['username']}"] = client.get(f"/users/{segment}/consents").json()
    for view in client.get("/clients").json():
        found[f"client {view['client_id']}"] = {
            key: value for key, value in view.items() if key != "updated_at"
        }
    # Newest first; where and what, not delivery progress (the sender works meanwhile).
    found["outbox"] = [
        {"message_id": view["message_id"], "target": view["target"], "kind": view["kind"]}
        for view in client.get("/outbox", params={"limit": 200}).json()["items"]
    ]
    return found


def path_of(route: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: quote(params[match.group(1)], safe=""), route)


# Webhooks are addressed only by ids the server issued (`wh_…`, outbox message numbers), never by names a person
# chose: no name to confuse with another object.
BY_SERVER_IDS = "/webhooks/"


def test_every_route_with_a_name_in_its_path_is_in_the_table() -> None:
    templated = {
        (method, route.path)
        for route in build().routes
        if isinstance(route, APIRoute) and "{" in route.path
        and not route.path.startswith(BY_SERVER_IDS)
        for method in route.methods
    }
    assert templated == {(method, route) for _, method, route, *_ in CASES}


def test_each_route_acts_on_exactly_the_object_it_names(admin_world: AdminWorld) -> None:
    services: Services = admin_world.server.services  # type: ignore[attr-defined]
    apply(admin_world.server, WORLD)
    with services.reader() as realm:
        ids = {name: realm.users.get(name).id for name in (USER, USER_DECOY)}
    sid = {
        name: BrowserSessions(services).start(user_id, amr=("pwd",), ip=None, user_agent=None)[1]
        for name, user_id in ids.items()
    }
    for user_id in ids.values():
        consents.grant(services, user_id, CLIENT, ["openid"])
    with admin_world.client(admin_world.root_token) as client:
        # Nothing runs between two cases: one case's snapshot after is the next one's before (a snapshot
        # reads every object, a dozen requests; one per case, not two).
        after = snapshot(client)
        for description, method, route, params, body, status, changing, check in CASES:
            before = after
            filled = {
                name: sid[USER] if value == "SID" else value for name, value in params.items()
            }
            response = client.request(method, path_of(route, filled), json=body)
            assert response.status_code == status, (
                f"{description}: {response.status_code} {response.text}"
            )
            after = snapshot(client)
            untouched = {key: value for key, value in before.items() if key not in changing}
            changed = sorted(key for key in untouched if after.get(key) != untouched[key])
            assert not changed, f"{description}: changed {changed}"
            assert check(response, after), f"{description}: {response.text}"


def test_an_identifier_with_bare_slashes_is_refused_not_read_as_another_route(
    admin_world: AdminWorld,
) -> None:
    """The issue's request, unencoded: it used to remove `read` from https://amb.test/api."""
    apply(admin_world.server, WORLD)
    with admin_world.client(admin_world.root_token) as client:
        before = snapshot(client)
        for method in ("DELETE", "GET", "PATCH", "POST", "PUT"):
            body = {} if method in {"PATCH", "POST", "PUT"} else None
            for path in (
                f"/apis/{TRAP}",
                f"/apis/{TRAP}/permissions",
                f"/apis/{TRAP}/permissions/read",
            ):
                response = client.request(method, path, json=body)
                assert response.status_code == 404, f"{method} {path}: {response.text}"
                assert "%2F" in response.json()["error_description"]
        assert snapshot(client) == before


def test_the_console_acts_on_the_object_its_url_names(admin_world: AdminWorld) -> None:
    """Console pages take a name as one segment too (an API identifier as a query parameter)."""
    apply(admin_world.server, WORLD)
    browser, _ = log_in(admin_world, "root", ROOT_PASSWORD)
    with admin_world.client(admin_world.root_token) as client:
        before = snapshot(client)
        for path, from_page in [
            (f"/admin/roles/{ROLE_DECOY}%2Fdelete", "/admin/roles"),
            (f"/admin/users/{USER_DECOY}%2Fdisable", "/admin/users"),
            (f"/admin/clients/{CLIENT_DECOY}%2Fdelete", "/admin/clients"),
        ]:
            refused = post_form(browser, path, {}, from_page=from_page)
            assert refused.status_code == 404, f"{path}: {refused.status_code}"
        assert snapshot(client) == before
        roles = browser.get("/admin/roles").text
        assert 'href="/admin/roles/night%20shift"' in roles
        assert ROLE in html.unescape(browser.get("/admin/roles/night%20shift").text)
        for identifier in (TRAP, QUERY, UNICODE):
            page = browser.get("/admin/apis/view", params={"identifier": identifier})
            assert (
                page.status_code == 200
                and f'<p class="lead mono">{html.escape(identifier)}</p>' in page.text
            )
        deleted = post_form(
            browser, "/admin/apis/delete", {"identifier": TRAP}, from_page="/admin/apis"
        )
        assert deleted.status_code == 200 and deleted.url.path == "/admin/apis"
        after = snapshot(client)
        assert api(TRAP) not in after and after == {
            key: value for key, value in before.items() if key != api(TRAP)
        }
