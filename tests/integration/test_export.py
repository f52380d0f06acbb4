"""`authgate export`: export → apply on an empty database → export gives the same bytes, on both databases,
and what was restored works: passwords sign in, client secrets authenticate, subjects stay the same."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest
from starlette.testclient import TestClient

from authgate import bootstrap
from authgate.federation.providers import ProviderSecrets
from authgate.provisioning import apply_realm
from authgate.provisioning.export import export_realm, section_exporters, to_yaml
from authgate.provisioning.realm_file import RealmFileError, parse_realm
from authgate.services import Services
from authgate.settings import Settings
from authgate.web.app import create_app
from testkit import empty_postgres

PASSWORD = "test-fixture export passphrase 7"
CLIENT_SECRET = "test-fixture-export-client-secret-0123456789"
REALM = f"""
apis:
  - identifier: https://coffee.example/api
    name: Coffee Shop
    permissions: [post:drinks, get:drinks]
roles:
  - name: barista
    description: Makes drinks
    permissions: {{https://coffee.example/api: [get:drinks]}}
  - name: manager
    permissions: {{https://coffee.example/api: [post:drinks, get:drinks]}}
users:
  - username: abe
    email: abe@example.com
    email_verified: true
    name: Abe Ünicode
    password: "{PASSWORD}"
    roles: [manager, barista]
  - username: legacy
    password_hash: "$2b$04$W44MrNq8aCpCYvsScz6Kx.poDUxpPMPLJ/.FOCBikxq.ndLJjdL06"  # bcrypt, imported
  - username: nopass
    disabled: true
clients:
  - client_id: coffee-app
    type: public
    redirect_uris: [http://127.0.0.1:5000/callback]
    grant_types: [authorization_code, refresh_token, password]
    default_audience: https://coffee.example/api
  - client_id: nightly
    client_secret: "{CLIENT_SECRET}"
    grant_types: [client_credentials]
    permissions: {{https://coffee.example/api: [get:drinks]}}
webhooks:
  - url: http://127.0.0.1:9/hooks
    events: [user.created, login.failed]
    description: the audit pipeline
"""


def export_text(services: Services, *, include_secrets: bool = True) -> str:
    with services.reader() as realm:
        sections = section_exporters(services.master_key_provider, lambda _n: None)
        return to_yaml(export_realm(realm.session, sections, include_secrets=include_secrets))


def apply_text(services: Services, text: str) -> None:
    with services.realm(actor="test") as realm:
        apply_realm(realm, parse_realm(text))


@pytest.fixture
def restored(make_settings: Callable[..., Settings], backend: str, database_url: str, tmp_path: Path,
             services: Services) -> Iterator[Callable[[], Services]]:
    """A second, empty database (schema and signing key only, as `authgate apply` leaves a new one)."""
    made: list[Services] = []

    def make() -> Services:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / 'restored.db'}"
        else:
            services.database.dispose()
            empty_postgres(database_url)
            url = database_url
        target = Services(make_settings(database_url=url))
        bootstrap.prepare(target)
        made.append(target)
        return target

    yield make
    for target in made:
        target.database.dispose()


def test_export_apply_export_is_byte_identical_and_the_restored_realm_works(services, load_realm, restored):
    bootstrap.initialize(services, admin_password="test-fixture admin passphrase 9")
    load_realm(REALM)
    with services.reader() as realm:
        subject = realm.users.get("abe").subject
    exported = export_text(services)
    assert "password_hash: $argon2id$" in exported and "secret_hash:" in exported and "whsec_" in exported

    target = restored()
    apply_text(target, exported)
    assert export_text(target) == exported

    with target.reader() as realm:
        assert realm.users.get("abe").subject == subject, "a restore keeps every `sub`"
    with TestClient(create_app(services=target)) as client:
        token = client.post("/oauth/token", data={"grant_type": "password", "client_id": "coffee-app",
                                                  "username": "abe", "password": PASSWORD})
        assert token.status_code == 200, token.text
        assert jwt.decode(token.json()["access_token"], options={"verify_signature": False})["sub"] == subject
        machine = client.post("/oauth/token", data={"grant_type": "client_credentials", "audience": "https://coffee.example/api"},
                              auth=("nightly", CLIENT_SECRET))
        assert machine.status_code == 200, "the client secret survives through its digest"
        legacy = client.post("/oauth/token", data={"grant_type": "password", "client_id": "coffee-app",
                                                   "username": "legacy", "password": "legacy export passphrase 3"})
        assert legacy.status_code == 200


def test_without_secrets_the_export_holds_no_hash_and_round_trips_too(services, load_realm, restored):
    load_realm(REALM)
    exported = export_text(services, include_secrets=False)
    assert "password_hash" not in exported and "secret_hash" not in exported and "whsec_" not in exported
    target = restored()
    apply_text(target, exported)
    assert export_text(target, include_secrets=False) == exported
    with target.reader() as realm:
        assert realm.users.get("abe").password_hash is None, "no password: the person resets it"


def test_the_export_is_sorted_and_leaves_defaults_out(services, load_realm):
    load_realm(REALM)
    exported = export_text(services)
    abe, legacy, nopass = (exported.index(f"- username: {name}") for name in ("abe", "legacy", "nopass"))
    assert abe < legacy < nopass
    assert "  permissions:\n  - get:drinks\n  - post:drinks\n" in exported
    assert "  roles:\n  - barista\n  - manager\n" in exported
    assert "first_party" not in exported, "a field at its default is left out"


@pytest.mark.parametrize(("entry", "problem"), [
    pytest.param("  - client_id: c\n    secret_hash: nothex\n    grant_types: [client_credentials]\n",
                 "clients[0] (line 2) secret_hash: secret_hash must be the SHA-256 digest", id="bad-digest"),
    pytest.param("  - client_id: c\n    type: public\n    grant_types: [refresh_token]\n"
                 "    secret_hash: " + "a" * 64 + "\n",
                 "clients[0] (line 2) secret_hash: a public client has no secret", id="public-with-digest"),
], )
def test_a_bad_client_digest_names_the_entry(services, entry, problem):
    with pytest.raises(RealmFileError) as raised:
        apply_text(services, "clients:\n" + entry)
    assert any(line.startswith(problem) for line in raised.value.problems), raised.value.problems


def test_a_subject_is_kept_once_and_never_taken_twice(services):
    subject = "0f0e2a6c-3b52-4c4c-9d8e-1b2f3a4c5d6e"
    apply_text(services, f"users:\n  - username: a\n    subject: {subject}\n")
    with pytest.raises(RealmFileError, match=r"users\[0\] \(line 2\).*already exists"):
        apply_text(services, f"users:\n  - username: b\n    subject: {subject}\n")
    with pytest.raises(RealmFileError, match=r"users\[0\] \(line 2\) subject: subject must be a UUID"):
        apply_text(services, "users:\n  - username: c\n    subject: not-a-uuid\n")


IDP_REALM = """
identity_providers:
  - alias: corp
    display_name: Corp SSO
    issuer: https://sso.corp.example
    client_id: authgate
    client_secret: test-fixture-idp-secret-0123456789
    roles_from: {claim: groups, map: {baristas: barista}}
    trust_email: true
roles:
  - name: barista
"""


def test_identity_providers_round_trip_with_their_sealed_secret(services, restored):
    """Export includes the identity providers (federation's own realm-file shape); their client secret only
    with --include-secrets, opened from and sealed again with each database's master key."""
    def apply_with_secrets(target: Services, text: str) -> None:
        with target.realm(actor="test") as realm:
            apply_realm(realm, parse_realm(text), provider_secrets=ProviderSecrets(target.master_key))

    apply_with_secrets(services, IDP_REALM)
    exported = export_text(services)
    assert "identity_providers:" in exported and "test-fixture-idp-secret-0123456789" in exported
    assert "test-fixture-idp-secret" not in export_text(services, include_secrets=False)

    target = restored()
    apply_with_secrets(target, exported)
    assert export_text(target) == exported
