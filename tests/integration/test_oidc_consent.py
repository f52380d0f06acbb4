"""Consent for third-party clients: asked, remembered, re-asked for new scopes, denied, revoked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from oidc_client.flow import (
    PARTNER_SECRET,
    THIRD_PARTY_REDIRECT,
    BrowserLike,
    Flow,
    hidden_fields,
    query_of,
)
from oidc_client.servers import serve_world

# One worker runs this module: its tests share one server per backend (see oidc_client/servers.py).
pytestmark = pytest.mark.xdist_group("test_oidc_consent")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve_world(request, tmp_path_factory.mktemp("consent"))


@pytest.fixture
def browser(live_server: Any) -> Iterator[BrowserLike]:
    client = BrowserLike(live_server.url)
    yield client
    client.close()


def partner(scope: str = "openid profile", **extra: str) -> Flow:
    return Flow(client_id="partner", redirect_uri=THIRD_PARTY_REDIRECT, scope=scope, extra=extra)


def log_in(browser: BrowserLike, username: str) -> None:
    response = browser.get(Flow().url())
    browser.submit_login(response.headers["location"], username)


def test_first_party_client_never_asks(browser: BrowserLike) -> None:
    log_in(browser, "barista")
    assert browser.get(Flow().url()).status_code == 302


def never_consented(live_server: Any, username: str) -> None:
    """The module's tests share a server: forget what another test let `username` consent to."""
    from authgate.oidc import consents

    with live_server.services.reader() as realm:
        user_id = realm.users.get(username).id
    consents.revoke(live_server.services, user_id, "partner", ip=None)


def test_consent_is_asked_remembered_and_reasked_for_new_scopes(browser: BrowserLike, live_server: Any) -> None:
    never_consented(live_server, "manager")
    log_in(browser, "manager")
    asked = browser.get(partner().url())
    assert asked.status_code == 303 and asked.headers["location"].startswith("/consent?")
    page = browser.get(asked.headers["location"])
    assert "Partner Rewards" in page.text and "See your name and username" in page.text
    assert "See your email address" not in page.text
    allowed = browser.post("/consent", data={**hidden_fields(page.text), "decision": "allow"})
    assert allowed.status_code == 303
    assert "code" in query_of(browser.get(allowed.headers["location"]).headers["location"])
    # Remembered: no page the second time, even silently.
    again = browser.get(partner(prompt="none").url())
    assert "code" in query_of(again.headers["location"])
    # A new scope asks again; prompt=none cannot.
    silent = browser.get(partner("openid profile email", prompt="none").url())
    assert query_of(silent.headers["location"])["error"] == "consent_required"
    wider = browser.get(partner("openid profile email").url())
    assert wider.headers["location"].startswith("/consent?")
    assert "See your email address" in browser.get(wider.headers["location"]).text


def test_prompt_consent_asks_even_when_remembered(browser: BrowserLike) -> None:
    log_in(browser, "manager")
    browser.authorize(partner(), "manager")
    response = browser.get(partner(prompt="consent").url())
    assert response.headers["location"].startswith("/consent?")


def test_denying_sends_access_denied_to_the_client(browser: BrowserLike, live_server: Any) -> None:
    never_consented(live_server, "other")
    log_in(browser, "other")
    flow = partner()
    page = browser.get(browser.get(flow.url()).headers["location"])
    denied = browser.post("/consent", data={**hidden_fields(page.text), "decision": "deny"})
    query = query_of(denied.headers["location"])
    assert denied.headers["location"].startswith(THIRD_PARTY_REDIRECT)
    assert query["error"] == "access_denied" and query["state"] == flow.state


def test_consent_post_without_csrf_token_is_refused(browser: BrowserLike, live_server: Any) -> None:
    never_consented(live_server, "other")
    log_in(browser, "other")
    page = browser.get(browser.get(partner("openid email").url()).headers["location"])
    fields = hidden_fields(page.text)
    fields.pop("csrf_token")
    refused = browser.post("/consent", data={**fields, "decision": "allow"})
    assert refused.status_code == 403 and "expired" in refused.text
    assert browser.get(partner("openid email", prompt="none").url()).headers["location"].count("consent_required") == 1


def test_consents_are_listed_and_revocable_and_revoking_ends_refresh_tokens(
    browser: BrowserLike, live_server: Any
) -> None:
    log_in(browser, "barista")
    flow = partner("openid profile")
    tokens = browser.redeem(flow, browser.code_for(flow, "barista")).json()
    listing = browser.get("/account/consents")
    assert listing.status_code == 200 and "Partner Rewards" in listing.text
    revoked = browser.post(
        "/account/consents/revoke",
        data={"csrf_token": hidden_fields(listing.text)["csrf_token"], "client_id": "partner"},
    )
    assert revoked.status_code == 303
    assert "Partner Rewards" not in browser.get("/account/consents").text
    assert browser.get(partner().url()).headers["location"].startswith("/consent?")
    response = httpx.post(
        live_server.url + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("partner", PARTNER_SECRET),
    )
    assert response.json()["error"] == "invalid_grant"


def test_connected_applications_say_in_words_what_each_may_do(browser: BrowserLike, live_server: Any) -> None:
    from authgate.oidc import consents

    services = live_server.services
    with services.realm(actor="test") as realm:
        if realm.apis.find("https://tea.example") is None:
            realm.apis.create("https://tea.example", "Tea House")
            realm.apis.add_permission("https://tea.example", "brew:tea", "Brew tea in your name")
            realm.apis.add_permission("https://tea.example", "read:tea")
        user_id = realm.users.get("other").id
    consents.grant(services, user_id, "partner", ["openid", "email", "brew:tea", "read:tea", "https://tea.example"])
    try:
        log_in(browser, "other")
        listing = browser.get("/account/consents").text
        for words in ("Know who you are", "See your email address", "Brew tea in your name", "Use Tea House: read:tea"):
            assert words in listing
        assert "brew:tea," not in listing and "https://tea.example" not in listing, "no raw scope names"
    finally:
        consents.revoke(services, user_id, "partner", ip=None)
