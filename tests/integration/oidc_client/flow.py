"""Helpers for the OIDC integration tests: build the world, and drive the hosted pages over plain HTTP.

`BrowserLike` is an httpx client that keeps cookies and follows nothing by
itself, so each test sees every redirect the server makes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from authgate.provisioning import apply_realm
from authgate.provisioning.realm_file import parse_realm
from authgate.services import Services

# TEST FIXTURE ONLY: passwords for the test users; strong enough for the password policy.
PASSWORDS = {
    "barista": "espresso-tamper-crema-1977", "manager": "menu-board-latte-art-2024", "other": "oat-milk-cortado-3141",
}
SPA_REDIRECT = "http://127.0.0.1:5000/callback"
THIRD_PARTY_REDIRECT = "https://partner.example/cb"
# TEST FIXTURE ONLY: the confidential third-party client's secret.
PARTNER_SECRET = "partner-secret-for-tests-only-0123456789"

REALM = f"""
apis:
  - identifier: https://coffee.example/api
    name: Coffee Shop
    permissions: [get:drinks, get:drinks-detail, post:drinks, patch:drinks, delete:drinks]
roles:
  - name: barista
    permissions: {{https://coffee.example/api: [get:drinks, get:drinks-detail]}}
  - name: manager
    permissions:
      https://coffee.example/api: [get:drinks, get:drinks-detail, post:drinks, patch:drinks, delete:drinks]
users:
  - {{username: barista, email: barista@coffee.example, name: Bea Barista, roles: [barista]}}
  - {{username: manager, email: manager@coffee.example, name: Max Manager, roles: [manager]}}
  - {{username: other, roles: []}}
clients:
  - client_id: coffee-spa
    name: Coffee Shop
    type: public
    redirect_uris: [{SPA_REDIRECT}, http://localhost:5000/callback]
    post_logout_redirect_uris: [http://127.0.0.1:5000/]
    web_origins: [http://127.0.0.1:5000]
    grant_types: [authorization_code, refresh_token]
    default_audience: https://coffee.example/api
  - client_id: partner
    name: Partner Rewards
    type: confidential
    client_secret: {PARTNER_SECRET}
    first_party: false
    redirect_uris: [{THIRD_PARTY_REDIRECT}]
    post_logout_redirect_uris: [https://partner.example/bye]
    grant_types: [authorization_code, refresh_token]
"""


def build_world(services: Services, realm_yaml: str = REALM) -> None:
    with services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(realm_yaml))
        for username, password in PASSWORDS.items():
            if realm.users.find(username) is not None:
                realm.users.set_password(username, password)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF field"
    return found.group(1)


def hidden_fields(html: str) -> dict[str, str]:
    import html as html_lib

    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    return {name: html_lib.unescape(value) for name, value in hidden}


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


@dataclass
class Flow:
    """One authorization request's parameters, with PKCE and state/nonce filled in."""

    client_id: str = "coffee-spa"
    redirect_uri: str = SPA_REDIRECT
    scope: str = "openid profile email"
    extra: dict[str, str] = field(default_factory=dict)
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    verifier: str = ""
    challenge: str = ""

    def __post_init__(self) -> None:
        self.verifier, self.challenge = pkce_pair()

    def params(self) -> dict[str, str]:
        values = {
            "response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
            "scope": self.scope, "state": self.state, "nonce": self.nonce,
            "code_challenge": self.challenge, "code_challenge_method": "S256",
        }
        values.update(self.extra)
        return {k: v for k, v in values.items() if v is not None}

    def url(self) -> str:
        return "/authorize?" + urlencode(self.params())


class BrowserLike:
    """Cookies kept, redirects not followed: a browser whose every step the test can see."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=10)

    def close(self) -> None:
        self.http.close()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(url, **kwargs)

    def submit_login(self, login_location: str, username: str, password: str | None = None) -> httpx.Response:
        page = self.get(login_location)
        assert page.status_code == 200, page.text
        fields = hidden_fields(page.text)
        fields.update(username=username, password=password if password is not None else PASSWORDS[username])
        return self.post("/login", data=fields)

    def authorize(self, flow: Flow, username: str | None = "barista") -> httpx.Response:
        """GET /authorize, logging in and allowing consent when asked; returns the final response."""
        response = self.get(flow.url())
        for _ in range(6):
            location = response.headers.get("location", "")
            if response.status_code in (302, 303) and location.startswith("/login") and username:
                response = self.submit_login(location, username)
            elif response.status_code in (302, 303) and location.startswith("/consent"):
                page = self.get(location)
                fields = hidden_fields(page.text)
                response = self.post("/consent", data={**fields, "decision": "allow"})
            elif response.status_code in (302, 303) and location.startswith("/authorize"):
                response = self.get(location)
            else:
                return response
        raise AssertionError("too many redirects")

    def code_for(self, flow: Flow, username: str = "barista") -> str:
        response = self.authorize(flow, username)
        assert response.status_code == 302, response.text
        query = query_of(response.headers["location"])
        assert query.get("state") == flow.state
        return query["code"]

    def redeem(self, flow: Flow, authorization_code: str, **overrides: str | None) -> httpx.Response:
        data: dict[str, str | None] = {
            "grant_type": "authorization_code", "code": authorization_code, "redirect_uri": flow.redirect_uri,
            "client_id": flow.client_id, "code_verifier": flow.verifier,
        }
        data.update(overrides)
        auth = None
        if data.get("client_id") == "partner":
            auth = ("partner", PARTNER_SECRET)
            data.pop("client_id")
        sent = {k: v for k, v in data.items() if v is not None}
        return httpx.post(self.base_url + "/oauth/token", data=sent, auth=auth)
