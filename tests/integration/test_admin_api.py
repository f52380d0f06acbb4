"""What the admin API does, over real HTTP: error shapes shared with the CLI, audit names, user activity.

Each case is one request against a live server set up by `authgate init`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt
import pytest
from test_admin_support import ROOT_PASSWORD, AdminWorld, admin_world, apply, password_token  # noqa: F401

from authgate.accounts.throttle import account_key
from authgate.http.sessions import BrowserSessions
from authgate.oauth2.refresh_tokens import RefreshGrant
from authgate.oidc import consents
from authgate.services import Services
from authgate.storage.models import RefreshToken
from testkit import TEST_MASTER_KEY, LiveServer, cli_in_process, free_port

# (description, method, path, JSON body, status, expected body subset, expected headers subset)
ERRORS: list[tuple[str, str, str, Any, int, dict[str, Any], dict[str, str]]] = [
    ("unknown user", "GET", "/users/nobody", None, 404,
     {"error": "not_found", "error_description": "user nobody does not exist"}, {}),
    ("taken username", "POST", "/users", {"username": "ROOT"}, 409, {"error": "already_exists"}, {}),
    ("weak password", "POST", "/users", {"username": "weak", "password": "password1"}, 422,
     {"error": "weak_password", "field": "password"}, {}),
    ("username outside the pattern", "POST", "/users", {"username": "no spaces"}, 422,
     {"error": "invalid_input", "field": "username"}, {}),
    ("unknown field", "POST", "/roles", {"name": "r", "colour": "red"}, 422,
     {"error": "invalid_input", "field": "colour"}, {}),
    ("a string where a boolean goes", "PATCH", "/users/root", {"disabled": "false"}, 422,
     {"error": "invalid_input", "field": "disabled"}, {}),
    ("null for a list a change may only leave out", "PATCH", "/clients/authgate-console", {"grant_types": None}, 422,
     {"error": "invalid_input", "field": "grant_types"}, {}),
    ("null for a flag", "PATCH", "/users/root", {"email_verified": None}, 422,
     {"error": "invalid_input", "field": "email_verified"}, {}),
    ("unknown role", "POST", "/users", {"username": "ann", "roles": ["ghost"]}, 404, {"error": "not_found"}, {}),
    ("grant of an unknown API", "POST", "/roles", {"name": "r", "permissions": {"https://nowhere": ["x"]}}, 422,
     {"error": "invalid_input", "field": "permissions"}, {}),
    ("disabling yourself", "POST", "/users/root/disable", None, 409, {"error": "conflict"}, {}),
    ("deleting the admin API", "DELETE", "/apis/authgate-admin", None, 409, {"error": "conflict"}, {}),
    ("deleting the console's client", "DELETE", "/clients/authgate-console", None, 409, {"error": "conflict"}, {}),
    ("a secret for a public client", "POST", "/clients/authgate-console/secret", None, 422,
     {"error": "invalid_input"}, {}),
    ("an RFC 3339 time without offset", "GET", "/audit?since=2024-01-01T00:00:00", None, 422,
     {"error": "invalid_input", "field": "since"}, {}),
    ("a limit past the maximum", "GET", "/users?limit=201", None, 422,
     {"error": "invalid_input", "field": "limit"}, {}),
    ("a method the path does not take", "PUT", "/users", {}, 405,
     {"error": "method_not_allowed"}, {"allow": "GET, POST"}),
    ("nothing at the path", "GET", "/nothing", None, 404, {"error": "not_found"}, {}),
]


def call(world: AdminWorld, method: str, path: str, body: Any = None, token: str | None = None) -> httpx.Response:
    return httpx.request(method, f"{world.api}{path}", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {token or world.root_token}"})


def test_every_error_has_the_one_shape_and_a_stable_code(admin_world: AdminWorld) -> None:
    for case, method, path, body, status, expected, headers in ERRORS:
        response = call(admin_world, method, path, body)
        assert response.status_code == status, f"{case}: {response.status_code} {response.text}"
        data = response.json()
        assert set(data) <= {"error", "error_description", "field"} and data["error_description"], case
        assert expected.items() <= data.items(), f"{case}: {data}"
        assert headers.items() <= {k.lower(): v for k, v in response.headers.items()}.items(), case
    malformed = httpx.post(f"{admin_world.api}/users", content=b'{"username": ', timeout=30, headers={
        "Authorization": f"Bearer {admin_world.root_token}", "Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["error"] == "invalid_request"


def test_the_cli_reports_the_same_codes_and_the_same_json(admin_world: AdminWorld) -> None:
    created = call(admin_world, "POST", "/users", {"username": "abe", "email": "abe@example.com"})
    assert created.status_code == 201
    settings = admin_world.server.services.settings  # type: ignore[attr-defined]
    cli = cli_in_process({"AUTHGATE_DATABASE_URL": settings.resolved_database_url,
                          "AUTHGATE_MASTER_KEY": TEST_MASTER_KEY, "AUTHGATE_DATA_DIR": str(settings.data_dir)})
    assert json.loads(cli("user", "show", "abe", "--json").stdout) == call(admin_world, "GET", "/users/abe").json()
    taken = cli("user", "add", "abe", check=False)
    assert taken.returncode == 1 and "(already_exists)" in taken.stderr
    assert call(admin_world, "POST", "/users", {"username": "abe"}).json()["error"] == "already_exists"


def test_every_change_is_audited_with_who_made_it(admin_world: AdminWorld) -> None:
    apply(admin_world.server, """
clients:
  - client_id: ops-bot
    type: confidential
    client_secret: ops-bot-secret-0123456789abcdef0123456789
    grant_types: [client_credentials]
    default_audience: authgate-admin
    permissions: {authgate-admin: [roles:write, audit:read]}
