"""browser sessions record how the person authenticated (RFC 8176 `amr` values)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("browser_sessions") as batch:
        # Sessions that exist already were all started by a password.
        batch.add_column(sa.Column("amr", sa.JSON(), nullable=False, server_default=sa.text("'[\"pwd\"]'")))


def downgrade() -> None:
    with op.batch_alter_table("browser_sessions") as batch:
        batch.drop_column("amr")
