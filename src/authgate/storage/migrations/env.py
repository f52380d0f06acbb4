"""Alembic environment: the engine comes from `authgate.storage.migrate`, never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from authgate.storage.database import UNBOUNDED
from authgate.storage.models import Base

config = context.config
engine = config.attributes["engine"]


def _foreign_keys(connection: Connection, enforced: bool) -> None:
    """SQLite alters a column by rebuilding its table, and dropping the old table would fire every
    ON DELETE CASCADE that points at it (every user's roles and tokens, for the users table): the
    migrations run with foreign keys off. The pragma is ignored inside a transaction, so it is set
    on the driver's connection, outside the one Alembic opens."""
    pragma = f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}"
    connection.connection.driver_connection.execute(pragma)  # type: ignore[union-attr]


def _check_foreign_keys(connection: Connection) -> None:
    """What the rebuilds left must still hold together, or nothing of the migration is committed."""
    broken = connection.execute(text("PRAGMA foreign_key_check")).all()
    if broken:
        raise RuntimeError(f"migration left rows whose foreign keys point nowhere: {broken[:5]}")


with engine.connect() as connection:
    is_sqlite = connection.dialect.name == "sqlite"
    if is_sqlite:
        _foreign_keys(connection, enforced=False)
    # A schema change may rightly outlast the request timeouts (an index on a big table).
    connection.execution_options(**{UNBOUNDED: True})
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=is_sqlite,
            compare_type=True,
            # SQLite's DDL is transactional too (the connection BEGINs explicitly): every migration of a
            # run and the foreign-key check below commit together, or not at all.
            transactional_ddl=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
                connection.exec_driver_sql("SET LOCAL lock_timeout = 0")
            before = context.get_context().get_current_heads()
            context.run_migrations()
            if is_sqlite and context.get_context().get_current_heads() != before:
                _check_foreign_keys(connection)  # a whole-database scan: only after a change
        connection.commit()
    finally:
        if is_sqlite:
            connection.rollback()
            _foreign_keys(connection, enforced=True)