""")
    assert call(admin_world, "POST", "/roles", {"name": "by-a-person"}).status_code == 201
    token = httpx.post(f"{admin_world.url}/oauth/token", data={"grant_type": "client_credentials"},
                       auth=("ops-bot", "ops-bot-secret-0123456789abcdef0123456789")).json()["access_token"]
    assert call(admin_world, "POST", "/roles", {"name": "by-a-machine"}, token=token).status_code == 201
    events = call(admin_world, "GET", "/audit?type=admin.change").json()["items"]
    actors = {event["subject"]: event["actor"] for event in events if event["detail"]["change"] == "role.created"}
    assert actors["by-a-person"] == "user:root"
    assert actors["by-a-machine"] == "client:ops-bot"


def test_a_disabled_admin_is_refused_at_once_even_with_a_live_token(admin_world: AdminWorld) -> None:
    apply(admin_world.server, f"users:\n  - username: deputy\n    password: {ROOT_PASSWORD}\n    roles: [admin]\n")
    deputy = password_token(admin_world.url, "deputy", ROOT_PASSWORD)
    assert call(admin_world, "GET", "/users", token=deputy).status_code == 200
    assert call(admin_world, "POST", "/users/deputy/disable").status_code == 200
    refused = call(admin_world, "GET", "/users", token=deputy)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"


def test_sessions_can_be_listed_and_ended_with_their_refresh_tokens(admin_world: AdminWorld) -> None:
    services: Services = admin_world.server.services  # type: ignore[attr-defined]
    apply(admin_world.server, "users:\n  - username: sam\n")
    with services.reader() as realm:
        sam = realm.users.get("sam").id
    browser = BrowserSessions(services)
    _, first = browser.start(sam, amr=("pwd",), ip="203.0.113.7", user_agent="Firefox")
    _, second = browser.start(sam, amr=("pwd",), ip="198.51.100.2", user_agent="Safari")
    with services.database.transaction() as session:
        grant = RefreshGrant(
            client_id="authgate-console", user_id=sam, audience=None, scope=("openid",), session_id=first
        )
        services.oauth2.refresh_tokens.issue(session, grant)
    listed = call(admin_world, "GET", "/users/sam/sessions").json()
    assert {(s["sid"], s["ip"]) for s in listed} == {(first, "203.0.113.7"), (second, "198.51.100.2")}
    assert call(admin_world, "DELETE", f"/users/sam/sessions/{first}").status_code == 204
    assert [s["sid"] for s in call(admin_world, "GET", "/users/sam/sessions").json()] == [second]
    with services.reader() as realm:
        assert all(row.revoked_at is not None for row in realm.session.query(RefreshToken).filter_by(session_id=first))
    assert call(admin_world, "DELETE", f"/users/sam/sessions/{first}").status_code == 404
    assert call(admin_world, "DELETE", "/users/sam/sessions").status_code == 204
    assert call(admin_world, "GET", "/users/sam/sessions").json() == []


def test_consents_can_be_listed_and_revoked(admin_world: AdminWorld) -> None:
    services: Services = admin_world.server.services  # type: ignore[attr-defined]
    apply(admin_world.server, """
users:
  - username: tess
clients:
  - client_id: partner-app
    type: public
    first_party: false
    redirect_uris: [http://127.0.0.1:7000/cb]
""")
    with services.reader() as realm:
        tess = realm.users.get("tess").id
    consents.grant(services, tess, "partner-app", ["openid", "profile"])
    listed = call(admin_world, "GET", "/users/tess/consents").json()
    assert [(c["client_id"], c["scope"]) for c in listed] == [("partner-app", ["openid", "profile"])]
    assert call(admin_world, "DELETE", "/users/tess/consents/partner-app").status_code == 204
    assert call(admin_world, "GET", "/users/tess/consents").json() == []
    assert call(admin_world, "DELETE", "/users/tess/consents/partner-app").status_code == 404


def test_unlock_lifts_a_brute_force_lock(admin_world: AdminWorld) -> None:
    services: Services = admin_world.server.services  # type: ignore[attr-defined]
    apply(admin_world.server, "users:\n  - username: locked-out\n")
    account = account_key("locked-out")
    for _ in range(12):
        services.throttle.failed(account, "192.0.2.1")
    assert services.throttle.retry_after(account, "192.0.2.1") > 60
    unlocked = call(admin_world, "POST", "/users/locked-out/unlock")
    assert unlocked.status_code == 200 and unlocked.json()["cleared"] >= 1
    assert services.throttle.retry_after(account, "192.0.2.1") == 0
    event = call(admin_world, "GET", "/audit?type=account.unlocked").json()["items"][0]
    assert (event["actor"], event["subject"]) == ("user:root", "locked-out")


def test_without_the_database_the_api_answers_503_and_says_when_to_retry(make_settings: Any) -> None:
    settings = make_settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none")
    from authgate.web.app import create_app

    server = LiveServer(create_app(services=Services(settings)), free_port()).start()
    try:
        forged = jwt.encode({"sub": "1"}, "k" * 32, algorithm="HS256", headers={"typ": "at+jwt", "kid": "some-key"})
        response = httpx.get(f"{server.url}/admin/api/users", headers={"Authorization": f"Bearer {forged}"}, timeout=30)
        assert response.status_code == 503
        assert response.json()["error"] == "temporarily_unavailable" and response.headers["retry-after"]
    finally:
        server.stop()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_document_is_served_with_the_mount_as_its_server(admin_world: AdminWorld) -> None:
    document = httpx.get(f"{admin_world.api}/openapi.json").json()
    assert document["servers"] == [{"url": "/admin/api"}]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
