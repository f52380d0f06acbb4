"""A form's CSRF token is bound to its browser and session: a forged or borrowed pair is refused.

For every hosted form: a cookie and field that are merely equal (what a planted
cookie gives an attacker) are refused, and so is a genuine cookie-and-token pair
of another session (the same user logged in elsewhere); each refusal is the
form's own 403 page, changes nothing, and the browser's own token then works.
The console's forms are in test_admin_console_csrf.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from oidc_client.flow import (
    PASSWORDS,
    THIRD_PARTY_REDIRECT,
    BrowserLike,
    Flow,
    hidden_fields,
    query_of,
)
from oidc_client.servers import serve_world

pytestmark = pytest.mark.xdist_group("test_csrf_binding")

CSRF_COOKIE = "authgate_csrf"
NEW_PASSWORD = "granite-willow-ferry-6028"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    yield from serve_world(request, tmp_path_factory.mktemp("csrf"), registration_enabled=True)


def log_in(browser: BrowserLike, username: str) -> None:
    browser.submit_login(browser.get(Flow().url()).headers["location"], username)


def partner(prompt: str | None = None) -> Flow:
    extra = {"prompt": prompt} if prompt else {}
    return Flow(
        client_id="partner", redirect_uri=THIRD_PARTY_REDIRECT, scope="openid profile", extra=extra
    )


def logged_in_here(browser: BrowserLike) -> bool:
    return "code" in query_of(browser.get(Flow(extra={"prompt": "none"}).url()).headers["location"])


def consented(browser: BrowserLike) -> bool:
    return "code" in query_of(browser.get(partner("none").url()).headers["location"])


@dataclass
class Form:
    """How a browser reaches one hosted form, what it posts, and whether the post took effect."""

    name: str
    user: (
        str | None
    )  # logged in first (the form belongs to a session), or None (a pre-session form)
    page: Callable[[BrowserLike], str]  # opens the page, returns its URL path
    action: str
    fields: dict[str, str]
    took_effect: Callable[[BrowserLike, Any], bool]  # (the browser, the server)
    prepare: Callable[[BrowserLike], None] = lambda browser: None


def _consent_page(browser: BrowserLike) -> str:
    return str(browser.get(partner("consent").url()).headers["location"])


def _grant_consent(browser: BrowserLike) -> None:
    page = browser.get(_consent_page(browser))
    assert (
        browser.post("/consent", data={**hidden_fields(page.text), "decision": "allow"}).status_code
        == 303
    )


FORMS = [
    Form(
        "login",
        None,
        lambda b: str(b.get(Flow().url()).headers["location"]),
        "/login",
        {"username": "manager", "password": PASSWORDS["manager"]},
        lambda b, s: logged_in_here(b),
    ),
    Form(
        "register",
        None,
        lambda b: "/register",
        "/register",
        {"username": "newcomer", "password": "thistle-harbor-quartz-8812"},
        lambda b, s: logged_in_here(b),
    ),
    Form(
        "consent",
        "other",
        _consent_page,
        "/consent",
        {"decision": "allow"},
        lambda b, s: consented(b),
    ),
    Form(
        "revoke a consent",
        "barista",
        lambda b: "/account/consents",
        "/account/consents/revoke",
        {"client_id": "partner"},
        lambda b, s: not consented(b),
        prepare=_grant_consent,
    ),
    Form(
        "sign out",
        "manager",
        lambda b: (
            "/logout?"
            + urlencode(
                {"client_id": "coffee-spa", "post_logout_redirect_uri": "http://127.0.0.1:5000/"}
            )
        ),
        "/logout",
        {},
        lambda b, s: not logged_in_here(b),
    ),
    Form(
        "change password",
        "manager",
        lambda b: "/account/password",
        "/account/password",
        {"current_password": PASSWORDS["manager"], "new_password": NEW_PASSWORD},
        lambda b, s: password_is(s, NEW_PASSWORD),
    ),
]


def _opened(form: Form, browser: BrowserLike) -> tuple[dict[str, str], str]:
    """The page's hidden fields and this browser's CSRF cookie."""
    page = browser.get(form.page(browser))
    assert page.status_code == 200, f"{form.name}: {page.status_code}"
    return hidden_fields(page.text), browser.http.cookies[CSRF_COOKIE]


def _plant(browser: BrowserLike, value: str) -> None:
    browser.http.cookies.delete(CSRF_COOKIE)
    browser.http.cookies.set(CSRF_COOKIE, value, domain="127.0.0.1", path="/")


def password_is(live_server: Any, password: str) -> bool:
    """Whether manager can log in with `password`, in a browser of its own."""
    probe = BrowserLike(live_server.url)
    try:
        landed = probe.submit_login(
            probe.get(Flow().url()).headers["location"], "manager", password
        )
        return landed.status_code == 303
    finally:
        probe.close()


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
def test_a_token_not_bound_to_this_browser_and_session_is_refused(
    live_server: Any, form: Form
) -> None:
    victim, attacker = BrowserLike(live_server.url), BrowserLike(live_server.url)
    try:
        for browser in (victim, attacker):
            if form.user:
                log_in(browser, form.user)
                form.prepare(browser)
        theirs, their_secret = _opened(form, attacker)
        fields, own_secret = _opened(form, victim)
        forged = "f" * 43
        for description, secret, token in [
            ("an equal cookie and field, planted", forged, forged),
            ("another session's genuine pair", their_secret, theirs["csrf_token"]),
            (
                "another session's token with this browser's cookie",
                own_secret,
                theirs["csrf_token"],
            ),
        ]:
            if form.user is None and description == "another session's genuine pair":
                continue  # before login the secret is the session: planting the pair plants it
            _plant(victim, secret)
            refused = victim.post(form.action, data={**fields, **form.fields, "csrf_token": token})
            assert refused.status_code == 403, f"{form.name}, {description}: {refused.status_code}"
            assert "This form expired or came from another site" in refused.text, (
                f"{form.name}, {description}"
            )
            _plant(victim, own_secret)
            assert not form.took_effect(victim, live_server), f"{form.name}, {description}"
        fields, _ = _opened(form, victim)
        accepted = victim.post(form.action, data={**fields, **form.fields})
        assert accepted.status_code in (200, 303), (
            f"{form.name}: {accepted.status_code} {accepted.text[:300]}"
        )
        assert form.took_effect(victim, live_server), form.name
    finally:
        victim.close()
        attacker.close()
        with live_server.services.realm(
            actor="test"
        ) as realm:  # the next form's manager logs in as before
            realm.users.set_password("manager", PASSWORDS["manager"])
