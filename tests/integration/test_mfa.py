"""Second factors end to end over real HTTP, on SQLite and PostgreSQL: the login's second step, amr/acr in every
token of a login (first and refreshed), step-up with acr_values, max_age, the password grant refusing, throttling,
replays and bad input (a clear refusal, never a 500)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pyotp
import pytest
from oidc_client.flow import SPA_REDIRECT, BrowserLike, Flow, hidden_fields, query_of
from oidc_client.servers import serve_world
from sqlalchemy import select

from authgate import audit
from authgate.access.clients import ClientSpec
from authgate.accounts import factor_admin, factors, recovery_codes
from authgate.storage.models import AuditEvent, BrowserSession, TotpFactor, User

pytestmark = pytest.mark.xdist_group("test_mfa")

PASSWORD = "quiet-harbour-lantern-8841"  # TEST FIXTURE ONLY
ACR_MFA, ACR_PASSWORD = "urn:authgate:acr:mfa", "urn:authgate:acr:password"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # Three wrong codes for one account from one address lock the pair for 60 s.
    yield from serve_world(request, tmp_path_factory.mktemp("mfa"), lockout_pair_threshold=3, lockout_base_delay=60)


@pytest.fixture
def browser(live_server: Any) -> Iterator[BrowserLike]:
    client = BrowserLike(live_server.url)
    yield client
    client.close()


def new_user(server: Any, *, roles: tuple[str, ...] = ("barista",)) -> str:
    name = "u" + secrets.token_hex(5)
    with server.services.realm(actor="test") as realm:
        realm.users.create(name, password=PASSWORD, roles=list(roles))
    return name


def give_totp(server: Any, username: str) -> pyotp.TOTP:
    """An authenticator app set up for the user (as enrolment leaves it, no code used yet); its TOTP."""
    secret = pyotp.random_base32()
    services = server.services
    with services.database.transaction() as session:
        user_id = session.scalars(select(User.id).where(User.username == username)).one()
        created_at = session.scalars(select(User.created_at).where(User.id == user_id)).one()
        sealed = services.factor_secrets.seal_totp(user_id, secret)
        session.add(TotpFactor(user_id=user_id, name="Phone", secret_sealed=sealed, confirmed_at=created_at))
    return pyotp.TOTP(secret)


def give_recovery_codes(server: Any, username: str) -> list[str]:
    services = server.services
    with services.database.transaction() as session:
        user_id = session.scalars(select(User.id).where(User.username == username)).one()
        return recovery_codes.generate(session, services.factor_secrets, user_id)


def password_step(browser: BrowserLike, flow: Flow, username: str) -> httpx.Response:
    """/authorize → /login → the password: the response to the login form."""
    location = browser.get(flow.url()).headers["location"]
    assert location.startswith("/login?"), location
    page = browser.get(location)
    return browser.post("/login", data={**hidden_fields(page.text), "username": username, "password": PASSWORD})


def submit(browser: BrowserLike, path: str, **fields: str) -> httpx.Response:
    page = browser.get(path)
    assert page.status_code == 200, page.text
    return browser.post(path, data={**hidden_fields(page.text), **fields})


def follow_to_code(browser: BrowserLike, response: httpx.Response, flow: Flow) -> str:
    for _ in range(4):
        location = response.headers.get("location", "")
        if location.startswith(SPA_REDIRECT):
            query = query_of(location)
            assert query.get("state") == flow.state
            return query["code"]
        assert response.status_code in (302, 303), (response.status_code, location)
        assert location.startswith("/authorize"), (response.status_code, location)
        response = browser.get(location)
    raise AssertionError("no code")


def claims(server: Any, token: str, audience: str | None = None) -> dict[str, Any]:
    key = jwt.PyJWKClient(server.url + "/.well-known/jwks.json").get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256", "ES256", "EdDSA"], audience=audience, issuer=server.url,
                      options={"verify_aud": audience is not None})


def mfa_login(browser: BrowserLike, flow: Flow, username: str, app: pyotp.TOTP) -> str:
    response = password_step(browser, flow, username)
    assert response.status_code == 303 and response.headers["location"] == "/login/factor"
    return follow_to_code(browser, submit(browser, "/login/factor", code=app.now()), flow)


def test_password_then_code_gives_tokens_that_say_mfa_and_refresh_keeps_it(browser, live_server):
    username = new_user(live_server)
    app = give_totp(live_server, username)
    flow = Flow(scope="openid profile get:drinks")
    response = password_step(browser, flow, username)
    assert response.headers["location"] == "/login/factor"
    assert browser.get("/account").status_code == 303  # no session before the second factor
    code = follow_to_code(browser, submit(browser, "/login/factor", code=app.now()), flow)
    body = browser.redeem(flow, code).json()
    id_token = claims(live_server, body["id_token"], "coffee-spa")
    assert id_token["amr"] == ["pwd", "otp", "mfa"] and id_token["acr"] == ACR_MFA
    access = claims(live_server, body["access_token"])
    assert access["amr"] == ["pwd", "otp", "mfa"] and access["acr"] == ACR_MFA and access["auth_time"]
    refreshed = httpx.post(live_server.url + "/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": "coffee-spa"}).json()
    again = claims(live_server, refreshed["id_token"], "coffee-spa")
    assert (again["amr"], again["acr"], again["auth_time"]) == (id_token["amr"], ACR_MFA, id_token["auth_time"])
    assert claims(live_server, refreshed["access_token"])["acr"] == ACR_MFA


def test_a_password_login_says_pwd_and_the_password_level(browser, live_server):
    flow = Flow(scope="openid")
    code = follow_to_code(browser, password_step(browser, flow, new_user(live_server)), flow)
    body = browser.redeem(flow, code).json()
    assert claims(live_server, body["id_token"], "coffee-spa")["amr"] == ["pwd"]
    assert claims(live_server, body["access_token"])["acr"] == ACR_PASSWORD


def test_a_code_is_never_accepted_twice(live_server):
    username = new_user(live_server)
    app = give_totp(live_server, username)
    code = app.now()
    first, second = BrowserLike(live_server.url), BrowserLike(live_server.url)
    try:
        flow = Flow()
        password_step(first, flow, username)
        assert submit(first, "/login/factor", code=code).status_code == 303
        other = Flow()
        password_step(second, other, username)
        replayed = submit(second, "/login/factor", code=code)
        assert replayed.status_code == 401 and "not right, or it was used already" in replayed.text
    finally:
        first.close()
        second.close()


def test_another_users_code_is_refused(browser, live_server):
    victim, attacker = new_user(live_server), new_user(live_server)
    victim_app, attacker_app = give_totp(live_server, victim), give_totp(live_server, attacker)
    password_step(browser, Flow(), victim)
    now = time.time()
    accepted = {victim_app.at(now + 30 * step) for step in (-1, 0, 1)}  # the victim's window
    # The attacker's own valid code that is none of the victim's (three coincidences at once never happen).
    attacker_codes = [attacker_app.at(now + 30 * step) for step in (0, -1, 1)]
    code = next(candidate for candidate in attacker_codes if candidate not in accepted)
    assert submit(browser, "/login/factor", code=code).status_code == 401


BAD_CODES = [
    pytest.param({"code": "12\x003456"}, 400, id="nul-byte"),
    pytest.param({"code": "abcdef"}, 401, id="letters"),
    pytest.param({"code": "1234567"}, 401, id="seven-digits"),
    pytest.param({"code": "1" * 33}, 400, id="over-long"),
    pytest.param({"code": "１２３４５６"}, 401, id="full-width-digits"),
    pytest.param({"code": ""}, 400, id="empty"),
    pytest.param({"code": "123456", "csrf_token": "forged"}, 403, id="forged-csrf"),
]


@pytest.mark.parametrize(("fields", "status"), BAD_CODES)
def test_malformed_codes_get_a_clear_refusal(browser, live_server, fields, status):
    username = new_user(live_server)
    give_totp(live_server, username)
    password_step(browser, Flow(), username)
    response = submit(browser, "/login/factor", **fields)
    assert response.status_code == status
    assert "text/html" in response.headers["content-type"] and "Traceback" not in response.text


def test_bad_recovery_codes_and_bytes_that_are_not_utf8(browser, live_server):
    username = new_user(live_server)
    give_totp(live_server, username)
    password_step(browser, Flow(), username)
    assert submit(browser, "/login/recovery", recovery_code="x" * 41).status_code == 400
    assert submit(browser, "/login/recovery", recovery_code="zzzzz-zzzzz").status_code == 401
    form = {"content-type": "application/x-www-form-urlencoded"}
    raw = browser.post("/login/factor", content=b"code=%FF%FE", headers=form)
    assert raw.status_code == 400


def test_wrong_codes_are_throttled_per_account(browser, live_server):
    username = new_user(live_server)
    app = give_totp(live_server, username)
    password_step(browser, Flow(), username)
    wrong = f"{(int(app.now()) + 500_000) % 1_000_000:06d}"
    statuses = [submit(browser, "/login/factor", code=wrong).status_code for _ in range(4)]
    assert statuses[:3] == [401, 401, 401] and statuses[3] == 429
    locked = submit(browser, "/login/factor", code=app.now())  # even the right code waits out the lock
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    with live_server.services.database.reader() as session:
        kinds = set(session.scalars(select(AuditEvent.type).where(AuditEvent.subject == username)))
    assert {audit.FACTOR_FAILED, audit.ACCOUNT_LOCKED} <= kinds


def test_a_recovery_code_works_once_and_says_how_many_are_left(browser, live_server):
    username = new_user(live_server)
    give_totp(live_server, username)
    codes = give_recovery_codes(live_server, username)
    flow = Flow(scope="openid")
    password_step(browser, flow, username)
    used = submit(browser, "/login/recovery", recovery_code=codes[0].upper().replace("-", " "))
    assert used.status_code == 200 and "You have 9 recovery codes left" in used.text
    continue_to = hidden_links(used.text)[0]
    body = browser.redeem(flow, follow_to_code(browser, browser.get(continue_to), flow)).json()
    assert claims(live_server, body["id_token"], "coffee-spa")["amr"] == ["pwd", "mfa"]
    again = BrowserLike(live_server.url)
    try:
        password_step(again, Flow(), username)
        assert submit(again, "/login/recovery", recovery_code=codes[0]).status_code == 401
    finally:
        again.close()
    with live_server.services.database.reader() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.type == audit.RECOVERY_CODE_USED,
                                                          AuditEvent.subject == username)).one()
    assert event.detail["remaining"] == 9


def hidden_links(html: str) -> list[str]:
    return [link.replace("&amp;", "&") for link in re.findall(r'href="(/authorize\?[^"]+)"', html)]


def test_a_pending_login_is_single_use(browser, live_server):
    username = new_user(live_server)
    app = give_totp(live_server, username)
    password_step(browser, Flow(), username)
    page = browser.get("/login/factor")
    fields = hidden_fields(page.text)
    assert browser.post("/login/factor", data={**fields, "code": app.now()}).status_code == 303
    again = browser.post("/login/factor", data={**fields, "code": app.at(time.time() + 30)})
    assert again.status_code == 400 and "sign in again" in again.text


def test_step_up_with_acr_values_asks_a_one_factor_session_for_the_second_factor(browser, live_server):
    username = new_user(live_server)
    first = Flow(scope="openid")
    follow_to_code(browser, password_step(browser, first, username), first)  # a password-only session
    with live_server.services.database.reader() as session:
        assert session.scalars(select(BrowserSession.amr).join(User).where(User.username == username)).one() == ["pwd"]
    # No factor yet: asking for the MFA level leads through enrolment.
    assert browser.get(Flow(extra={"acr_values": ACR_MFA}).url()).headers["location"] == "/login/enrol"
    app = give_totp(live_server, username)
    stepped = Flow(scope="openid", extra={"acr_values": ACR_MFA})
    response = browser.get(stepped.url())
    assert response.headers["location"] == "/login/factor"
    code = follow_to_code(browser, submit(browser, "/login/factor", code=app.now()), stepped)
    id_token = claims(live_server, browser.redeem(stepped, code).json()["id_token"], "coffee-spa")
    assert id_token["acr"] == ACR_MFA and id_token["amr"] == ["pwd", "otp", "mfa"]
    with live_server.services.database.reader() as session:  # the session was upgraded (a new one replaced it)
        assert session.scalars(select(BrowserSession.amr).join(User).where(User.username == username)).all() == [
            ["pwd", "otp", "mfa"]]


def test_prompt_none_on_a_session_that_needs_a_second_factor_is_login_required(browser, live_server):
    username = new_user(live_server)
    first = Flow()
    follow_to_code(browser, password_step(browser, first, username), first)
    response = browser.get(Flow(extra={"acr_values": ACR_MFA, "prompt": "none"}).url())
    assert query_of(response.headers["location"])["error"] == "login_required"


def test_max_age_forces_both_factors_again(browser, live_server):
    username = new_user(live_server)
    app = give_totp(live_server, username)
    mfa_login(browser, Flow(), username, app)
    fresh = Flow(extra={"max_age": "0"})
    assert browser.get(fresh.url()).headers["location"].startswith("/login?")


def test_the_password_grant_refuses_a_user_with_a_factor(live_server):
    with live_server.services.realm(actor="test") as realm:
        if realm.clients.find("mfa-app") is None:
            realm.clients.create(ClientSpec(client_id="mfa-app", type="public", grant_types=["password"],
                                                default_audience="https://coffee.example/api"))
    username = new_user(live_server)

    def grant() -> httpx.Response:
        return httpx.post(live_server.url + "/oauth/token", data={
            "grant_type": "password", "client_id": "mfa-app", "username": username, "password": PASSWORD})

    first = grant()
    assert first.status_code == 200, first.text
    assert claims(live_server, first.json()["access_token"])["amr"] == ["pwd"]
    give_totp(live_server, username)
    refused = grant()
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert "Interactive login is required" in refused.json()["error_description"]


def test_a_role_that_requires_mfa_leads_through_enrolment_before_any_session(browser, live_server):
    with live_server.services.realm(actor="test") as realm:
        if realm.roles.find("vault") is None:
            realm.roles.create("vault", require_mfa=True)
    username = new_user(live_server, roles=("vault",))
    flow = Flow(scope="openid")
    response = password_step(browser, flow, username)
    assert response.headers["location"] == "/login/enrol"
    assert browser.get("/account").status_code == 303
    page = browser.get("/login/enrol")
    secret = page.text.split('id="totp-secret">', 1)[1].split("<", 1)[0]
    done = browser.post("/login/enrol", data={**hidden_fields(page.text), "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200 and done.text.count("<li><code>") == 10  # the recovery codes, once
    continue_to = hidden_links(done.text)[0]
    body = browser.redeem(flow, follow_to_code(browser, browser.get(continue_to), flow)).json()
    assert claims(live_server, body["id_token"], "coffee-spa")["acr"] == ACR_MFA


def test_an_admin_removing_a_factor_ends_the_users_sessions(browser, live_server):
    username = new_user(live_server)
    app = give_totp(live_server, username)
    give_recovery_codes(live_server, username)
    mfa_login(browser, Flow(), username, app)
    with live_server.services.realm(actor="user:admin") as realm:
        listed = factor_admin.factors_of_user(realm, username)
        assert [factor.kind for factor in listed] == ["totp", "recovery_codes"]
        factor_admin.remove_factor(realm, username, "totp", listed[0].id)
    with live_server.services.database.reader() as session:
        user_id = session.scalars(select(User.id).where(User.username == username)).one()
        assert factors.factors_of(session, user_id) == []  # the recovery codes died with the last factor
        assert session.scalars(select(BrowserSession).where(BrowserSession.user_id == user_id)).all() == []
