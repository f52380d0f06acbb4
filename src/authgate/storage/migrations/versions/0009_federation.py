"""identity providers, the upstream identities linked to users, and sign-ins in progress

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("issuer", sa.String(400), nullable=True),
        sa.Column("client_id", sa.String(400), nullable=False),
        sa.Column("client_secret_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("problem", sa.String(400), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_identity_providers"),
        sa.UniqueConstraint("alias", name="uq_identity_providers_alias"),
    )
    op.create_table(
        "federated_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_alias", sa.String(64), nullable=False),
        sa.Column("upstream_subject", sa.String(255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["provider_alias"], ["identity_providers.alias"], ondelete="CASCADE",
                                name="fk_federated_identities_provider_alias_identity_providers"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_federated_identities_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_federated_identities"),
        sa.UniqueConstraint("provider_alias", "upstream_subject",
                            name="uq_federated_identities_provider_alias_upstream_subject"),
    )
    op.create_index("ix_federated_identities_user_id", "federated_identities", ["user_id"])
    op.create_table(
        "federation_attempts",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("provider_alias", sa.String(64), nullable=False),
        sa.Column("browser_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("return_to", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["provider_alias"], ["identity_providers.alias"], ondelete="CASCADE",
                                name="fk_federation_attempts_provider_alias_identity_providers"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_federation_attempts_user_id_users"),
        sa.PrimaryKeyConstraint("id_hash", name="pk_federation_attempts"),
    )
    op.create_index("ix_federation_attempts_expires_at", "federation_attempts", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_federation_attempts_expires_at", table_name="federation_attempts")
    op.drop_table("federation_attempts")
    op.drop_index("ix_federated_identities_user_id", table_name="federated_identities")
    op.drop_table("federated_identities")
    op.drop_table("identity_providers")
