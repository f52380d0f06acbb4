"""The rules of federation, table-driven: what an identity provider entry may say, and who an upstream answer names."""

from __future__ import annotations

from typing import Any

import pytest

from authgate.errors import InvalidInput
from authgate.federation.identities import identity_from_claims
from authgate.federation.providers import RoleMapping, build_spec
from authgate.federation.upstream import UpstreamInvalid

OIDC = {"alias": "corp", "issuer": "https://sso.corp.example/", "client_id": "authgate"}


@pytest.mark.parametrize(("description", "changes", "field"), [
    ("an alias with upper case", {"alias": "Corp"}, "alias"),
    ("an alias with a NUL", {"alias": "co\x00rp"}, "alias"),
    ("an alias longer than its column", {"alias": "a" * 65}, "alias"),
    ("an unknown preset", {"preset": "myspace"}, "preset"),
    ("an unknown type", {"type": "saml"}, "type"),
    ("no client id", {"client_id": ""}, "client_id"),
    ("a NUL in the client id", {"client_id": "a\x00"}, "client_id"),
    ("an oidc provider without issuer", {"issuer": None}, "issuer"),
    ("plain http off loopback", {"issuer": "http://sso.corp.example"}, "issuer"),
    ("an issuer with a fragment", {"issuer": "https://sso.corp.example/#x"}, "issuer"),
    ("an oauth2 provider without endpoints", {"type": "oauth2"}, "authorization_endpoint"),
    ("a scope with a space", {"scopes": ["openid email"]}, "scopes"),
    ("an unknown claim key", {"claims": {"colour": "x"}}, "claims"),
    ("a claim name with a NUL", {"claims": {"email": "e\x00"}}, "claims"),
    ("roles_from without claim", {"roles_from": {"map": {}}}, "roles_from"),
    ("clients that are not a list", {"clients": "coffee-spa"}, "clients"),
])
def test_bad_entries_are_refused_naming_the_field(description: str, changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        build_spec({**OIDC, **changes})
    assert raised.value.field == field, description


def test_presets_fill_in_and_the_entry_wins() -> None:
    github = build_spec({"alias": "github", "preset": "github", "client_id": "id", "scopes": ["read:user"]})
    assert github.type == "oauth2" and github.token_endpoint == "https://github.com/login/oauth/access_token"
    assert github.claim_names["subject"] == "id" and github.scopes == ("read:user",)
    google = build_spec({"alias": "google", "preset": "google", "client_id": "id"})
    assert google.issuer == "https://accounts.google.com" and google.display_name == "Google"
    assert build_spec(OIDC).issuer == "https://sso.corp.example"  # compared without its trailing slash
    assert build_spec({**OIDC, "scopes": ["email"]}).scopes == ("openid", "email")  # OIDC needs openid


SPEC = build_spec({**OIDC, "roles_from": {"claim": "groups", "map": {"engineering": "developer", "ops": ["a", "b"]}},
                   "default_roles": ["staff"]})


@pytest.mark.parametrize(("description", "claims", "expected"), [
    ("groups mapped, then default roles", {"sub": "1", "groups": ["engineering", "ops", "other"]},
     {"roles": ("developer", "a", "b", "staff")}),
    ("a single group as a string", {"sub": "1", "groups": "engineering"}, {"roles": ("developer", "staff")}),
    ("email_verified must be asserted true", {"sub": "1", "email": "a@b.example", "email_verified": "yes"},
     {"email": "a@b.example", "email_verified": False}),
    ("a verified email", {"sub": "1", "email": "A@B.example", "email_verified": True}, {"email_verified": True}),
    ("an unusable email is none", {"sub": "1", "email": "not an address", "email_verified": True},
     {"email": None, "email_verified": False}),
    ("a NUL in the name is dropped", {"sub": "1", "name": "a\x00b"}, {"name": None}),
    ("a numeric subject (GitHub)", {"sub": 4242}, {"subject": "4242"}),
])
def test_who_an_upstream_answer_names(description: str, claims: dict[str, Any], expected: dict[str, Any]) -> None:
    identity = identity_from_claims(SPEC, claims)
    for key, value in expected.items():
        assert getattr(identity, key) == value, description


@pytest.mark.parametrize(
    "claims", [{}, {"sub": ""}, {"sub": "a\x00"}, {"sub": "s" * 256}, {"sub": True}, {"sub": None}]
)
def test_an_answer_without_a_usable_subject_is_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(UpstreamInvalid):
        identity_from_claims(SPEC, claims)


def test_role_mapping_ignores_what_it_does_not_know() -> None:
    mapping = RoleMapping("groups", {"x": ("r",)})
    assert mapping.roles_for({"groups": [1, None, "x", {"x": 1}]}) == ["r"]
    assert mapping.roles_for({}) == []
