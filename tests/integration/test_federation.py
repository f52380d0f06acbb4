"""Signing in with another identity provider, end to end, against npm's oidc-provider as the upstream.

authgate runs for real (uvicorn, both databases); the upstream is panva's
oidc-provider on loopback (tests/federation/upstream/server.js) with its own
login page, driven over HTTP. Every failure is asserted as the page a person
sees: its status and its words.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import jwt
import pyotp
import pytest
import uvicorn
from oidc_client.flow import BrowserLike, Flow, csrf_of, hidden_fields, query_of
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from authgate import audit, bootstrap
from authgate.accounts import totp
from authgate.federation.runtime import Federation
from authgate.federation.upstream import Upstream as UpstreamClient
from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import RealmFileError, parse_realm
from authgate.services import Services
from authgate.storage.models import (
    AuditEvent,
    BrowserSession,
    FederatedIdentity,
    IdentityProvider,
    User,
)
from authgate.testing.clock import FakeClock
from authgate.web.app import create_app
from federation.upstream_harness import CLIENT_ID, CLIENT_SECRET, Upstream, sign_in_upstream
from testkit import LiveServer, free_port

# One worker runs this module: its tests share one upstream provider.
pytestmark = pytest.mark.xdist_group("test_federation")

LOCAL_PASSWORDS = {"bob": "bobs-local-espresso-8812", "carol": "carols-local-ristretto-4471"}
HUB_SECRET = "hub-secret-for-tests-only-0123456789"  # TEST-ONLY: the OAuth 2.0-only upstream's client secret


def realm_yaml(upstream: str, hub: str, dead: str) -> str:
    return f"""
apis:
  - identifier: https://coffee.example/api
    name: Coffee Shop
    permissions: [get:drinks, post:drinks, delete:drinks]
