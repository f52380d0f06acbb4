"""Every RFC 6749 §5.2 error of the token endpoint, with its status and headers, in one table."""

from __future__ import annotations

import pytest
from test_token_world import (
    BACKOFFICE_SECRET,
    DISABLED_SECRET,
    HTTP,
    INVENTORY,
    PASSWORD,
    REPORT_SECRET,
    THIRD_PARTY_SECRET,
    basic,
    token_server,
)

__all__ = ["token_server"]
FORM = "application/x-www-form-urlencoded"
BASIC_CHALLENGE = "WWW-Authenticate"


def form_body(**fields: str) -> str:
    from urllib.parse import urlencode

    return urlencode(fields)


# (id, body, headers, method, status, error, expects a Basic challenge)
CASES = [
    # invalid_request: the request itself is malformed (RFC 6749 §5.2, §3.2)
    ("missing-grant-type", form_body(client_id="coffee-app"), {}, "POST", 400, "invalid_request", False),
    ("duplicate-parameter", "grant_type=password&grant_type=password&client_id=coffee-app",
     {}, "POST", 400, "invalid_request", False),
    ("json-body", '{"grant_type": "client_credentials"}',
     {"Content-Type": "application/json"}, "POST", 400, "invalid_request", False),
    ("no-content-type", "grant_type=client_credentials", {"Content-Type": ""}, "POST", 400, "invalid_request", False),
    ("huge-body", "grant_type=password&x=" + "a" * 70_000, {}, "POST", 413, "invalid_request", False),
    ("get-method", "", {}, "GET", 405, "invalid_request", False),
    ("two-auth-methods", form_body(grant_type="client_credentials", client_secret=REPORT_SECRET),
     basic("nightly-report", REPORT_SECRET), "POST", 400, "invalid_request", False),
    ("basic-and-other-body-client", form_body(grant_type="client_credentials", client_id="backoffice"),
     basic("nightly-report", REPORT_SECRET), "POST", 400, "invalid_request", False),
    ("password-missing", form_body(grant_type="password", client_id="coffee-app", username="barista"),
     {}, "POST", 400, "invalid_request", False),
    ("refresh-token-missing", form_body(grant_type="refresh_token", client_id="coffee-app"),
     {}, "POST", 400, "invalid_request", False),
    # invalid_client: authentication failed (401; a Basic challenge when Basic was tried)
    ("wrong-secret-basic", form_body(grant_type="client_credentials"),
     basic("nightly-report", "x" * 40), "POST", 401, "invalid_client", True),
    ("malformed-basic", form_body(grant_type="client_credentials"),
     {"Authorization": "Basic !!!not-base64"}, "POST", 401, "invalid_client", True),
    ("unknown-client-basic", form_body(grant_type="client_credentials"),
     basic("ghost", "x" * 40), "POST", 401, "invalid_client", True),
    ("wrong-secret-post",
     form_body(grant_type="client_credentials", client_id="nightly-report", client_secret="y" * 40),
     {}, "POST", 401, "invalid_client", False),
    ("unknown-public-client", form_body(grant_type="password", client_id="ghost", username="a", password="b"),
     {}, "POST", 401, "invalid_client", False),
    ("confidential-without-secret", form_body(grant_type="client_credentials", client_id="nightly-report"),
     {}, "POST", 401, "invalid_client", False),
    ("no-client-at-all", form_body(grant_type="client_credentials"), {}, "POST", 401, "invalid_client", False),
    ("disabled-client", form_body(grant_type="client_credentials"),
     basic("retired", DISABLED_SECRET), "POST", 401, "invalid_client", True),
    ("public-client-with-secret",
     form_body(grant_type="password", client_id="coffee-app", client_secret="z" * 40, username="barista",
               password=PASSWORD),
     {}, "POST", 401, "invalid_client", False),
    # invalid_grant: the grant itself is wrong
    ("wrong-password", form_body(grant_type="password", client_id="coffee-app", username="barista", password="wrong"),
     {}, "POST", 400, "invalid_grant", False),
    ("unknown-user",
     form_body(grant_type="password", client_id="coffee-app", username="nobody-here", password=PASSWORD),
     {}, "POST", 400, "invalid_grant", False),
    ("unknown-refresh-token",
     form_body(grant_type="refresh_token", client_id="coffee-app", refresh_token="not-a-token"),
     {}, "POST", 400, "invalid_grant", False),
    # unauthorized_client: authenticated, but not allowed this grant
    ("grant-not-listed",
     form_body(grant_type="client_credentials", client_id="nightly-report", client_secret=REPORT_SECRET)
     .replace("client_credentials", "password") + "&username=barista&password=x",
     {}, "POST", 400, "unauthorized_client", False),
    ("public-client-credentials", form_body(grant_type="client_credentials", client_id="coffee-app"),
     {}, "POST", 400, "unauthorized_client", False),
    ("refresh-not-listed", form_body(grant_type="refresh_token", client_id="coffee-lite", refresh_token="x"),
     {}, "POST", 400, "unauthorized_client", False),
    ("third-party-password", form_body(grant_type="password", username="barista", password=PASSWORD),
     basic("partner", THIRD_PARTY_SECRET), "POST", 400, "unauthorized_client", False),
    # unsupported_grant_type
    ("implicit", form_body(grant_type="implicit", client_id="coffee-app"),
     {}, "POST", 400, "unsupported_grant_type", False),
    ("device-code", form_body(grant_type="urn:ietf:params:oauth:grant-type:device_code", client_id="coffee-app"),
     {}, "POST", 400, "unsupported_grant_type", False),
    # invalid_scope (see oauth2/scopes.py for when it applies)
    ("unsupported-oidc-scope",
     form_body(grant_type="password", client_id="coffee-app", username="barista", password=PASSWORD,
               scope="openid address"),
     {}, "POST", 400, "invalid_scope", False),
    ("offline-access-without-refresh",
     form_body(grant_type="password", client_id="coffee-lite", username="barista", password=PASSWORD,
               scope="offline_access"),
     {}, "POST", 400, "invalid_scope", False),
    ("openid-for-a-machine", form_body(grant_type="client_credentials", scope="openid"),
     basic("nightly-report", REPORT_SECRET), "POST", 400, "invalid_scope", False),
    ("malformed-scope", form_body(grant_type="client_credentials", scope='get:drinks "quoted"'),
     basic("nightly-report", REPORT_SECRET), "POST", 400, "invalid_scope", False),
    # invalid_target (RFC 8707 §2)
    ("unknown-audience", form_body(grant_type="client_credentials", audience="https://nowhere.example"),
     basic("backoffice", BACKOFFICE_SECRET), "POST", 400, "invalid_target", False),
    ("two-resources", f"grant_type=client_credentials&resource={INVENTORY}&resource=https://coffee.example/api",
     basic("backoffice", BACKOFFICE_SECRET), "POST", 400, "invalid_target", False),
]


