"""Alembic: the migrations build exactly the models' schema, on both databases, and re-running is a no-op."""

import logging
import sqlite3
import time
import uuid
from datetime import timedelta

import jwt
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, insert, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from authgate import bootstrap, tokens
from authgate.clock import utcnow
from authgate.services import Services
from authgate.storage import migrate
from authgate.storage.database import Database
from authgate.storage.models import Base
from authgate.web.app import create_app


def test_schema_matches_the_models(services):
    with services.database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert migrate.is_current(services.database)


def test_upgrading_again_keeps_every_row(services, load_realm):
    load_realm("roles:\n  - name: keeper\nusers:\n  - username: kept\n    roles: [keeper]\n")
    before, after = migrate.upgrade(services.database)
    assert before == after == migrate.head_revision(services.database)
    with services.reader() as realm:
        assert [r.name for r in realm.users.get("kept").roles] == ["keeper"]


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'a.db'}")
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    database.dispose()


def test_an_exhausted_pool_is_an_outage_not_a_crash(tmp_path):
    import pytest

    from authgate.storage.database import Database, DatabaseUnavailable

    database = Database(f"sqlite:///{tmp_path / 'b.db'}", pool_size=1, timeout=0.1)
    held = [database.engine.connect() for _ in range(2)]  # the pool's one, and its one overflow
    started = time.monotonic()
    try:
        with pytest.raises(DatabaseUnavailable), database.reader() as session:
            session.execute(text("SELECT 1"))
        assert time.monotonic() - started < 3, "the wait for a connection is bounded by the database timeout"
    finally:
        for connection in held:
            connection.close()
        database.dispose()


# --- 0003: user subjects ---------------------------------------------------------------------------------
# TEST FIXTURE ONLY: a refresh token and a client secret written into a database at revision 0002.
BOB_REFRESH_TOKEN = "bob-refresh-token-written-at-0002-0123456789abcdef"
LEGACY_CLIENT_SECRET = "legacy-client-secret-0123456789abcdefghij"


@pytest.fixture
def blank_database_url(backend, tmp_path, request):
    """A database of its own, with no schema yet (the shared PostgreSQL one is already at head)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'at-0002.db'}"
        return
    server = make_url(request.getfixturevalue("pg_database"))
    name = f"authgate_at_0002_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fill_at_0002(database: Database) -> None:
    """What a 0002 server wrote: two users (bob holding a role), an API, a public app with bob's refresh
    token, his session and consent, and a machine client whose client_id is "2" — bob's sub then."""
    now = utcnow()
    tables = MetaData()
    tables.reflect(database.engine)
    t = tables.tables
    with database.engine.begin() as connection:
        for name in ("ada", "bob"):  # ids from the sequence, as a server gave them: 1 and 2
            connection.execute(insert(t["users"]).values(
                username=name, email_verified=False, disabled=False, created_at=now, updated_at=now))
        assert connection.execute(text("SELECT id FROM users WHERE username = 'bob'")).scalar_one() == 2
        connection.execute(insert(t["apis"]).values(id=1, identifier="https://api", name="API", created_at=now))
        connection.execute(insert(t["permissions"]).values(id=1, api_id=1, name="read"))
        connection.execute(insert(t["roles"]).values(id=1, name="reader", created_at=now))
        connection.execute(insert(t["role_permissions"]).values(role_id=1, permission_id=1))
        connection.execute(insert(t["user_roles"]).values(user_id=2, role_id=1))
        client = {"redirect_uris": [], "post_logout_redirect_uris": [], "web_origins": [], "first_party": True,
                  "default_audience": "https://api", "disabled": False, "created_at": now, "secret_hash": None}
        connection.execute(insert(t["clients"]), [
            {**client, "id": 1, "client_id": "app", "type": "public", "grant_types": ["password", "refresh_token"]},
            {**client, "id": 2, "client_id": "2", "type": "confidential", "grant_types": ["client_credentials"],
             "secret_hash": tokens.digest(LEGACY_CLIENT_SECRET)},
        ])
        connection.execute(insert(t["client_permissions"]).values(client_pk=2, permission_id=1))
        connection.execute(insert(t["refresh_tokens"]).values(
            token_hash=tokens.digest(BOB_REFRESH_TOKEN), family_id="family-of-bob", client_id="app", user_id=2,
            audience="https://api", scope="openid read", auth_time=now, created_at=now,
            expires_at=now + timedelta(days=1), family_expires_at=now + timedelta(days=30)))
        connection.execute(insert(t["browser_sessions"]).values(
            id_hash="b" * 64, sid="sid-of-bob", user_id=2, auth_time=now, created_at=now, last_seen_at=now,
            expires_at=now + timedelta(hours=1)))
        connection.execute(insert(t["consents"]).values(
            user_id=2, client_id="app", scope="openid", created_at=now, updated_at=now))


