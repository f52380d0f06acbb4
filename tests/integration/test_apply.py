"""`apply` on both databases: idempotent, all-or-nothing, fast for large imports."""

from pathlib import Path

import pytest
from sqlalchemy import select, text

from authgate.provisioning import apply_realm, load_realm_file
from authgate.provisioning.realm_file import RealmFileError, parse_realm
from authgate.storage.models import AuditEvent, Base, User

SAMPLE = Path(__file__).parent.parent / "fixtures" / "spec_sample.yaml"


def snapshot(services) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    state = {}
    with services.database.reader() as session:
        for table in Base.metadata.sorted_tables:
            rows = session.execute(table.select()).all()
            state[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return state


def apply_file(services, realm_file):
    with services.realm(actor="test") as realm:
        return apply_realm(realm, realm_file)


def test_applying_the_spec_sample_twice_gives_identical_state(services):
    first = apply_file(services, load_realm_file(SAMPLE))
    assert first.changed and first.created == {
        "apis": 1, "roles": 2, "users": 2, "clients": 2, "webhooks": 0, "identity_providers": 0,
    }
    after_first = snapshot(services)
    second = apply_file(services, load_realm_file(SAMPLE))
    assert not second.changed
    assert second.unchanged == {"apis": 1, "roles": 2, "users": 2, "clients": 2, "webhooks": 0, "identity_providers": 0}
    assert snapshot(services) == after_first


def test_applied_realm_is_usable(services):
    apply_file(services, load_realm_file(SAMPLE))
    with services.realm() as realm:
        assert realm.users.check_password("abe", "test-fixture barista passphrase 1")
        mia = realm.users.check_password("MIA", "test-fixture manager passphrase 2")
        assert mia is not None and mia.password_hash.startswith("$argon2id$"), "imported hash upgraded on login"
        client = realm.clients.get("nightly-report")
        assert client.secret_hash and "test-fixture" not in client.secret_hash


def test_a_bad_entry_late_in_the_file_leaves_the_database_untouched(services):
    before = snapshot(services)
    text_ = SAMPLE.read_text() + "  - client_id: broken\n    type: public\n    grant_types: [client_credentials]\n"
    with pytest.raises(RealmFileError) as raised:
        apply_file(services, parse_realm(text_, source="sample.yaml"))
    assert "clients[2]" in str(raised.value) and "confidential" in str(raised.value)
    assert snapshot(services) == before


def test_unknown_role_names_the_user_and_line(services):
    realm_text = "users:\n  - username: a\n  - username: b\n    roles: [ghost]\n"
    with pytest.raises(RealmFileError, match=r"users\[1\] \(line 3\).*ghost"):
        apply_file(services, parse_realm(realm_text))
    with services.database.reader() as session:
        assert session.scalars(select(User)).all() == []


def test_every_bad_entry_is_named_at_once_and_nothing_is_written(services):
    realm_text = ("users:\n  - username: a\n    roles: [ghost]\n  - username: b\n"
                  "  - username: c\n    roles: [phantom]\n"
                  "clients:\n  - client_id: broken\n    type: public\n    grant_types: [client_credentials]\n")
    with pytest.raises(RealmFileError) as raised:
        apply_file(services, parse_realm(realm_text))
    problems = raised.value.problems
    assert len(problems) == 3, problems
    assert any(p.startswith("clients[0] (line 8)") for p in problems)
    assert any(p.startswith("users[0] (line 2)") and "ghost" in p for p in problems)
    assert any(p.startswith("users[2] (line 5)") and "phantom" in p for p in problems)
    with services.database.reader() as session:
        assert session.scalars(select(User)).all() == []


def test_nested_lists_are_exact_and_changes_are_audited(services):
    apply_file(services, load_realm_file(SAMPLE))
    changed = SAMPLE.read_text().replace("roles: [barista]", "roles: [manager]")
    result = apply_file(services, parse_realm(changed))
    assert result.updated["users"] == 1
    with services.realm() as realm:
        assert [r.name for r in realm.users.get("abe").roles] == ["manager"]
        events = realm.session.scalars(select(AuditEvent).where(AuditEvent.subject == "abe")).all()
        assert any(e.detail.get("change") == "user.updated" and e.actor == "test" for e in events)


def test_generated_client_secret_is_returned_once_and_stored_hashed(services):
    result = apply_file(services, parse_realm("clients:\n  - client_id: job\n    grant_types: [client_credentials]\n"))
    secret = result.generated_secrets["job"]
    assert len(secret) >= 32
    with services.database.reader() as session:
        dump = " ".join(str(row) for row in session.execute(text("SELECT * FROM clients")).all())
    assert secret not in dump
    job = parse_realm("clients:\n  - client_id: job\n    grant_types: [client_credentials]\n")
    assert not apply_file(services, job).generated_secrets


def test_ten_thousand_prehashed_users_import_quickly(services):
    import time

    hashed = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$0jOPzUbHlL7jJ6TcF4cbxzsW7wU0bT6/W3W2Pz7Jf7k"
    lines = ["roles:\n  - name: reader\nusers:\n"]
    lines += [f"  - {{username: user{i:05d}, password_hash: '{hashed}', roles: [reader]}}\n" for i in range(10_000)]
    seen = []
    started = time.perf_counter()
    realm_file = parse_realm("".join(lines))
    with services.realm(actor="test") as realm:
        result = apply_realm(realm, realm_file, progress=seen.append)
    elapsed = time.perf_counter() - started
    assert result.created["users"] == 10_000
    assert sum(seen) == 10_000 and len(seen) > 1, "progress reported batch by batch"
    assert elapsed < 30, f"10,000 users took {elapsed:.1f}s"
    with services.reader() as realm:
        assert realm.users.count() == 10_000
        assert [r.name for r in realm.users.get("user09999").roles] == ["reader"]