@pytest.mark.parametrize(("body", "headers", "method", "status", "error", "challenge"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_token_endpoint_errors(token_server, body, headers, method, status, error, challenge):
    sent = {"Content-Type": FORM, **headers}
    if sent["Content-Type"] == "":
        del sent["Content-Type"]
    response = HTTP.request(method, token_server.url + "/oauth/token", content=body.encode(), headers=sent)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["error"] == error
    assert set(payload) <= {"error", "error_description", "error_uri"}  # RFC 6749 §5.2 shape
    assert response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"].startswith("application/json")
    if challenge:
        assert response.headers[BASIC_CHALLENGE].startswith("Basic ")
    else:
        assert BASIC_CHALLENGE not in response.headers
    if status == 405:
        assert "POST" in response.headers["allow"]


def test_a_successful_answer_is_not_cached_either(token_server):
    response = HTTP.post(token_server.url + "/oauth/token", data={"grant_type": "client_credentials"},
                          headers=basic("nightly-report", REPORT_SECRET))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"


def test_client_id_in_the_body_beside_matching_basic_is_accepted(token_server):
    response = HTTP.post(token_server.url + "/oauth/token",
                         data={"grant_type": "client_credentials", "client_id": "backoffice"},
                         headers=basic("backoffice", BACKOFFICE_SECRET))
    assert response.status_code == 200, response.text
