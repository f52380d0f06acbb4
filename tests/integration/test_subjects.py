"""Subjects: a user's `sub` is stable and unguessable; no client can ever carry a user's `sub`.

RFC 9068 §5, on SQLite and PostgreSQL: the domain refuses client_ids shaped like a user subject
(admin API 422, CLI one line, `apply` naming the entry); a client created before that rule carries
`client/<id>`; new users' subjects are random UUID4s; one user's `sub` is the same in every token
and answer about them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update
from starlette.testclient import TestClient
from test_admin_support import ADMIN_API, ROOT_PASSWORD, AdminWorld, admin_world  # noqa: F401 (admin_world: a fixture)
from test_cli import authgate  # noqa: F401 (a fixture)
from test_token_world import BACKOFFICE_SECRET, PASSWORD, REPORT_SECRET, claims_of, load_world

from authgate import tokens
from authgate.errors import InvalidInput
from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import RealmFileError, parse_realm
from authgate.services import Services
from authgate.storage.models import Client, User
from authgate.subjects import client_subject, has_user_subject_shape
from authgate.web.app import create_app

# TEST FIXTURE ONLY: the secret of a client written as a 0002 server would have.
LEGACY_SECRET = "legacy-client-secret-0123456789abcdefghij"
A_UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"

USER_SHAPED = [
    pytest.param("2", id="digits (a legacy user sub)"),
    pytest.param("0002", id="digits with leading zeros"),
    pytest.param("18446744073709551617", id="a number past 64 bits"),
    pytest.param(A_UUID, id="uuid"),
    pytest.param(A_UUID.upper(), id="uuid in capitals"),
    pytest.param(A_UUID.replace("-", ""), id="uuid without hyphens"),
    pytest.param(f"urn:uuid:{A_UUID}", id="uuid as a URN"),
]
NOT_USER_SHAPED = [
    pytest.param("nightly-report", id="a name"),
    pytest.param("2a", id="digits and a letter"),
    pytest.param("client-2", id="a prefixed number"),
    pytest.param(A_UUID + "0", id="uuid plus one digit"),
    pytest.param(A_UUID.replace("0f8f", "0g8f"), id="uuid with a non-hex letter"),
]


@pytest.mark.parametrize("client_id", USER_SHAPED)
def test_a_client_id_shaped_like_a_user_subject_is_refused(services, client_id):
    from authgate.access.clients import ClientSpec

    with pytest.raises(InvalidInput) as refused, services.realm(actor="test") as realm:
        realm.clients.create(ClientSpec(client_id=client_id, grant_types=["client_credentials"]))
    assert refused.value.field == "client_id" and "UUID" in refused.value.message
    with services.reader() as realm:
        assert realm.clients.find(client_id) is None, "nothing written"


@pytest.mark.parametrize("client_id", NOT_USER_SHAPED)
def test_other_client_ids_are_their_own_subject(client_id):
    assert not has_user_subject_shape(client_id) and client_subject(client_id) == client_id


@pytest.mark.parametrize("client_id", USER_SHAPED)
def test_an_older_client_shaped_like_a_user_gets_a_subject_no_user_and_no_client_id_can_have(
    client_id,
):
    subject = client_subject(client_id)
    assert subject == f"client/{client_id}" and not has_user_subject_shape(subject)


def test_apply_names_the_entry(services):
    text = (
        "clients:\n  - client_id: ok-client\n    grant_types: [client_credentials]\n"
        "  - client_id: '2'\n    grant_types: [client_credentials]\n"
    )
    with pytest.raises(RealmFileError) as refused, services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(text, source="realm.yaml"))
    message = str(refused.value)
    assert "clients[1] (line 4)" in message and "client_id" in message and "UUID" in message
    with services.reader() as realm:
        assert realm.clients.find("ok-client") is None, "all of the file or nothing"


def test_the_cli_says_why_in_one_line(authgate):
    authgate("init", "--json")
    refused = authgate("client", "add", A_UUID, "--grant-type", "client_credentials", check=False)
    assert refused.returncode == 1
    assert (
        refused.stderr.strip().count("\n") == 0
        and "client_id" in refused.stderr
        and "(invalid_input)" in refused.stderr
    )


def test_the_admin_api_answers_422_and_shows_subjects(admin_world: AdminWorld):
    """POST /clients with client "2" is refused; GET /users/{name} shows the user's subject."""
    with admin_world.client(admin_world.root_token) as api:
        refused = api.post(
            "/clients", json={"client_id": "2", "grant_types": ["client_credentials"]}
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "invalid_input" and refused.json()["field"] == "client_id"
        root = api.get("/users/root").json()
    assert uuid.UUID(root["subject"]).version == 4 and root["subject"] != str(root["id"])


def test_new_users_get_random_uuid4_subjects_on_every_path(services):
    imported = "\n".join(
        f"  - username: imported{n}" for n in range(10)
    )  # bulk INSERT: no password to hash
    with services.realm(actor="test") as realm:
        apply_realm(
            realm,
            parse_realm(f"users:\n{imported}\n  - username: hashed\n    password: '{PASSWORD}'\n"),
        )
        realm.users.create("made-by-hand")
    with services.reader() as realm:
        rows = realm.session.execute(select(User.id, User.subject)).all()
    assert len(rows) == 12
    subjects = [uuid.UUID(subject) for _, subject in rows]
    assert all(subject.version == 4 for subject in subjects)
    assert len(set(subjects)) == 12 and all(
        str(subject) != str(user_id) for (user_id, _), subject in zip(rows, subjects, strict=True)
    )


@pytest.fixture
def world(services: Services) -> Iterator[TestClient]:
    load_world(services)
    with TestClient(create_app(services=services)) as client:
        yield client


def _form(client: TestClient, path: str, data: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    response = client.post(path, data=data, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_one_user_one_sub_in_every_token_and_answer(services, world):
    backoffice = ("backoffice", BACKOFFICE_SECRET)
    login = _form(
        world,
        "/oauth/token",
        {
            "grant_type": "password",
            "username": "barista",
            "password": PASSWORD,
            "scope": "openid profile get:drinks",
        },
        auth=backoffice,
    )
    with services.reader() as realm:
        subject = realm.users.get("barista").subject
    assert uuid.UUID(subject).version == 4
    assert claims_of(login["access_token"])["sub"] == subject
    refreshed = _form(
        world,
        "/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": login["refresh_token"]},
        auth=backoffice,
    )
    assert claims_of(refreshed["access_token"])["sub"] == subject
    assert claims_of(refreshed["id_token"])["sub"] == subject, "OIDC Core §12.2: the same sub"
    userinfo = world.get(
        "/userinfo", headers={"Authorization": f"Bearer {refreshed['access_token']}"}
    )
    assert userinfo.status_code == 200 and userinfo.json()["sub"] == subject
    assert userinfo.json()["preferred_username"] == "barista"
    about_access = _form(
        world,
        "/oauth/introspect",
        {"token": refreshed["access_token"]},
        auth=("nightly-report", REPORT_SECRET),
    )
    assert (about_access["sub"], about_access["username"]) == (subject, "barista")
    about_refresh = _form(
        world, "/oauth/introspect", {"token": refreshed["refresh_token"]}, auth=backoffice
    )
    assert (about_refresh["sub"], about_refresh["username"]) == (subject, "barista")


def test_a_client_named_like_a_users_sub_never_carries_it(services, world):
    """The exact case: user barista's sub is "2" (from before 0003), and a client "2" exists
    (written before the rule)."""
    with services.database.transaction() as session:
        session.execute(update(User).where(User.username == "barista").values(subject="2"))
        session.execute(
            insert(Client).values(
                client_id="2",
                type="confidential",
                secret_hash=tokens.digest(LEGACY_SECRET),
                redirect_uris=[],
                post_logout_redirect_uris=[],
                web_origins=[],
                grant_types=["client_credentials"],
                first_party=True,
                default_audience="https://coffee.example/api",
                disabled=False,
            )
        )
    user_token = _form(
        world,
        "/oauth/token",
        {
            "grant_type": "password",
            "client_id": "coffee-app",
            "username": "barista",
            "password": PASSWORD,
        },
    )
    assert claims_of(user_token["access_token"])["sub"] == "2", (
        "the user keeps the sub their tokens carry"
    )
    machine = _form(
        world, "/oauth/token", {"grant_type": "client_credentials"}, auth=("2", LEGACY_SECRET)
    )
    claims = claims_of(machine["access_token"])
    assert (claims["sub"], claims["client_id"]) == ("client/2", "2")
    about = _form(
        world, "/oauth/introspect", {"token": machine["access_token"]}, auth=("2", LEGACY_SECRET)
    )
    assert about["sub"] == "client/2" and "username" not in about, "not taken for barista"


def test_the_admin_api_never_takes_a_user_for_a_client_of_the_same_name(admin_world: AdminWorld):
    """root's sub is "2" (from before 0003) and root signs in through a client "2": still root."""
    services = admin_world.server.services  # type: ignore[attr-defined]
    with services.database.transaction() as session:
        session.execute(update(User).where(User.username == "root").values(subject="2"))
        session.execute(
            insert(Client).values(
                client_id="2",
                type="public",
                grant_types=["password"],
                default_audience=ADMIN_API,
                redirect_uris=[],
                post_logout_redirect_uris=[],
                web_origins=[],
                first_party=True,
                disabled=False,
            )
        )
    issued = httpx.post(
        f"{admin_world.url}/oauth/token",
        timeout=30,
        data={
            "grant_type": "password",
            "client_id": "2",
            "username": "root",
            "password": ROOT_PASSWORD,
        },
    )
    assert issued.status_code == 200, issued.text
    access_token = issued.json()["access_token"]
    assert (claims_of(access_token)["sub"], claims_of(access_token)["client_id"]) == ("2", "2")
    with admin_world.client(access_token) as api:
        refused = api.post("/users/root/disable")
    assert refused.status_code == 409 and refused.json()["error"] == "conflict", (
        "root may not disable root"
    )
