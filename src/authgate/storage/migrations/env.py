"""Alembic environment: the engine comes from `authgate.storage.migrate`, never from a file."""

from __future__ import annotations

from alembic import context

from authgate.storage.database import UNBOUNDED
from authgate.storage.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    # A schema change may rightly outlast the request timeouts (an index on a big table).
    connection.execution_options(**{UNBOUNDED: True})
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            connection.exec_driver_sql("SET LOCAL lock_timeout = 0")
        context.run_migrations()
    connection.commit()
