"""Alembic: the migrations build exactly the models' schema, on both databases, and re-running is a no-op."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from authgate.storage import migrate
from authgate.storage.database import Database
from authgate.storage.models import Base


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

    database = Database(f"sqlite:///{tmp_path / 'b.db'}")
    database.engine.pool._timeout = 0.1  # noqa: SLF001 - make the wait short
    database.engine.pool._max_overflow = 0  # noqa: SLF001
    held = [database.engine.connect() for _ in range(database.engine.pool.size())]
    try:
        with pytest.raises(DatabaseUnavailable), database.reader() as session:
            session.execute(text("SELECT 1"))
    finally:
        for connection in held:
            connection.close()
        database.dispose()
