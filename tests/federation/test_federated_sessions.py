"""What a federated session does at its end and on its way in, against npm's oidc-provider as the upstream.

- Logging out of authgate logs out of the provider too (RP-initiated logout there) when its entry says
  `upstream_logout: true`; the provider sends the browser back, and authgate's logout ends as it would have.
- Linking an identity to an account that has a second factor waits for that factor: a correct password and
  a wrong (or never given) code link nothing.
- A provider restricted to some clients (`clients:`) is offered to no other, by the login page or a hint.

authgate runs for real (uvicorn, both databases); the upstream is tests/federation/upstream/server.js.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pyotp
import pytest
from sqlalchemy import func, select

from authgate import audit, bootstrap
from authgate.accounts import totp
from authgate.federation.runtime import Federation
from authgate.federation.upstream import Upstream as UpstreamClient
from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import parse_realm
from authgate.services import Services
from authgate.storage.models import AuditEvent, BrowserSession, FederatedIdentity, FederationAttempt, User
from authgate.testing.clock import FakeClock
from authgate.web.app import create_app
from federation.upstream_harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    Upstream,
    confirm_upstream_logout,
    shows_login_form,
    sign_in_upstream,
)
from integration.oidc_client.flow import BrowserLike, Flow, csrf_of, hidden_fields, query_of
from testkit import LiveServer, free_port

# One worker runs this module: its tests share one upstream provider.
pytestmark = pytest.mark.xdist_group("test_federated_sessions")

CAROL_PASSWORD = "carols-local-ristretto-4471"  # TEST-ONLY
POST_LOGOUT = "http://127.0.0.1:5000/"
LOGIN_AGAIN = {"prompt": "login"}  # the login page even when signed in to authgate


def realm_yaml(upstream: str, *, upstream_logout: bool) -> str:
    return f"""
apis:
  - identifier: https://coffee.example/api
    name: Coffee Shop
    permissions: [get:drinks]
