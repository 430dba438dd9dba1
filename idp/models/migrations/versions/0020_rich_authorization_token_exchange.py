"""authorization details, encrypted responses and token exchange

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 12:00:00.000000

Issue 18 (FAPI 2.0), items 3, 5 and 6:

- ``clients``: ``id_token_encrypted_response_alg`` / ``_enc``, ``userinfo_signed_response_alg``,
  ``userinfo_encrypted_response_alg`` / ``_enc`` (OIDC Registration 2, encrypted ID tokens and
  UserInfo answers: OIDC Core 10.2);
- ``grants.authorization_details`` (RFC 9396: what was granted), ``grants.act`` and
  ``grants.exchanged_from`` (RFC 8693: a grant made by a token exchange, the actor chain and the
  grant it came from); ``tokens.authorization_details`` (a subset asked for at the token
  endpoint, RFC 9396 6);
- ``portal_pairs``: the pairs of portals between which the operator allows token exchange.
"""

from alembic import op
import sqlalchemy as sa
import idp.models.base


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("id_token_encrypted_response_alg", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("id_token_encrypted_response_enc", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("userinfo_signed_response_alg", sa.String(length=8), nullable=True)
        )
        batch_op.add_column(
            sa.Column("userinfo_encrypted_response_alg", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("userinfo_encrypted_response_enc", sa.String(length=32), nullable=True)
        )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("authorization_details", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("act", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("exchanged_from", sa.String(length=36), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_grants_exchanged_from"), ["exchanged_from"], unique=False
        )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("authorization_details", sa.JSON(), nullable=True))
    op.create_table(
        "portal_pairs",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("target_client_id", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", idp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name=op.f("fk_portal_pairs_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_client_id"],
            ["clients.client_id"],
            name=op.f("fk_portal_pairs_target_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "target_client_id", name=op.f("pk_portal_pairs")),
    )
    with op.batch_alter_table("portal_pairs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_pairs_target_client_id"), ["target_client_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("portal_pairs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_pairs_target_client_id"))
    op.drop_table("portal_pairs")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_column("authorization_details")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_exchanged_from"))
        batch_op.drop_column("exchanged_from")
        batch_op.drop_column("act")
        batch_op.drop_column("authorization_details")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("userinfo_encrypted_response_enc")
        batch_op.drop_column("userinfo_encrypted_response_alg")
        batch_op.drop_column("userinfo_signed_response_alg")
        batch_op.drop_column("id_token_encrypted_response_enc")
        batch_op.drop_column("id_token_encrypted_response_alg")
