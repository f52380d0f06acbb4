"""dynamic client registration: clients that registered themselves (RFC 7591, RFC 7592)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("dynamic", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("registered_scope", sa.String(length=2000), nullable=True))
        batch.add_column(sa.Column("registration_token_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_clients_last_used_at", ["last_used_at"])


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_index("ix_clients_last_used_at")
        batch.drop_column("last_used_at")
        batch.drop_column("registration_token_hash")
        batch.drop_column("registered_scope")
        batch.drop_column("dynamic")
