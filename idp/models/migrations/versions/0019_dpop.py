"""DPoP-bound tokens (RFC 9449)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 12:00:00.000000

Issue 18 (FAPI 2.0), item 2: ``tokens.cnf_jkt``, the RFC 7638 thumbprint of the key a token
row's access token (and a public portal's refresh token) is bound to (RFC 9449 6), and
``clients.dpop_bound_access_tokens``, a portal whose token requests must carry a DPoP proof
(RFC 9449 5.2).
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cnf_jkt", sa.String(length=43), nullable=True))
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "dpop_bound_access_tokens",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("dpop_bound_access_tokens")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_column("cnf_jkt")
