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

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_users_subject"), type_="unique")
        batch_op.drop_column("subject")
