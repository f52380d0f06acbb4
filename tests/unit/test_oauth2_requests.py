"""Request parsing: the form rules (RFC 6749 §3.1, §3.2), client authentication (§2.3), scope and audience."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest

from authgate import tokens
from authgate.oauth2 import scopes
from authgate.oauth2.client_auth import BASIC, NONE, POST, authenticate_client
from authgate.oauth2.client_directory import ClientRecord
from authgate.oauth2.errors import InvalidClient, InvalidRequest, InvalidScope, InvalidTarget, OAuthError
from authgate.oauth2.form import Form

SECRET = "s3cret:with spaces+plus&amp/" + "x" * 20  # TEST FIXTURE ONLY
CONFIDENTIAL = ClientRecord(
    pk=1, client_id="svc:one", type="confidential", secret_hash=tokens.digest(SECRET),
    grant_types=frozenset({"client_credentials"}),
    redirect_uris=(), post_logout_redirect_uris=(), web_origins=(), first_party=True, default_audience="https://api",
    disabled=False, permissions={"https://api": ("read",)},
)
PUBLIC = replace(
    CONFIDENTIAL, pk=2, client_id="spa", type="public", secret_hash=None, grant_types=frozenset({"password"})
)


class Directory:
    def __init__(self, *records: ClientRecord, audiences: tuple[str, ...] = ("https://api", "https://other")) -> None:
        self.records = {record.client_id: record for record in records}
        self.audiences = frozenset(audiences)

    def get(self, client_id: str) -> ClientRecord | None:
        return self.records.get(client_id)

    def get_audiences(self) -> frozenset[str]:
        return self.audiences


def basic_header(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


# --- form ------------------------------------------------------------------------
def test_form_rejects_repeats_but_allows_resource():
    with pytest.raises(InvalidRequest):
        Form([("grant_type", "a"), ("grant_type", "a")])
    form = Form([("resource", "https://a"), ("resource", "https://b"), ("scope", "")])
    assert form.get_all("resource") == ["https://a", "https://b"]
    assert form.get("scope") is None and "scope" not in form, "RFC 6749 §3.1: empty means omitted"


# --- client authentication -----------------------------------------------------------
def encoded_basic(client_id: str, secret: str) -> str:
    from urllib.parse import quote_plus

    return basic_header(f"{quote_plus(client_id)}:{quote_plus(secret)}")


AUTH_CASES = [
    pytest.param(Form([]), encoded_basic("svc:one", SECRET), BASIC, id="basic-urlencoded-halves"),
    pytest.param(Form([("client_id", "svc:one")]), encoded_basic("svc:one", SECRET), BASIC,
                 id="basic-with-matching-body-id"),
    pytest.param(Form([("client_id", "svc:one"), ("client_secret", SECRET)]), None, POST, id="post"),
    pytest.param(Form([("client_id", "spa")]), None, NONE, id="public-none"),
    pytest.param(Form([("client_id", "spa")]), "Bearer abc", NONE, id="other-scheme-ignored"),
]


@pytest.mark.parametrize(("form", "header", "method"), AUTH_CASES)
def test_client_authentication_methods(form, header, method):
    assert authenticate_client(Directory(CONFIDENTIAL, PUBLIC), form, header).method == method  # type: ignore[arg-type]


REFUSALS = [
    pytest.param(Form([("client_secret", SECRET)]), encoded_basic("svc:one", SECRET), InvalidRequest, False,
                 id="two-methods"),
    pytest.param(Form([("client_id", "spa")]), encoded_basic("svc:one", SECRET), InvalidRequest, False,
                 id="body-id-differs"),
    pytest.param(Form([]), basic_header("svc%3Aone:" + "wrong" * 8), InvalidClient, True, id="wrong-secret"),
    pytest.param(Form([]), basic_header("no-colon"), InvalidClient, True, id="no-colon"),
    pytest.param(Form([]), "Basic ***", InvalidClient, True, id="not-base64"),
    pytest.param(Form([("client_id", "svc:one")]), None, InvalidClient, False, id="confidential-without-secret"),
    pytest.param(Form([("client_id", "spa"), ("client_secret", SECRET)]), None, InvalidClient, False,
                 id="public-with-secret"),
    pytest.param(Form([("client_id", "ghost"), ("client_secret", SECRET)]), None, InvalidClient, False, id="unknown"),
    pytest.param(Form([]), None, InvalidClient, False, id="nothing"),
]


@pytest.mark.parametrize(("form", "header", "error", "challenge"), REFUSALS)
def test_client_authentication_refusals(form, header, error, challenge):
    with pytest.raises(error) as raised:
        authenticate_client(Directory(CONFIDENTIAL, PUBLIC), form, header)  # type: ignore[arg-type]
    assert ("WWW-Authenticate" in raised.value.headers) is challenge


def test_a_disabled_client_is_refused_like_a_wrong_secret():
    directory = Directory(replace(CONFIDENTIAL, disabled=True))
    with pytest.raises(InvalidClient):
        authenticate_client(directory, Form([("client_id", "svc:one"), ("client_secret", SECRET)]), None)  # type: ignore[arg-type]


# --- scope ---------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "oidc", "permissions"), [
    (None, (), None),
    ("openid read", ("openid",), ("read",)),
    ("read  write read", (), ("read", "write")),
    ("email openid offline_access", ("openid", "email", "offline_access"), None),
])
def test_parse_scope(raw, oidc, permissions):
    parsed = scopes.parse_scope(raw)
    assert parsed.oidc == oidc and parsed.permissions == permissions


@pytest.mark.parametrize("raw", ['read "quoted"', "back\\slash", "   ", "openid phone", "address"])
def test_invalid_scope(raw):
    with pytest.raises(InvalidScope):
        scopes.parse_scope(raw)


def test_offline_access_needs_the_refresh_token_grant():
    with pytest.raises(InvalidScope):
        scopes.check_offline_access(scopes.parse_scope("offline_access"), PUBLIC)
    refreshing = replace(PUBLIC, grant_types=frozenset({"refresh_token"}))
    scopes.check_offline_access(scopes.parse_scope("offline_access"), refreshing)


def test_granted_scope_leaves_out_what_is_not_held():
    assert scopes.granted_scope(scopes.parse_scope("openid read write"), ["read"]) == (["read"], ["openid", "read"])
    assert scopes.granted_scope(scopes.parse_scope(None), ["read", "write"]) == (["read", "write"], ["read", "write"])


@pytest.mark.parametrize(("fields", "outcome"), [
    ([], "https://api"),
    ([("audience", "https://other")], "https://other"),
    ([("resource", "https://other")], "https://other"),
    ([("resource", "https://other"), ("audience", "https://other")], "https://other"),
    ([("audience", "https://nowhere")], InvalidTarget),
    ([("resource", "relative/path")], InvalidTarget),
    ([("resource", "https://api"), ("resource", "https://other")], InvalidTarget),
])
def test_resolve_audience(fields, outcome):
    directory = Directory(CONFIDENTIAL)
    if isinstance(outcome, type) and issubclass(outcome, OAuthError):
        with pytest.raises(outcome):
            scopes.resolve_audience(Form(fields), CONFIDENTIAL, directory)  # type: ignore[arg-type]
    else:
        assert scopes.resolve_audience(Form(fields), CONFIDENTIAL, directory) == outcome  # type: ignore[arg-type]


def test_no_audience_at_all_is_invalid_target():
    with pytest.raises(InvalidTarget):
        scopes.resolve_audience(Form([]), replace(CONFIDENTIAL, default_audience=None), Directory())  # type: ignore[arg-type]