roles:
  - name: developer
    permissions: {{https://coffee.example/api: [get:drinks, post:drinks]}}
  - name: staff
    permissions: {{https://coffee.example/api: [get:drinks]}}
users:
  - {{username: bob, email: bob@shop.example, email_verified: true, password: {LOCAL_PASSWORDS["bob"]}}}
  - {{username: carol, email: carol@shop.example, email_verified: true, password: {LOCAL_PASSWORDS["carol"]}}}
clients:
  - client_id: coffee-spa
    type: public
    redirect_uris: [http://127.0.0.1:5000/callback]
    grant_types: [authorization_code, refresh_token]
    default_audience: https://coffee.example/api
identity_providers:
  - alias: corp
    display_name: Corp Login
    type: oidc
    issuer: {upstream}
    client_id: {CLIENT_ID}
    client_secret_env: CORP_SECRET
    scopes: [openid, email, profile, groups]
    roles_from: {{claim: groups, map: {{engineering: developer}}}}
    default_roles: [staff]
  - alias: hub
    display_name: Hub
    type: oauth2
    authorization_endpoint: {hub}/authorize
    token_endpoint: {hub}/token
    userinfo_endpoint: {hub}/user
    client_id: hub-client
    client_secret: ${{HUB_SECRET}}
    claims: {{subject: id, username: login}}
  - alias: down
    display_name: Down Provider
    issuer: {dead}
    client_id: nobody
    client_secret: not-a-real-secret
"""


ENVIRON = {"CORP_SECRET": CLIENT_SECRET, "HUB_SECRET": HUB_SECRET}


# --- the OAuth 2.0-only upstream: a tiny Starlette app (authorize, token with PKCE, user API) -------------
class Hub:
    """Like GitHub: no discovery, no ID token; the user comes from its API (a numeric id)."""

    def __init__(self) -> None:
        self.codes: dict[str, tuple[str, str]] = {}  # code → (challenge, redirect_uri)
        self.app = Starlette(routes=[Route("/authorize", self.authorize), Route("/token", self.token, methods=["POST"]),
                                     Route("/user", self.user)])

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        assert query["code_challenge_method"] == "S256" and query["client_id"] == "hub-client"
        code = secrets.token_urlsafe(16)
        self.codes[code] = (query["code_challenge"], query["redirect_uri"])
        return RedirectResponse(query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]}))

    async def token(self, request: Request) -> Response:
        form = await request.form()
        expected = "Basic " + base64.b64encode(f"hub-client:{HUB_SECRET}".encode()).decode()
        challenge, redirect_uri = self.codes.pop(str(form["code"]), ("", ""))
        verifier = str(form.get("code_verifier", ""))
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if request.headers.get("authorization") != expected or computed != challenge \
                or form.get("redirect_uri") != redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse({"access_token": "hub-token", "token_type": "bearer", "scope": "read:user"})

    async def user(self, request: Request) -> Response:
        if request.headers.get("authorization") != "Bearer hub-token":
            return JSONResponse({"message": "Requires authentication"}, status_code=401)
        return JSONResponse({"id": 4242, "login": "octo", "name": "Octo Cat", "email": "octo@hub.example"})


# --- fixtures -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def authgate_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def upstream(authgate_port: int) -> Iterator[Upstream]:
    provider = Upstream(free_port(), f"http://127.0.0.1:{authgate_port}/login/idp/corp/callback").start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def hub() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Hub().app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(make_settings: Any, database_url: str, authgate_port: int, upstream: Upstream, hub: str,
          clock: FakeClock) -> Iterator[Any]:
    settings = make_settings(database_url=database_url, issuer=f"http://127.0.0.1:{authgate_port}")
    services = Services(settings)
    bootstrap.prepare(services)
    services.federation = Federation(services, upstream=UpstreamClient(
        timeout=5, discovery_ttl=settings.federation_discovery_ttl, clock=clock,
        jwks_refetch_interval=settings.federation_jwks_refetch_interval, clock_skew=settings.federation_clock_skew))
    with services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(realm_yaml(upstream.url, hub, f"http://127.0.0.1:{free_port()}")),
                    provider_secrets=services.federation.secrets, environ=ENVIRON)
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
def start(browser: BrowserLike, flow: Flow, alias: str = "corp") -> str:
    """From /authorize to the login page's "Continue with …", to the upstream's authorization URL."""
    response = browser.get(flow.url())
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    page = browser.get(response.headers["location"])
    links = {name: href.replace("&amp;", "&")
             for href, name in re.findall(r'href="(/login/idp/[^"]+)">Continue with ([^<]+)<', page.text)}
    assert "Corp Login" in links and "Hub" in links, page.text
    link = next(href for href in links.values() if href.startswith(f"/login/idp/{alias}?"))
    response = browser.get(link)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def finish(browser: BrowserLike, callback_url: str) -> httpx.Response:
    return browser.http.get(callback_url)


def code_after(browser: BrowserLike, response: httpx.Response, flow: Flow) -> str:
    """The signed-in browser goes back to /authorize, which answers the client with a code."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/authorize?")
    answer = browser.get(location)
    assert answer.status_code == 302, answer.text
    query = query_of(answer.headers["location"])
    assert query["state"] == flow.state
    return query["code"]


def sign_in(browser: BrowserLike, login: str, flow: Flow | None = None) -> tuple[Flow, httpx.Response]:
    flow = flow or Flow(scope="openid profile email")
    response = finish(browser, sign_in_upstream(browser.http, start(browser, flow), login))
    return flow, response


def access_token_claims(browser: BrowserLike, flow: Flow, code: str) -> dict[str, Any]:
    response = browser.redeem(flow, code)
    assert response.status_code == 200, response.text
    return dict(jwt.decode(response.json()["access_token"], options={"verify_signature": False}))


def count(world: Any, model: Any, *where: Any) -> int:
    with world.services.database.reader() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def events(world: Any, kind: str) -> list[AuditEvent]:
    with world.services.database.reader() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.type == kind).order_by(AuditEvent.id)))


def assert_page(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, (response.status_code, response.text[:2000])
    assert response.headers["content-type"].startswith("text/html")
    for word in words:
        assert word in response.text, (word, response.text[:2000])


# --- first login, second login ------------------------------------------------------------------------
def test_first_login_creates_the_user_with_mapped_roles_and_permissions(world: Any, browser: BrowserLike) -> None:
    flow, response = sign_in(browser, "alice")
    claims = access_token_claims(browser, flow, code_after(browser, response, flow))
    # engineering → developer (get, post), default staff (get): the token carries what the roles hold.
    assert sorted(claims["permissions"]) == ["get:drinks", "post:drinks"]
    with world.services.database.reader() as session:
        user = session.scalar(select(User).where(User.username == "alice"))
        assert user is not None and claims["sub"] == user.subject and claims["sub"] != "alice-sub"
        assert sorted(role.name for role in user.roles) == ["developer", "staff"]
        assert user.email == "alice@corp.example" and user.name == "Alice Upstream"
        assert user.email_verified is False  # asserted upstream, but corp is not trusted for emails
        assert user.password_hash is None
        session_row = session.scalars(select(BrowserSession).where(BrowserSession.user_id == user.id)).one()
        assert session_row.amr == ["fed"]
    assert [event.subject for event in events(world, audit.FEDERATED_USER_CREATED)] == ["alice"]
    assert [event.detail["provider"] for event in events(world, audit.FEDERATED_LOGIN)] == ["corp"]


def test_second_login_finds_the_same_user_and_names_are_made_unique(world: Any, browser: BrowserLike) -> None:
    flow, response = sign_in(browser, "alice")
    first = access_token_claims(browser, flow, code_after(browser, response, flow))
    other = BrowserLike(world.url)
    try:
        flow, response = sign_in(other, "alice")
        second = access_token_claims(other, flow, code_after(other, response, flow))
        assert second["sub"] == first["sub"]
        # dave's preferred_username is also "alice": his account gets a name of its own.
        flow, response = sign_in(BrowserLike(world.url), "dave")
        assert response.status_code == 303
    finally:
        other.close()
    assert count(world, User, User.username == "alice") == 1
    assert count(world, User, User.username.startswith("alice-")) == 1
    assert count(world, FederatedIdentity) == 2
    assert len(events(world, audit.FEDERATED_USER_CREATED)) == 2


# --- linking --------------------------------------------------------------------------------------------
def test_linking_to_an_existing_account_requires_its_password(world: Any, browser: BrowserLike) -> None:
    flow, response = sign_in(browser, "carol")
    assert_page(response, 200, "Link your account", "carol")
    assert count(world, FederatedIdentity) == 0
    fields = hidden_fields(response.text)
    wrong = browser.post("/login/idp/link", data={**fields, "password": "not-carols-password"})
    assert_page(wrong, 401, "The password is incorrect.")
    assert count(world, FederatedIdentity) == 0 and count(world, User) == 2  # bob and carol: nobody created
    right = browser.post("/login/idp/link", data={**hidden_fields(wrong.text), "password": LOCAL_PASSWORDS["carol"]})
    code = code_after(browser, right, flow)
    claims = access_token_claims(browser, flow, code)
    with world.services.database.reader() as session:
        carol = session.scalar(select(User).where(User.username == "carol"))
        assert carol is not None and claims["sub"] == carol.subject
    assert [event.detail["proven_by"] for event in events(world, audit.FEDERATED_LINKED)] == ["password"]
    # The form is single-use.
    again = browser.post("/login/idp/link", data={**fields, "password": LOCAL_PASSWORDS["carol"]})
    assert_page(again, 400, "expired or was already used")
    # Next time, the link is known: straight in.
    other = BrowserLike(world.url)
    try:
        flow, response = sign_in(other, "carol")
        assert access_token_claims(other, flow, code_after(other, response, flow))["sub"] == claims["sub"]
    finally:
        other.close()


def test_an_unverified_upstream_email_never_links(world: Any, browser: BrowserLike) -> None:
    _flow, response = sign_in(browser, "bob")
    assert_page(response, 403, "did not confirm this email address")
    assert count(world, FederatedIdentity) == 0 and count(world, User, User.email == "bob@shop.example") == 1
    assert [event.detail["reason"] for event in events(world, audit.FEDERATED_REFUSED)] == ["unverified_email"]


def test_a_provider_trusted_for_emails_links_verified_addresses_by_itself(world: Any, browser: BrowserLike,
                                                                         upstream: Upstream, hub: str) -> None:
    file = realm_yaml(upstream.url, hub, "http://127.0.0.1:9").replace(
        "    default_roles: [staff]\n", "    default_roles: [staff]\n    trust_email: true\n", 1)
    with world.services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(file), provider_secrets=world.services.federation.secrets, environ=ENVIRON)
    flow, response = sign_in(browser, "carol")
    code_after(browser, response, flow)
    assert [event.detail["proven_by"] for event in events(world, audit.FEDERATED_LINKED)] == ["trusted_email"]
    _flow, refused = sign_in(BrowserLike(world.url), "bob")  # trusted or not: an unverified address never links
    assert_page(refused, 403, "did not confirm")


def test_the_account_page_lists_and_unlinks_identities_but_not_the_last_way_in(world: Any,
                                                                              browser: BrowserLike) -> None:
    flow, response = sign_in(browser, "alice")
    code_after(browser, response, flow)
    page = browser.get("/account/identities")
    assert_page(page, 200, "Corp Login", "alice@corp.example")
    refused = browser.post("/account/identities/unlink", data={"csrf_token": csrf_of(page.text), "alias": "corp"})
    assert_page(refused, 409, "only way to sign in")
    assert count(world, FederatedIdentity) == 1
    forged = browser.post("/account/identities/unlink", data={"csrf_token": "forged", "alias": "corp"})
    assert forged.status_code == 403 and count(world, FederatedIdentity) == 1
    with world.services.realm(actor="test") as realm:
        realm.users.set_password("alice", "alices-new-local-macchiato-5521")
    done = browser.post("/account/identities/unlink", data={"csrf_token": csrf_of(page.text), "alias": "corp"})
    assert_page(done, 200, "The identity was unlinked.")
    assert count(world, FederatedIdentity) == 0
    assert len(events(world, audit.FEDERATED_UNLINKED)) == 1


# --- the upstream's answers that must not be trusted ------------------------------------------------------
def test_the_upstreams_key_rotation_is_followed(world: Any, browser: BrowserLike, upstream: Upstream,
                                                clock: FakeClock) -> None:
    flow, response = sign_in(browser, "alice")
    code_after(browser, response, flow)
    old_kid = upstream.kid()
    upstream.restart(generation=2)
    assert upstream.kid() != old_kid
    fresh = Flow(extra={"prompt": "login"})
    _flow, refused = sign_in(browser, "alice", fresh)
    # The keys were fetched a moment ago: a new kid does not make authgate fetch them again yet (bounded).
    assert_page(refused, 400, "not signed by its keys")
    clock.advance(world.services.settings.federation_jwks_refetch_interval + 1)
    flow = Flow(extra={"prompt": "login"})
    _flow, response = sign_in(browser, "alice", flow)
    code_after(browser, response, flow)  # the unknown kid made authgate fetch the key set again


def test_a_wrong_iss_ends_on_a_clear_page(world: Any, browser: BrowserLike) -> None:
    callback = sign_in_upstream(browser.http, start(browser, Flow()), "alice")
    parts = urlsplit(callback)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query["iss"]  # oidc-provider sends it (RFC 9207)
    query["iss"] = "https://evil.example"
    response = finish(browser, urlunsplit(parts._replace(query=urlencode(query))))
    assert_page(response, 400, "another provider than the one asked")
    assert count(world, User, User.username == "alice") == 0
    assert events(world, audit.FEDERATED_REFUSED)[-1].outcome == "failure"


def test_a_wrong_nonce_ends_on_a_clear_page(world: Any, browser: BrowserLike) -> None:
    authorization = start(browser, Flow())
    parts = urlsplit(authorization)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query["nonce"] = "not-the-nonce-authgate-sent"
    response = finish(browser, sign_in_upstream(browser.http, urlunsplit(parts._replace(query=urlencode(query))),
                                                "alice"))
    assert_page(response, 400, "ID token does not belong to this sign-in")
    assert count(world, User, User.username == "alice") == 0


def test_a_replayed_state_ends_on_a_clear_page(world: Any, browser: BrowserLike) -> None:
    callback = sign_in_upstream(browser.http, start(browser, Flow()), "alice")
    assert finish(browser, callback).status_code == 303
    assert_page(finish(browser, callback), 400, "already used")
    stranger = BrowserLike(world.url)  # another browser with a fresh, valid state of this one's: refused too
    try:
        callback = sign_in_upstream(browser.http, start(browser, Flow(extra={"prompt": "login"})), "alice")
        assert_page(stranger.get(callback.removeprefix(world.url)), 400, "started in another browser")
    finally:
        stranger.close()


def test_the_upstreams_error_response_ends_on_a_clear_page(world: Any, browser: BrowserLike) -> None:
    callback = sign_in_upstream(browser.http, start(browser, Flow()), "alice", cancel=True)
    assert "error=access_denied" in callback
    assert_page(finish(browser, callback), 403, "Corp Login did not sign you in", "access_denied")
    assert events(world, audit.FEDERATED_REFUSED)[-1].detail["reason"] == "access_denied"


def test_an_unreachable_provider_ends_on_a_clear_page_and_the_rest_keeps_serving(world: Any,
                                                                                 browser: BrowserLike) -> None:
    response = browser.get("/login/idp/down?" + urlencode({"return_to": Flow().url()}))
    assert_page(response, 503, "Down Provider cannot be reached right now")
    assert response.headers["retry-after"]
    assert browser.get("/login").status_code == 200
    flow, signed_in = sign_in(browser, "alice")
    code_after(browser, signed_in, flow)


def test_an_oauth2_only_upstream_works_through_the_generic_path(world: Any, browser: BrowserLike) -> None:
    flow = Flow(scope="openid profile email")
    authorization = start(browser, flow, alias="hub")
    assert "code_challenge=" in authorization and "nonce=" not in authorization
    callback = httpx.get(authorization).headers["location"]
    response = finish(browser, callback)
    claims = access_token_claims(browser, flow, code_after(browser, response, flow))
    with world.services.database.reader() as session:
        user = session.scalar(select(User).where(User.username == "octo"))
        assert user is not None and user.subject == claims["sub"] and user.name == "Octo Cat"
        identity = session.scalars(select(FederatedIdentity)).one()
        assert (identity.provider_alias, identity.upstream_subject) == ("hub", "4242")


def test_idp_hint_on_authorize_goes_straight_to_the_provider(world: Any, browser: BrowserLike) -> None:
    flow = Flow(extra={"kc_idp_hint": "corp"})
    response = browser.get(flow.url())
    login = browser.get(response.headers["location"])
    assert login.status_code == 303 and login.headers["location"].startswith("/login/idp/corp?")
    unknown = browser.get(browser.get(Flow(extra={"idp_hint": "nope"}).url()).headers["location"])
    assert unknown.status_code == 200 and "Sign in" in unknown.text  # an unknown hint: the login page


# --- bad input and bad configuration ----------------------------------------------------------------------
@pytest.mark.parametrize("query", [
    "state=%00abc&code=x",
    "state=%FF%FE&code=x",
    "code=" + "c" * 5000 + "&state=s",
    "state=" + "s" * 5000 + "&code=x",
    "error=" + "e" * 500,
    "",
], ids=["nul", "invalid-utf8", "long-code", "long-state", "long-error", "empty"])
def test_a_malformed_callback_ends_on_a_clear_page(world: Any, browser: BrowserLike, query: str) -> None:
    response = browser.get("/login/idp/corp/callback?" + query)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "could not be read" in response.text or "expired, was already used" in response.text


def test_a_missing_secret_is_an_error_naming_the_entry(world: Any, upstream: Upstream, hub: str) -> None:
    file = parse_realm(realm_yaml(upstream.url, hub, "http://127.0.0.1:9"))
    with pytest.raises(RealmFileError) as raised, world.services.realm(actor="test") as realm:
        apply_realm(realm, file, provider_secrets=world.services.federation.secrets, environ={"HUB_SECRET": "x"})
    assert raised.value.problems == [
        "identity_providers[0] (line 21): client_secret: the environment variable CORP_SECRET is not set"]


def test_an_unreachable_issuer_at_apply_is_a_warning_and_the_provider_is_marked(world: Any) -> None:
    problems = world.services.federation.check_and_mark(["corp", "down"])
    assert list(problems) == ["down"] and "could not be fetched" in problems["down"]
    with world.services.database.reader() as session:
        marked = {row.alias: row.problem for row in session.scalars(select(IdentityProvider))}
    assert marked["down"] and marked["corp"] is None and marked["hub"] is None


def test_client_secrets_are_sealed_at_rest(world: Any) -> None:
    with world.services.database.reader() as session:
        row = session.scalar(select(IdentityProvider).where(IdentityProvider.alias == "corp"))
        assert row is not None and row.client_secret_encrypted is not None
        assert CLIENT_SECRET.encode() not in row.client_secret_encrypted
        assert world.services.federation.secrets.open("corp", row.client_secret_encrypted) == CLIENT_SECRET


def test_the_export_is_a_realm_file_apply_takes_back_unchanged(world: Any) -> None:
    from authgate.provisioning.identity_providers import export_identity_providers

    services = world.services
    with services.reader() as realm:
        entries = export_identity_providers(realm.session)
        with_secrets = export_identity_providers(realm.session, include_secrets=True,
                                                 secrets=services.federation.secrets)
    assert [entry["alias"] for entry in entries] == ["corp", "down", "hub"]
    assert all("client_secret" not in entry for entry in entries)
    assert {entry["alias"]: entry["client_secret"] for entry in with_secrets}["corp"] == CLIENT_SECRET
    assert entries[0]["roles_from"] == {"claim": "groups", "map": {"engineering": ["developer"]}}
    import yaml

    for exported in (entries, with_secrets):  # without its secret, a provider keeps the one it has
        with services.realm(actor="test") as realm:
            result = apply_realm(realm, parse_realm(yaml.safe_dump({"identity_providers": exported})),
                                 provider_secrets=services.federation.secrets, environ={})
        assert result.unchanged["identity_providers"] == 3 and not result.changed
    with pytest.raises(RealmFileError) as raised, services.realm(actor="test") as realm:
        new = {**entries[0], "alias": "new"}
        apply_realm(realm, parse_realm(yaml.safe_dump({"identity_providers": [new]})),
                    provider_secrets=services.federation.secrets, environ={})
    assert "identity_providers[0]" in str(raised.value) and "client_secret is required" in str(raised.value)


# --- a second factor is not skipped through the upstream ----------------------------------------------------
def test_a_user_with_a_second_factor_is_asked_for_it_after_the_upstream(world: Any, browser: BrowserLike) -> None:
    """The upstream's sign-in is one factor, as a password is: alice, once she has an authenticator app, gets no
    session from it alone; the pending login sends her to the code page, and the session records fed + otp."""
    flow, response = sign_in(browser, "alice")
    code_after(browser, response, flow)  # her account exists now
    services = world.services
    with services.database.transaction() as session:
        user = session.scalar(select(User).where(User.username == "alice"))
        assert user is not None
        enrolment = totp.begin(session, services.factor_secrets, user.id, account_name="alice",
                               issuer=services.settings.issuer)
        app = pyotp.TOTP(enrolment.secret)
        assert totp.confirm(session, services.factor_secrets, user.id, app.now())
        user_id = user.id
    again = BrowserLike(world.url)
    try:
        flow, response = sign_in(again, "alice")
        assert response.status_code == 303 and response.headers["location"] == "/login/factor", response.text
        with services.database.reader() as session:
            before = session.scalar(select(func.count()).select_from(BrowserSession)
                                    .where(BrowserSession.user_id == user_id))
        page = again.get("/login/factor")
        assert_page(page, 200, "Authentication code")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        answer = again.post("/login/factor", data={"csrf_token": token.group(1), "code": app.at(time.time() + 30)})
        code_after(again, answer, flow)
        with services.database.reader() as session:
            rows = session.scalars(select(BrowserSession).where(BrowserSession.user_id == user_id)
                                   .order_by(BrowserSession.created_at)).all()
        assert len(rows) == before + 1 and sorted(rows[-1].amr) == ["fed", "mfa", "otp"]
    finally:
        again.close()
