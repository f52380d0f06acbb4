"""Run Alembic migrations from code (`authgate init`) without an alembic.ini on disk."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from authgate.storage.database import Database, translate_outage

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = database.engine
    return config


def upgrade(database: Database) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (before, after).

    An unreachable database is `DatabaseUnavailable`, as everywhere else."""
    before = current_revision(database)
    with translate_outage():
        command.upgrade(alembic_config(database), "head")
    return before, head_revision(database)


def current_revision(database: Database) -> str | None:
    with translate_outage(), database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(database: Database) -> str:
    head = ScriptDirectory.from_config(alembic_config(database)).get_current_head()
    assert head is not None
    return head


def is_current(database: Database) -> bool:
    return current_revision(database) == head_revision(database)
