"""Passkeys over HTTP, on both databases, with a software authenticator that can be told to lie.

Happy paths (register, sign in alone, amr), then every refusal the ceremony
owes: a replayed answer, another origin, another RP ID, an unknown
credential, a counter going backwards, an expired challenge or one handed to
another browser, malformed bodies — each a 4xx JSON answer, nothing stored,
no session. Also the login rules (disabled account, throttle) and the account
page (rename, removal behind re-authentication).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from authgate import audit, bootstrap
from authgate.accounts import passkeys as passkeys_module
from authgate.clock import utcnow
from authgate.services import Services
from authgate.settings import Settings
from authgate.storage.models import AuditEvent, BrowserSession, Passkey, PasskeyChallenge, User
from authgate.web.app import create_app
from soft_authenticator import SoftAuthenticator, b64url
from testkit import Forwarder, empty_postgres, free_port

ISSUER = "http://localhost:8000"
PASSWORD = "pour-over-gooseneck-kettle-6060"  # TEST FIXTURE ONLY


@pytest.fixture
def services(make_settings: Callable[..., Settings], database_url: str, request: pytest.FixtureRequest) \
        -> Iterator[Services]:
    overrides = getattr(request, "param", {})  # more settings, through indirect parametrization
    services = Services(make_settings(database_url=database_url, issuer=ISSUER, lockout_pair_threshold=2,
                                      lockout_base_delay=30, **overrides))
    bootstrap.prepare(services)
    with services.realm(actor="test") as realm:
        realm.users.create("ada", password=PASSWORD, email="ada@example.com", email_verified=True)
    yield services
    services.database.dispose()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services), base_url=ISSUER, follow_redirects=False) as client:
        yield client


def csrf_token(client: TestClient, path: str = "/login") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, path
    return match.group(1)


def post_json(client: TestClient, path: str, body: Any, token: str) -> Any:
    return client.post(path, json=body, headers={"X-CSRF-Token": token})


def log_in_with_password(client: TestClient) -> None:
    token = csrf_token(client)
    response = client.post("/login", data={"csrf_token": token, "username": "ada", "password": PASSWORD,
                                           "return_to": "/account"})
    assert response.status_code == 303


def log_in_with_password_and_passkey(client: TestClient, authenticator: SoftAuthenticator) -> Any:
    """The password, then (ada has a second factor now) the passkey on the code page: the real MFA step."""
    token = csrf_token(client)
    response = client.post("/login", data={"csrf_token": token, "username": "ada", "password": PASSWORD,
                                           "return_to": "/account"})
    assert response.status_code == 303 and response.headers["location"] == "/login/factor"
    page = client.get("/login/factor").text
    assert 'id="passkey-second-factor"' in page and "/static/passkeys.js" in page
    token = csrf_token(client, "/login/factor")
    options = post_json(client, "/login/passkey/second-factor/options", {}, token).json()
    assert [allowed["id"] for allowed in options["allowCredentials"]] == [b64url(authenticator.credential_id)]
    return post_json(client, "/login/passkey/second-factor/verify", {"credential": authenticator.get(options)}, token)


def register(client: TestClient, authenticator: SoftAuthenticator, name: str = "Laptop") -> Any:
    token = csrf_token(client, "/account/passkeys")
    options = post_json(client, "/account/passkeys/options", {}, token).json()
    return post_json(client, "/account/passkeys/register", {"credential": authenticator.create(options), "name": name},
                     token)


@pytest.fixture
def authenticator(client: TestClient) -> SoftAuthenticator:
    """ada's registered passkey; the client is signed out again."""
    authenticator = SoftAuthenticator(rp_id="localhost", origin=ISSUER)
    log_in_with_password(client)
    assert register(client, authenticator).status_code == 201
    client.cookies.clear()
    return authenticator


def login_options(client: TestClient) -> tuple[str, dict[str, Any]]:
    token = csrf_token(client)
    return token, post_json(client, "/login/passkey/options", {}, token).json()


def sessions(services: Services) -> list[list[str]]:
    with services.database.reader() as session:
        return [row.amr for row in session.scalars(select(BrowserSession))]