roles:
  - name: staff
    permissions: {{https://coffee.example/api: [get:drinks]}}
users:
  - {{username: carol, email: carol@shop.example, email_verified: true, password: {CAROL_PASSWORD}}}
clients:
  - client_id: coffee-spa
    type: public
    redirect_uris: [http://127.0.0.1:5000/callback]
    post_logout_redirect_uris: [{POST_LOGOUT}]
    grant_types: [authorization_code, refresh_token]
    default_audience: https://coffee.example/api
  - client_id: back-office
    type: public
    redirect_uris: [http://127.0.0.1:5001/callback]
    grant_types: [authorization_code]
identity_providers:
  - alias: corp
    display_name: Corp Login
    issuer: {upstream}
    client_id: {CLIENT_ID}
    client_secret: ${{CORP_SECRET}}
    scopes: [openid, email, profile]
    default_roles: [staff]
    upstream_logout: {"true" if upstream_logout else "false"}
  - alias: staffonly
    display_name: Staff Only
    issuer: {upstream}
    client_id: {CLIENT_ID}
    client_secret: ${{CORP_SECRET}}
    clients: [back-office]
"""


ENVIRON = {"CORP_SECRET": CLIENT_SECRET}


# --- fixtures -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def authgate_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def upstream(authgate_port: int) -> Iterator[Upstream]:
    issuer = f"http://127.0.0.1:{authgate_port}"
    provider = Upstream(free_port(), f"{issuer}/login/idp/corp/callback",
                        post_logout_redirect_uri=f"{issuer}/login/idp/corp/logged-out").start()
    yield provider
    provider.stop()


@pytest.fixture
def world(make_settings: Any, database_url: str, authgate_port: int, upstream: Upstream) -> Iterator[Any]:
    settings = make_settings(database_url=database_url, issuer=f"http://127.0.0.1:{authgate_port}")
    services = Services(settings)
    bootstrap.prepare(services)
    services.federation = Federation(services, upstream=UpstreamClient(
        timeout=5, discovery_ttl=settings.federation_discovery_ttl, clock=FakeClock(),
        jwks_refetch_interval=settings.federation_jwks_refetch_interval, clock_skew=settings.federation_clock_skew))
    apply(services, upstream, upstream_logout=True)
    server = LiveServer(create_app(services=services), authgate_port).start()
    server.services = services  # type: ignore[attr-defined]
    yield server
    server.stop()
    services.database.dispose()


@pytest.fixture
def browser(world: Any) -> Iterator[BrowserLike]:
    client = BrowserLike(world.url)
    yield client
    client.close()


# --- helpers ---------------------------------------------------------------------------------------------
def apply(services: Services, upstream: Upstream, *, upstream_logout: bool) -> None:
    with services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(realm_yaml(upstream.url, upstream_logout=upstream_logout)),
                    provider_secrets=services.federation.secrets, environ=ENVIRON)


def continue_with(browser: BrowserLike, flow: Flow) -> str:
    """From /authorize to the login page's "Continue with Corp Login", to the upstream's authorization URL."""
    response = browser.get(flow.url())
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    page = browser.get(response.headers["location"])
    link = re.search(r'href="(/login/idp/corp\?[^"]+)">Continue with Corp Login<', page.text)
    assert link, page.text
    response = browser.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def tokens_after(browser: BrowserLike, response: httpx.Response, flow: Flow) -> dict[str, Any]:
    """The signed-in browser goes back to /authorize; the client redeems the code it gets."""
    assert response.status_code == 303 and response.headers["location"].startswith("/authorize?"), response.text
    answer = browser.get(response.headers["location"])
    assert answer.status_code == 302, answer.text
    query = query_of(answer.headers["location"])
    assert query["state"] == flow.state
    redeemed = browser.redeem(flow, query["code"])
    assert redeemed.status_code == 200, redeemed.text
    return dict(redeemed.json())


def sign_in(browser: BrowserLike, login: str) -> dict[str, Any]:
    flow = Flow()
    response = browser.http.get(sign_in_upstream(browser.http, continue_with(browser, flow), login))
    return tokens_after(browser, response, flow)


def logout(browser: BrowserLike, tokens: dict[str, Any], state: str) -> httpx.Response:
    return browser.get("/logout?" + urlencode({"id_token_hint": tokens["id_token"],
                                               "post_logout_redirect_uri": POST_LOGOUT, "state": state}))


def count(world: Any, model: Any, *where: Any) -> int:
    with world.services.database.reader() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def cleared(response: httpx.Response, cookie: str) -> bool:
    return any(header.startswith(f"{cookie}=") and "max-age=0" in header.lower()
               for header in response.headers.get_list("set-cookie"))


def give_totp(world: Any, username: str) -> pyotp.TOTP:
    services = world.services
    with services.database.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        enrolment = totp.begin(session, services.factor_secrets, user.id, account_name=username,
                               issuer=services.settings.issuer)
        app = pyotp.TOTP(enrolment.secret)
        assert totp.confirm(session, services.factor_secrets, user.id, app.now())
    return app


# --- logging out upstream ---------------------------------------------------------------------------------
def test_logout_ends_the_upstream_session_too_and_the_client_gets_its_state_back(world: Any,
                                                                                 browser: BrowserLike,
                                                                                 upstream: Upstream) -> None:
    tokens = sign_in(browser, "alice")
    # The upstream remembers her: another "Continue with" comes straight back.
    assert not shows_login_form(browser.http, continue_with(browser, Flow(extra=LOGIN_AGAIN)))
    response = logout(browser, tokens, "bye-42")
    # authgate's session ended first: no session row, the cookie cleared, the refresh token revoked.
    assert count(world, BrowserSession) == 0
    assert cleared(response, "authgate_session")
    refreshed = httpx.post(world.url + "/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "coffee-spa"})
    assert refreshed.json()["error"] == "invalid_grant"
    # Then to the upstream's end_session_endpoint, with the upstream's own ID token as the hint.
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(upstream.url + "/session/end?")
    sent = query_of(location)
    assert sent["client_id"] == CLIENT_ID
    assert sent["post_logout_redirect_uri"] == world.url + "/login/idp/corp/logged-out"
    assert sent["id_token_hint"] != tokens["id_token"] and sent["state"]
    back = confirm_upstream_logout(browser.http, location)
    assert back.startswith(world.url + "/login/idp/corp/logged-out?")
    finished = browser.http.get(back)
    assert finished.status_code == 303 and finished.headers["location"] == POST_LOGOUT + "?state=bye-42"
    # The upstream's session is gone: "Continue with" shows its login form again.
    assert shows_login_form(browser.http, continue_with(browser, Flow(extra=LOGIN_AGAIN)))
    assert count(world, FederationAttempt, FederationAttempt.kind.in_(["session", "logout"])) == 0


def test_the_upstream_id_token_is_kept_server_side_only(world: Any, browser: BrowserLike) -> None:
    sign_in(browser, "alice")
    for value in browser.http.cookies.values():
        assert value.count(".") != 2 or len(value) < 100  # no JWT among the cookies
    with world.services.database.reader() as session:
        row = session.scalars(select(FederationAttempt).where(FederationAttempt.kind == "session")).one()
        assert row.provider_alias == "corp" and b"eyJ" not in row.sealed  # sealed with the master key


def test_without_upstream_logout_only_authgates_session_ends(world: Any, browser: BrowserLike,
                                                             upstream: Upstream) -> None:
    apply(world.services, upstream, upstream_logout=False)
    tokens = sign_in(browser, "alice")
    response = logout(browser, tokens, "bye-7")
    assert response.status_code == 303 and response.headers["location"] == POST_LOGOUT + "?state=bye-7"
    assert count(world, BrowserSession) == 0 and cleared(response, "authgate_session")
    # Still signed in upstream: another "Continue with" comes straight back.
    assert not shows_login_form(browser.http, continue_with(browser, Flow(extra=LOGIN_AGAIN)))


def test_a_password_session_is_not_sent_upstream(world: Any, browser: BrowserLike) -> None:
    flow = Flow()
    location = browser.get(flow.url()).headers["location"]
    signed_in = browser.submit_login(location, "carol", CAROL_PASSWORD)
    tokens = tokens_after(browser, signed_in, flow)
    response = logout(browser, tokens, "bye-1")
    assert response.status_code == 303 and response.headers["location"] == POST_LOGOUT + "?state=bye-1"


def test_the_logged_out_page_with_an_unknown_or_replayed_state_sends_nobody_anywhere(world: Any,
                                                                                    browser: BrowserLike) -> None:
    tokens = sign_in(browser, "alice")
    back = confirm_upstream_logout(browser.http, logout(browser, tokens, "bye-9").headers["location"])
    assert browser.http.get(back).status_code == 303
    replayed = browser.http.get(back)
    assert replayed.status_code == 200 and "You are signed out" in replayed.text
    for query in ("state=" + "s" * 5000, "state=%00", ""):
        response = browser.get("/login/idp/corp/logged-out?" + query)
        assert response.status_code in (200, 400) and response.headers["content-type"].startswith("text/html")
        assert "location" not in response.headers


def test_a_session_started_after_a_second_factor_logs_out_upstream_too(world: Any, browser: BrowserLike,
                                                                       upstream: Upstream) -> None:
    sign_in(browser, "alice")
    app = give_totp(world, "alice")
    other = BrowserLike(world.url)
    try:
        flow = Flow()
        response = other.http.get(sign_in_upstream(other.http, continue_with(other, flow), "alice"))
        assert response.status_code == 303 and response.headers["location"] == "/login/factor"
        page = other.get("/login/factor")
        answer = other.post("/login/factor", data={"csrf_token": csrf_of(page.text), "code": app.at(time.time() + 30)})
        tokens = tokens_after(other, answer, flow)
        location = logout(other, tokens, "bye-2").headers["location"]
        assert location.startswith(upstream.url + "/session/end?")
    finally:
        other.close()


def test_a_stepped_up_session_still_logs_out_upstream(world: Any, browser: BrowserLike, upstream: Upstream) -> None:
    """A one-factor federated session upgraded by a second factor (step-up at /authorize) is a new session:
    it remembers the provider all the same."""
    sign_in(browser, "alice")
    app = give_totp(world, "alice")
    flow = Flow()
    step_up = browser.get(flow.url())
    assert step_up.status_code == 303 and step_up.headers["location"] == "/login/factor", step_up.text
    page = browser.get("/login/factor")
    answer = browser.post("/login/factor", data={"csrf_token": csrf_of(page.text), "code": app.at(time.time() + 30)})
    tokens = tokens_after(browser, answer, flow)
    assert logout(browser, tokens, "bye-3").headers["location"].startswith(upstream.url + "/session/end?")


# --- linking waits for the second factor ----------------------------------------------------------------
def test_linking_to_an_account_with_a_second_factor_waits_for_it(world: Any, browser: BrowserLike) -> None:
    app = give_totp(world, "carol")
    with world.services.database.reader() as session:
        carol = session.scalar(select(User).where(User.username == "carol"))
        assert carol is not None
        carol_id, carol_sub = carol.id, carol.subject
    flow = Flow()
    form = browser.http.get(sign_in_upstream(browser.http, continue_with(browser, flow), "carol"))
    assert form.status_code == 200 and "Link your account" in form.text, form.text
    # The right password is not enough: the code page, and still nothing linked.
    proven = browser.post("/login/idp/link", data={**hidden_fields(form.text), "password": CAROL_PASSWORD})
    assert proven.status_code == 303 and proven.headers["location"] == "/login/factor", proven.text
    assert count(world, FederatedIdentity) == 0 and count(world, BrowserSession) == 0
    page = browser.get("/login/factor")
    wrong = browser.post("/login/factor", data={"csrf_token": csrf_of(page.text), "code": wrong_code(app)})
    assert wrong.status_code in (400, 401) and count(world, FederatedIdentity) == 0
    # The right code: now the identity is linked, and the session records all three.
    right = browser.post("/login/factor", data={"csrf_token": csrf_of(wrong.text), "code": app.at(time.time() + 30)})
    tokens = tokens_after(browser, right, flow)
    assert query_sub(tokens) == carol_sub
    with world.services.database.reader() as session:
        identity = session.scalars(select(FederatedIdentity)).one()
        assert (identity.user_id, identity.provider_alias, identity.upstream_subject) == (carol_id, "corp", "carol-sub")
        row = session.scalars(select(BrowserSession).where(BrowserSession.user_id == carol_id)).one()
        assert sorted(row.amr) == ["fed", "mfa", "otp", "pwd"]
        linked = session.scalars(select(AuditEvent).where(AuditEvent.type == audit.FEDERATED_LINKED)).all()
        assert [event.detail["proven_by"] for event in linked] == ["password"]


def test_a_correct_password_and_an_abandoned_second_factor_link_nothing(world: Any, browser: BrowserLike) -> None:
    give_totp(world, "carol")
    form = browser.http.get(sign_in_upstream(browser.http, continue_with(browser, Flow()), "carol"))
    proven = browser.post("/login/idp/link", data={**hidden_fields(form.text), "password": CAROL_PASSWORD})
    assert proven.headers["location"] == "/login/factor"
    # The person walks away: the link form is spent, no identity, no session; the next sign-in asks again.
    again = browser.post("/login/idp/link", data={**hidden_fields(form.text), "password": CAROL_PASSWORD})
    assert again.status_code == 400
    assert count(world, FederatedIdentity) == 0 and count(world, BrowserSession) == 0
    fresh = BrowserLike(world.url)
    try:
        form = fresh.http.get(sign_in_upstream(fresh.http, continue_with(fresh, Flow()), "carol"))
        assert form.status_code == 200 and "Link your account" in form.text
    finally:
        fresh.close()


def test_linking_to_an_account_under_an_mfa_policy_waits_for_its_enrolment(world: Any, browser: BrowserLike,
                                                                         upstream: Upstream) -> None:
    file = realm_yaml(upstream.url, upstream_logout=True)
    file = file.replace("roles:\n", "roles:\n  - {name: vault, require_mfa: true}\n", 1).replace(
        "password: " + CAROL_PASSWORD + "}", "password: " + CAROL_PASSWORD + ", roles: [vault]}", 1)
    with world.services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(file), provider_secrets=world.services.federation.secrets, environ=ENVIRON)
    flow = Flow()
    form = browser.http.get(sign_in_upstream(browser.http, continue_with(browser, flow), "carol"))
    proven = browser.post("/login/idp/link", data={**hidden_fields(form.text), "password": CAROL_PASSWORD})
    assert proven.status_code == 303 and proven.headers["location"] == "/login/enrol", proven.text
    page = browser.get("/login/enrol")
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page.text)
    assert secret, page.text
    app = pyotp.TOTP(secret.group(1))
    wrong = browser.post("/login/enrol", data={"csrf_token": csrf_of(page.text), "code": wrong_code(app)})
    assert wrong.status_code == 400 and count(world, FederatedIdentity) == 0
    enrolled = browser.post("/login/enrol", data={"csrf_token": csrf_of(wrong.text), "code": app.now()})
    assert enrolled.status_code == 200, enrolled.text  # the recovery codes, then on to the application
    assert count(world, FederatedIdentity, FederatedIdentity.upstream_subject == "carol-sub") == 1


def wrong_code(app: pyotp.TOTP) -> str:
    """A code of the right shape that is none of the window's (now and its neighbours)."""
    valid = {app.at(time.time() + step * 30) for step in (-1, 0, 1, 2)}
    return next(code for code in (f"{n:06d}" for n in range(1000000)) if code not in valid)


def query_sub(tokens: dict[str, Any]) -> str:
    import jwt

    return str(jwt.decode(tokens["id_token"], options={"verify_signature": False})["sub"])


# --- a provider restricted to some clients ---------------------------------------------------------------
def test_a_provider_restricted_to_other_clients_is_not_offered_by_the_page_nor_a_hint(world: Any,
                                                                                     browser: BrowserLike) -> None:
    page = browser.get(browser.get(Flow().url()).headers["location"])
    assert "Continue with Corp Login" in page.text and "Staff Only" not in page.text
    # A hint naming it: ignored, the login page (never a 500, never a redirect to it).
    hinted = browser.get(browser.get(Flow(extra={"kc_idp_hint": "staffonly"}).url()).headers["location"])
    assert hinted.status_code == 200 and "Staff Only" not in hinted.text
    # Asked for directly: a clear page.
    direct = browser.get("/login/idp/staffonly?" + urlencode({"return_to": Flow().url()}))
    assert direct.status_code == 404 and direct.headers["content-type"].startswith("text/html")
    to_account = browser.get("/login/idp/staffonly?" + urlencode({"return_to": "/account"}))
    assert to_account.status_code == 404
    # The client it is for: offered, and a hint goes straight to it.
    back_office = Flow(client_id="back-office", redirect_uri="http://127.0.0.1:5001/callback")
    page = browser.get(browser.get(back_office.url()).headers["location"])
    assert "Continue with Staff Only" in page.text
    back_office.extra = {"kc_idp_hint": "staffonly"}
    login = browser.get(browser.get(back_office.url()).headers["location"])
    assert login.status_code == 303 and login.headers["location"].startswith("/login/idp/staffonly?")
    assert urlsplit(browser.get(login.headers["location"]).headers["location"]).path == "/auth"
