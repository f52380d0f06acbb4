"""The authorization endpoint: every error path, where it goes (page or redirect), and the happy path.

Over real HTTP against the live server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from oidc_client.flow import SPA_REDIRECT, THIRD_PARTY_REDIRECT, BrowserLike, Flow, query_of
from oidc_client.servers import serve_world

# One worker runs this module: its tests share one server per backend (see oidc_client/servers.py).
pytestmark = pytest.mark.xdist_group("test_oidc_authorize")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve_world(request, tmp_path_factory.mktemp("authorize"))


@pytest.fixture
def browser(live_server: Any) -> Iterator[BrowserLike]:
    client = BrowserLike(live_server.url)
    yield client
    client.close()


def _with(**changes: str | None) -> dict[str, str]:
    params = Flow().params()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return params


# Errors that must NOT redirect: the client or its redirect URI cannot be trusted (RFC 6749 §4.1.2.1).
PAGE_ERRORS = [
    pytest.param(_with(client_id="nobody"), "not known", id="unknown-client"),
    pytest.param(_with(client_id=None), "client_id is missing", id="missing-client-id"),
    pytest.param(_with(redirect_uri="https://evil.example/cb"), "not registered", id="unregistered-redirect-uri"),
    pytest.param(
        _with(redirect_uri=SPA_REDIRECT + "/extra"), "not registered", id="redirect-uri-prefix-is-not-a-match"
    ),
    pytest.param(
        _with(redirect_uri=SPA_REDIRECT.upper().replace("HTTP://", "http://")), "not registered",
        id="redirect-uri-case-differs",
    ),
    pytest.param(_with(redirect_uri=None), "requires", id="openid-request-without-redirect-uri"),
]


@pytest.mark.parametrize(("params", "message"), PAGE_ERRORS)
def test_untrusted_requests_get_an_error_page_and_no_redirect(
    browser: BrowserLike, params: dict[str, str], message: str
) -> None:
    response = browser.get("/authorize?" + urlencode(params))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text
    assert response.headers["x-frame-options"] == "DENY"


# Errors that go back to the client's verified redirect URI with state and iss (RFC 6749 §4.1.2.1, RFC 9207).
REDIRECT_ERRORS = [
    pytest.param(_with(response_type="token"), "unsupported_response_type", id="implicit-response-type"),
    pytest.param(_with(response_type="code id_token"), "unsupported_response_type", id="hybrid-response-type"),
    pytest.param(_with(response_type=None), "invalid_request", id="missing-response-type"),
    pytest.param(
        _with(code_challenge=None, code_challenge_method=None), "invalid_request", id="public-client-without-pkce"
    ),
    pytest.param(_with(code_challenge_method="plain"), "invalid_request", id="plain-pkce-refused"),
    pytest.param(_with(code_challenge_method=None), "invalid_request", id="pkce-method-omitted-means-plain"),
    pytest.param(_with(code_challenge="short"), "invalid_request", id="malformed-challenge"),
    pytest.param(_with(prompt="none"), "login_required", id="prompt-none-without-session"),
    pytest.param(_with(prompt="none login"), "invalid_request", id="prompt-none-combined"),
    pytest.param(_with(prompt="bogus"), "invalid_request", id="unknown-prompt"),
    pytest.param(_with(max_age="-1"), "invalid_request", id="negative-max-age"),
    pytest.param(_with(scope="openid address"), "invalid_scope", id="unsupported-oidc-scope"),
    pytest.param(_with(audience="https://unknown.example/api"), "invalid_target", id="unknown-audience"),
    pytest.param(_with(request="eyJhbGciOiJub25lIn0.e30."), "request_not_supported", id="request-object"),
    pytest.param(_with(request_uri="https://rp.example/req"), "request_uri_not_supported", id="request-uri"),
    pytest.param(_with(response_mode="fragment"), "invalid_request", id="unsupported-response-mode"),
    pytest.param(_with(claims="{not json"), "invalid_request", id="malformed-claims"),
]


@pytest.mark.parametrize(("params", "error"), REDIRECT_ERRORS)
def test_errors_are_redirected_to_the_client_with_state_and_iss(
    browser: BrowserLike, live_server: Any, params: dict[str, str], error: str
) -> None:
    response = browser.get("/authorize?" + urlencode(params))
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(SPA_REDIRECT + "?")
    query = query_of(location)
    assert query["error"] == error
    assert query["state"] == params["state"]
    assert query["iss"] == live_server.url  # RFC 9207 §2
    assert "code" not in query


def test_repeated_parameter_is_refused(browser: BrowserLike) -> None:
    query = urlencode(_with()) + "&scope=openid"
    response = browser.get("/authorize?" + query)
    assert response.status_code == 400
    assert "repeated" in response.text or "more than once" in response.text


def test_a_logged_in_user_gets_a_code_with_state_and_iss(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow()
    response = browser.authorize(flow)
    assert response.status_code == 302
    query = query_of(response.headers["location"])
    assert query["state"] == flow.state and query["iss"] == live_server.url and len(query["code"]) >= 40
    assert response.headers["referrer-policy"] == "no-referrer"


def test_redirect_uri_may_be_omitted_only_without_openid_and_with_one_registered(browser: BrowserLike) -> None:
    browser.authorize(Flow(client_id="partner", redirect_uri=THIRD_PARTY_REDIRECT))
    params = Flow(client_id="partner", scope="profile").params()
    params.pop("redirect_uri")
    response = browser.get("/authorize?" + urlencode(params))
    assert response.status_code == 302
    assert response.headers["location"].startswith(THIRD_PARTY_REDIRECT + "?code=")


def test_post_authorization_request_is_supported(browser: BrowserLike) -> None:
    flow = Flow()
    browser.authorize(flow)  # log in
    response = browser.post("/authorize", data=Flow().params())
    assert response.status_code == 302
    assert "code" in query_of(response.headers["location"])


def test_form_post_response_mode_renders_an_auto_submitting_form(browser: BrowserLike, live_server: Any) -> None:
    flow = Flow(extra={"response_mode": "form_post"})
    page = browser.authorize(flow)
    assert page.status_code == 200
    assert f'action="{SPA_REDIRECT}"' in page.text
    assert f'name="state" value="{flow.state}"' in page.text
    assert f'name="iss" value="{live_server.url}"' in page.text
    assert 'name="code"' in page.text
    assert '<button type="submit"' in page.text  # works with JavaScript off
    csp = page.headers["content-security-policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page.text
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp


def test_form_post_errors_are_posted_too(browser: BrowserLike) -> None:
    page = browser.get("/authorize?" + urlencode(_with(response_mode="form_post", prompt="none")))
    assert page.status_code == 200
    assert 'name="error" value="login_required"' in page.text


# Parameters the server accepts and may ignore (OIDC Core §3.1.2.1: display, ui_locales,
# claims_locales, acr_values are hints; unknown parameters MUST be ignored, RFC 6749 §3.1).
ACCEPTED = [
    pytest.param({"display": "page"}, id="display-page"),
    pytest.param({"display": "popup"}, id="display-popup"),
    pytest.param({"ui_locales": "se"}, id="ui-locales"),
    pytest.param({"claims_locales": "se"}, id="claims-locales"),
    pytest.param({"acr_values": "1 2"}, id="acr-values"),
    pytest.param({"claims": '{"userinfo": {"name": {"essential": true}}}'}, id="claims-essential-ignored"),
    pytest.param({"scope": "email openid"}, id="other-scope-order"),
    pytest.param({"extra": "foobar"}, id="unknown-parameter"),
    pytest.param({"nonce": None}, id="no-nonce-in-code-flow"),
]


@pytest.mark.parametrize("changes", ACCEPTED)
def test_optional_and_unknown_parameters_are_accepted(browser: BrowserLike, changes: dict[str, str | None]) -> None:
    browser.authorize(Flow())  # log in
    response = browser.get("/authorize?" + urlencode(_with(**changes)))
    assert response.status_code == 302, response.text
    assert "code" in query_of(response.headers["location"])
