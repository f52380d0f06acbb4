"""user subjects: each user's `sub` in a column of its own, unguessable for new users

Existing users keep the subject their tokens already carry, `str(id)`; users created from now on get
a random UUID4 (the model's default, authgate/subjects.py). On SQLite the NOT NULL change rebuilds
the users table, which env.py runs with foreign-key actions off (a rebuild drops the old table).

A downgrade drops the column: users created since the upgrade lose their random subject, and a
later upgrade gives them `str(id)`, a different `sub` (their tokens and resource servers' records
of them would no longer match).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from authgate.subjects import client_subject, has_user_subject_shape

logger = logging.getLogger("authgate.migrations")

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=64), nullable=True))
    users = sa.table(
        "users", sa.column("id", sa.Integer()), sa.column("subject", sa.String(length=64))
    )
    op.execute(users.update().values(subject=sa.cast(users.c.id, sa.String(length=64))))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("subject", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_users_subject"), ["subject"])
    _name_clients_whose_sub_changes()


def _name_clients_whose_sub_changes() -> None:
    """A client created before 0003 whose client_id has a user subject's shape keeps its client_id,
    but its own tokens now carry `client/<client_id>` (RFC 9068 §5): its operator should know."""
    clients = sa.table("clients", sa.column("client_id", sa.String(length=200)))
    for client_id in op.get_bind().scalars(sa.select(clients.c.client_id)):
        if has_user_subject_shape(client_id):
            logger.warning("client %s: its client_id has the shape of a user's sub; the tokens it gets "
                           "for itself now carry sub %r", client_id, client_subject(client_id))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_subject"), type_="unique")
        batch_op.drop_column("subject")