def refusals(services: Services) -> list[str]:
    with services.database.reader() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.type == audit.PASSKEY_REFUSED)).all()
        return [event.detail["reason"] for event in events]


def test_registration_stores_the_passkey_and_its_options_require_a_resident_key_and_verification(
        client: TestClient, services: Services) -> None:
    log_in_with_password(client)
    token = csrf_token(client, "/account/passkeys")
    options = post_json(client, "/account/passkeys/options", {}, token).json()
    assert options["rp"]["id"] == "localhost"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    with services.database.reader() as session:
        subject = session.scalar(select(BrowserSession.user_id))
    assert options["user"]["id"] != b64url(str(subject).encode())  # the opaque subject, not the row id
    authenticator = SoftAuthenticator(rp_id="localhost", origin=ISSUER, synced=True)
    answer = post_json(client, "/account/passkeys/register", {"credential": authenticator.create(options),
                                                              "name": "Phone"}, token)
    assert answer.status_code == 201 and answer.json()["name"] == "Phone"
    with services.database.reader() as session:
        stored = session.scalars(select(Passkey)).one()
        assert stored.credential_id == authenticator.credential_id and stored.backup_eligible
        assert stored.transports == ["internal"]
    assert "Phone" in client.get("/account/passkeys").text
    # The same options answered twice: the challenge is gone.
    again = post_json(client, "/account/passkeys/register", {"credential": authenticator.create(options),
                                                             "name": "Phone"}, token)
    assert again.status_code == 400 and again.json()["error"] == "passkey_refused"


def test_sign_in_with_a_passkey_alone_starts_a_session_with_its_amr(
        client: TestClient, services: Services, authenticator: SoftAuthenticator) -> None:
    token, options = login_options(client)
    assert options["allowCredentials"] == [] and options["userVerification"] == "required"
    answer = post_json(client, "/login/passkey/verify", {"credential": authenticator.get(options),
                                                         "return_to": "/authorize?client_id=x&scope=openid"}, token)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"redirect": "/authorize?client_id=x&scope=openid"}
    assert sessions(services)[-1] == ["hwk", "user", "mfa"]
    assert client.get("/account").status_code == 200
    with services.database.reader() as session:
        assert session.scalars(select(Passkey)).one().sign_count == 1
        assert session.scalar(select(func.count()).select_from(PasskeyChallenge)) == 0


def test_a_synced_passkey_is_a_software_key(client: TestClient, services: Services) -> None:
    synced = SoftAuthenticator(rp_id="localhost", origin=ISSUER, synced=True)
    log_in_with_password(client)
    assert register(client, synced).status_code == 201
    client.cookies.clear()
    token, options = login_options(client)
    assert post_json(client, "/login/passkey/verify", {"credential": synced.get(options)}, token).status_code == 200
    assert sessions(services)[-1] == ["swk", "user", "mfa"]


LIES: list[Any] = [
    pytest.param({"origin": "http://evil.example:8000"}, "origin", id="another-origin"),
    pytest.param({"rp_id": "evil.example"}, "RP ID", id="another-rp-id"),
    pytest.param({"origin": ISSUER + "\x00"}, "origin", id="nul-in-origin"),
    pytest.param({"verified": False}, "User verification", id="no-user-verification"),
]


@pytest.mark.parametrize(("lie", "reason"), LIES)
def test_an_answer_for_another_origin_or_rp_id_is_refused(
        client: TestClient, services: Services, authenticator: SoftAuthenticator, lie: dict[str, Any],
        reason: str) -> None:
    token, options = login_options(client)
    answer = post_json(client, "/login/passkey/verify", {"credential": authenticator.get(options, **lie)}, token)
    assert answer.status_code == 400 and answer.json()["error"] == "passkey_refused"
    assert sessions(services) == [["pwd"]]  # the password login of the fixture only
    assert reason in refusals(services)[-1]


def test_a_replayed_answer_is_refused(client: TestClient, services: Services,
                                      authenticator: SoftAuthenticator) -> None:
    token, options = login_options(client)
    credential = authenticator.get(options)
    assert post_json(client, "/login/passkey/verify", {"credential": credential}, token).status_code == 200
    token = csrf_token(client)
    replayed = post_json(client, "/login/passkey/verify", {"credential": credential}, token)
    assert replayed.status_code == 400 and "already used" in replayed.json()["error_description"]
    assert len(sessions(services)) == 2  # the fixture's password login, and one passkey login


