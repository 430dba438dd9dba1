"""portal administration: client metadata, secret rotation, dynamic registration

Adds the portal metadata the console, the admin API and RFC 7591/7592 manage (English name,
region, subject type and sector identifier, matters, contacts), the previous secret kept during
a rotation's grace period, the registration access token hash (RFC 7592), and the initial
access tokens administrators issue for dynamic registration (RFC 7591 3).

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import idp.models.base


revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "initial_access_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("uses_allowed", sa.Integer(), nullable=False),
        sa.Column("uses_remaining", sa.Integer(), nullable=False),
        sa.Column("expires_at", idp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", idp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", idp.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initial_access_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_initial_access_tokens_token_hash")),
    )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_en", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("region", sa.String(length=6), nullable=True))
        batch_op.add_column(
            sa.Column("subject_type", sa.String(length=16), nullable=False, server_default="public")
        )
        batch_op.add_column(sa.Column("sector_identifier_uri", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("matters", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("contacts", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("previous_client_secret_hash", sa.String(length=128), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "previous_secret_expires_at",
                idp.models.base.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("registration_access_token_hash", sa.String(length=64), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_clients_registration_access_token_hash"),
            ["registration_access_token_hash"],
        )


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_clients_registration_access_token_hash"), type_="unique"
        )
        batch_op.drop_column("registration_access_token_hash")
        batch_op.drop_column("previous_secret_expires_at")
        batch_op.drop_column("previous_client_secret_hash")
        batch_op.drop_column("contacts")
        batch_op.drop_column("matters")
        batch_op.drop_column("sector_identifier_uri")
        batch_op.drop_column("subject_type")
        batch_op.drop_column("region")
        batch_op.drop_column("name_en")
    op.drop_table("initial_access_tokens")
