"""consent and gates: implied consents of trusted portals are recorded

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 10:00:00.000000

A trusted portal that skips the consent page now leaves a consent whose ``basis`` is
``implied``, so the person sees it in the user space and can withdraw it (PIPL article 15). An
implied consent counts only while the portal is trusted; a withdrawn one stays as ``withdrawn``
(no scopes, no claims) so that the trusted portal asks on the next login. Consents recorded
before this revision were given on the consent page: ``given``.
"""

from alembic import op
import sqlalchemy as sa


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("basis", sa.String(length=16), nullable=False, server_default="given")
        )


def downgrade() -> None:
    # Implied consents did not exist before: drop them rather than let them pass as given ones.
    op.execute(sa.text("DELETE FROM consents WHERE basis <> 'given'"))
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_column("basis")
