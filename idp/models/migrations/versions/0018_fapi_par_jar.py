"""pushed authorization requests, request objects, JARM and the fapi2 profile

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 12:00:00.000000

Issue 18 (FAPI 2.0): the portal metadata of PAR (RFC 9126 6:
``require_pushed_authorization_requests``), JAR (RFC 9101 10.5: ``require_signed_request_object``,
``request_object_signing_alg``), JARM (``authorization_signed_response_alg``) and the portal
``profile`` (``fapi2``). Pushed requests themselves live in Redis only.
"""

import sqlalchemy as sa
from alembic import op

import idp.models.base  # noqa: F401

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profile", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "require_pushed_authorization_requests",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch_op.add_column(
            sa.Column(
                "require_signed_request_object",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch_op.add_column(
            sa.Column("request_object_signing_alg", sa.String(length=8), nullable=True)
        )
        batch_op.add_column(
            sa.Column("authorization_signed_response_alg", sa.String(length=8), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("authorization_signed_response_alg")
        batch_op.drop_column("request_object_signing_alg")
        batch_op.drop_column("require_signed_request_object")
        batch_op.drop_column("require_pushed_authorization_requests")
        batch_op.drop_column("profile")