def _row_counts(database: Database) -> dict[str, int]:
    names = ("users", "user_roles", "role_permissions", "clients", "client_permissions", "refresh_tokens",
             "browser_sessions", "consents")
    with database.engine.connect() as connection:
        return {name: connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one() for name in names}


def test_upgrading_from_0002_keeps_every_row_and_every_users_sub(blank_database_url, make_settings, caplog):
    database = Database(blank_database_url)
    command.upgrade(migrate.alembic_config(database), "0002")
    _fill_at_0002(database)
    before = _row_counts(database)
    with caplog.at_level(logging.WARNING, logger="authgate.migrations"):
        assert migrate.upgrade(database) == ("0002", migrate.head_revision(database))
    warned = [record.getMessage() for record in caplog.records if record.name == "authgate.migrations"]
    assert warned == [("client 2: its client_id has the shape of a user's sub; the tokens it gets for itself "
                       "now carry sub 'client/2'")], "the operator learns whose sub changed"
    assert _row_counts(database) == before, "no row lost (SQLite rebuilds users: no ON DELETE CASCADE may fire)"
    with database.engine.connect() as connection:
        subjects = dict(connection.execute(text("SELECT username, subject FROM users")).all())
    assert subjects == {"ada": "1", "bob": "2"}, "existing users keep the sub their tokens carry"
    database.dispose()

    services = Services(make_settings(database_url=blank_database_url))
    bootstrap.prepare(services)
    try:
        with TestClient(create_app(services=services)) as client:
            refreshed = client.post("/oauth/token", data={
                "grant_type": "refresh_token", "client_id": "app", "refresh_token": BOB_REFRESH_TOKEN})
            assert refreshed.status_code == 200, refreshed.text
            claims = jwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})
            assert (claims["sub"], claims["permissions"]) == ("2", ["read"]), "bob's sub and role survived"
            machine = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                  auth=("2", LEGACY_CLIENT_SECRET))
            assert machine.status_code == 200, machine.text
            machine_sub = jwt.decode(machine.json()["access_token"], options={"verify_signature": False})["sub"]
            assert machine_sub == "client/2", "the client named like bob's sub no longer carries it"
        with services.realm(actor="test") as realm:
            carol = realm.users.create("carol").subject
        assert uuid.UUID(carol).version == 4 and str(uuid.UUID(carol)) == carol
    finally:
        services.oauth2.issuance_log.flush()  # before the database goes (it is dropped at the end)
        services.database.dispose()


def test_on_sqlite_a_migration_leaving_rows_that_point_nowhere_changes_nothing(tmp_path):
    """SQLite migrations run with foreign keys off (a table rebuild would cascade); a check before the
    commit refuses what they would leave dangling, every migration of the run is rolled back, and the
    connection goes back to the pool with foreign keys on."""
    path = tmp_path / "dangling.db"
    database = Database(f"sqlite:///{path}")
    command.upgrade(migrate.alembic_config(database), "0002")
    database.dispose()
    raw = sqlite3.connect(path)  # a row a server with foreign keys on could never have written
    raw.execute("INSERT INTO roles (id, name, created_at) VALUES (1, 'reader', '2026-01-01')")
    raw.execute("INSERT INTO user_roles (user_id, role_id) VALUES (99, 1)")
    raw.commit()
    raw.close()
    database = Database(f"sqlite:///{path}")
    with pytest.raises(RuntimeError, match="user_roles"):
        migrate.upgrade(database)
    assert migrate.current_revision(database) == "0002"
    with database.engine.connect() as connection:
        columns = [row[1] for row in connection.execute(text("PRAGMA table_info(users)"))]
        assert "subject" not in columns, "0003 rolled back with the check"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    database.dispose()