def test_a_challenge_is_bound_to_the_browser_it_was_handed_to(
        client: TestClient, services: Services, authenticator: SoftAuthenticator) -> None:
    _token, options = login_options(client)
    credential = authenticator.get(options)
    with TestClient(create_app(services=services), base_url=ISSUER) as other_browser:
        token = csrf_token(other_browser)
        stolen = post_json(other_browser, "/login/passkey/verify", {"credential": credential}, token)
    assert stolen.status_code == 400 and len(sessions(services)) == 1


def test_an_expired_challenge_is_refused(client: TestClient, services: Services, authenticator: SoftAuthenticator,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    token, options = login_options(client)
    later = utcnow() + passkeys_module.CHALLENGE_TTL + timedelta(seconds=1)
    monkeypatch.setattr(passkeys_module, "utcnow", lambda: later)
    answer = post_json(client, "/login/passkey/verify", {"credential": authenticator.get(options)}, token)
    assert answer.status_code == 400 and len(sessions(services)) == 1


def test_an_unknown_credential_is_refused(client: TestClient, services: Services,
                                          authenticator: SoftAuthenticator) -> None:
    stranger = SoftAuthenticator(rp_id="localhost", origin=ISSUER, user_handle=authenticator.user_handle)
    token, options = login_options(client)
    answer = post_json(client, "/login/passkey/verify", {"credential": stranger.get(options)}, token)
    assert answer.status_code == 400 and refusals(services) == ["unknown credential"]
    assert len(sessions(services)) == 1


def test_a_counter_going_backwards_is_refused_and_audited(
        client: TestClient, services: Services, authenticator: SoftAuthenticator) -> None:
    token, options = login_options(client)
    assert post_json(client, "/login/passkey/verify", {"credential": authenticator.get(options, counter=5)},
                     token).status_code == 200
    client.cookies.clear()
    token, options = login_options(client)
    cloned = post_json(client, "/login/passkey/verify", {"credential": authenticator.get(options, counter=3)}, token)
    assert cloned.status_code == 400
    assert "sign count" in refusals(services)[-1]
    with services.database.reader() as session:
        assert session.scalars(select(Passkey)).one().sign_count == 5
    assert len(sessions(services)) == 2


def test_a_disabled_account_cannot_sign_in_with_its_passkey(
        client: TestClient, services: Services, authenticator: SoftAuthenticator) -> None:
    with services.realm(actor="test") as realm:
        realm.users.update("ada", disabled=True)
    token, options = login_options(client)
    answer = post_json(client, "/login/passkey/verify", {"credential": authenticator.get(options)}, token)
    assert answer.status_code == 403 and answer.json()["error"] == "login_refused"
    assert sessions(services) == [["pwd"]]  # the fixture's password login only


@pytest.mark.parametrize("services", [{"login_requires_verified_email": True}], indirect=True)
def test_an_unconfirmed_address_stops_a_passkey_sign_in_as_it_stops_a_password(
        client: TestClient, services: Services, authenticator: SoftAuthenticator) -> None:
    with services.database.transaction() as session:
        session.execute(update(User).values(email_verified=False))  # a new address, not confirmed yet
    token, options = login_options(client)
    answer = post_json(client, "/login/passkey/verify", {"credential": authenticator.get(options)}, token)
    assert answer.status_code == 403 and answer.json()["error"] == "email_unverified"
    assert sessions(services) == [["pwd"]]


def test_failed_assertions_count_in_the_login_throttle(
        client: TestClient, services: Services, authenticator: SoftAuthenticator) -> None:
    for _ in range(2):  # lockout_pair_threshold = 2: the second failure locks ada from this address
        token, options = login_options(client)
        bad = authenticator.get(options, origin="http://evil.example")
        assert post_json(client, "/login/passkey/verify", {"credential": bad}, token).status_code == 400
    token, options = login_options(client)
    locked = post_json(client, "/login/passkey/verify", {"credential": authenticator.get(options)}, token)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert len(sessions(services)) == 1


MALFORMED: list[Any] = [
    pytest.param(b"not json", "application/json", 400, id="not-json"),
    pytest.param(b"\xff\xfe{}", "application/json", 400, id="invalid-utf8"),
    pytest.param(b"[1, 2]", "application/json", 400, id="json-array"),
    pytest.param(b"{}", "text/plain", 415, id="not-json-content-type"),
    pytest.param(b'{"credential": "x"}', "application/json", 400, id="credential-not-object"),
    pytest.param(b'{"credential": {"id": "a", "rawId": "a", "response": {}}}', "application/json", 400,
                 id="credential-incomplete"),
    pytest.param(b'{"credential": {"id": "%%", "rawId": "%%", "type": "public-key", "response": {"clientDataJSON":'
                 b' "%%", "authenticatorData": "%%", "signature": "%%"}}}', "application/json", 400, id="bad-base64"),
    pytest.param(b'{"credential": {}, "return_to": "/account\\u0000"}', "application/json", 400, id="nul-byte"),
    pytest.param(b'{"credential": {}, "return_to": "' + b"a" * 70_000 + b'"}', "application/json", 413,
                 id="over-long"),
]


@pytest.mark.parametrize(("body", "content_type", "status"), MALFORMED)
def test_malformed_answers_get_a_json_refusal(client: TestClient, services: Services, body: bytes,
                                              content_type: str, status: int) -> None:
    token, _options = login_options(client)
    answer = client.post("/login/passkey/verify", content=body,
                         headers={"X-CSRF-Token": token, "Content-Type": content_type})
    assert answer.status_code == status and answer.json()["error"]
    assert sessions(services) == []


def test_malformed_registrations_store_nothing(client: TestClient, services: Services) -> None:
    log_in_with_password(client)
    token = csrf_token(client, "/account/passkeys")
    authenticator = SoftAuthenticator(rp_id="localhost", origin=ISSUER)
    for name, status in (("Lap\x00top", 400), ("x" * 101, 400), ("", 400)):
        options = post_json(client, "/account/passkeys/options", {}, token).json()
        answer = post_json(client, "/account/passkeys/register",
                           {"credential": authenticator.create(options), "name": name}, token)
        assert answer.status_code == status and answer.json()["error"] == "invalid_request", name
    options = post_json(client, "/account/passkeys/options", {}, token).json()
    foreign = authenticator.create(options, origin="https://evil.example")
    refused = post_json(client, "/account/passkeys/register", {"credential": foreign, "name": "x"}, token)
    assert refused.status_code == 400
    with services.database.reader() as session:
        assert session.scalar(select(func.count()).select_from(Passkey)) == 0


def test_ceremonies_need_this_browsers_csrf_token_and_registration_a_session(client: TestClient) -> None:
    csrf_token(client)
    assert post_json(client, "/login/passkey/options", {}, "forged").status_code == 403
    assert client.post("/login/passkey/options", json={}).status_code == 403
    token = csrf_token(client)
    assert post_json(client, "/account/passkeys/options", {}, token).status_code == 401


def test_the_second_factor_endpoints_refuse_without_a_pending_login(client: TestClient) -> None:
    token = csrf_token(client)
    for path in ("/login/passkey/second-factor/options", "/login/passkey/second-factor/verify"):
        answer = post_json(client, path, {"credential": {}}, token)
        assert answer.status_code == 401 and answer.json()["error"] == "no_pending_login"


def test_rename_and_remove_behind_re_authentication(
        client: TestClient, services: Services, authenticator: SoftAuthenticator) -> None:
    assert log_in_with_password_and_passkey(client, authenticator).status_code == 200
    with services.database.reader() as session:
        passkey_id = session.scalar(select(Passkey.id))
    token = csrf_token(client, "/account/passkeys")
    renamed = client.post("/account/passkeys/rename", data={"csrf_token": token, "passkey_id": passkey_id,
                                                            "name": "Old laptop"})
    assert renamed.status_code == 303 and "Old laptop" in client.get("/account/passkeys").text
    # The sign-in is no longer recent: removal needs the password.
    with services.database.transaction() as session:
        session.execute(update(BrowserSession).values(auth_time=utcnow() - timedelta(minutes=10)))
    page = client.get("/account/passkeys").text
    assert 'name="current_password"' in page
    token = csrf_token(client, "/account/passkeys")
    wrong = client.post("/account/passkeys/remove", data={"csrf_token": token, "passkey_id": passkey_id,
                                                          "current_password": "not-it"})
    assert wrong.status_code == 400 and "password is incorrect" in wrong.text
    for beyond, status in (("2147483648", 400), ("2147483647", 404), ("-1", 400), ("1e3", 400)):
        other = client.post("/account/passkeys/remove", data={"csrf_token": token, "passkey_id": beyond,
                                                              "current_password": PASSWORD})
        assert other.status_code == status, beyond  # beyond the column, or nobody's
    removed = client.post("/account/passkeys/remove", data={"csrf_token": token, "passkey_id": passkey_id,
                                                            "current_password": PASSWORD})
    assert removed.status_code == 303
    with services.database.reader() as session:
        assert session.scalar(select(func.count()).select_from(Passkey)) == 0
        passkey_events = select(AuditEvent.type).where(AuditEvent.type.like("passkey.%")).order_by(AuditEvent.id)
        assert session.scalars(passkey_events).all() == [
            audit.PASSKEY_REGISTERED, audit.PASSKEY_USED, audit.PASSKEY_RENAMED, audit.PASSKEY_REMOVED]


def test_a_passkey_completes_the_pending_login_as_its_second_factor(
        client: TestClient, services: Services, authenticator: SoftAuthenticator) -> None:
    """After the password, ada (who has a passkey, so a second factor) gets no session until her passkey
    answers the second-factor challenge; the session then records both (RFC 8176)."""
    before = sessions(services)  # the registration's own password session, signed out of this browser
    token = csrf_token(client)
    assert client.post("/login", data={"csrf_token": token, "username": "ada", "password": PASSWORD,
                                       "return_to": "/account"}).headers["location"] == "/login/factor"
    assert sessions(services) == before, "no session before the second factor"
    token, login = login_options(client)
    second = post_json(client, "/login/passkey/second-factor/options", {}, token).json()
    # An answer to a sign-in challenge is no second factor: challenges are bound to their purpose.
    wrong_purpose = post_json(client, "/login/passkey/second-factor/verify", {"credential": authenticator.get(login)},
                              token)
    assert wrong_purpose.status_code == 400 and sessions(services) == before
    answer = post_json(client, "/login/passkey/second-factor/verify", {"credential": authenticator.get(second)}, token)
    assert answer.status_code == 200 and answer.json() == {"redirect": "/account"}
    assert [sorted(amr) for amr in sessions(services)] == [*before, sorted(["pwd", "hwk", "user", "mfa"])]
    assert client.get("/account").status_code == 200
    # The pending login was used up: the same answer again starts nothing.
    again = post_json(client, "/login/passkey/second-factor/verify", {"credential": authenticator.get(second)}, token)
    assert again.status_code in (400, 401, 403) and len(sessions(services)) == len(before) + 1


def test_the_ceremonies_answer_503_while_the_database_is_down_and_recover_by_themselves(
        pg_database: str, make_settings: Callable[..., Settings]) -> None:
    """PostgreSQL through a TCP forwarder that is closed (nothing listening), then opened."""
    empty_postgres(pg_database)
    direct = Services(make_settings(database_url=pg_database, issuer=ISSUER))
    bootstrap.prepare(direct)
    direct.database.dispose()
    forwarder = Forwarder(free_port())
    services = Services(make_settings(database_url=pg_database.replace("127.0.0.1:5432",
                                                                       f"127.0.0.1:{forwarder.port}"), issuer=ISSUER))
    try:
        with TestClient(create_app(services=services), base_url=ISSUER) as client:
            forwarder.open()
            token = csrf_token(client)  # the login page lists the identity providers: it reads the database
            forwarder.cut()
            down = post_json(client, "/login/passkey/options", {}, token)
            assert down.status_code == 503 and down.json()["error"] == "temporarily_unavailable"
            forwarder.open()
            assert post_json(client, "/login/passkey/options", {}, token).status_code == 200
    finally:
        forwarder.cut()
        services.database.dispose()
