"""disclosure queue: releases recorded by the request, chained later in batches

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 09:00:00.000000

The request inserts into ``disclosure_queue`` instead of appending to the chain under the
chain-head lock; the chainer moves queued rows into ``disclosures``. ``ix_disclosures_created_at``
serves the console's and the user space's newest-first listings, which merge both tables by time.
"""

from alembic import op
import sqlalchemy as sa
import idp.models.base


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosure_queue",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", idp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_queue")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("disclosure_queue", schema=None) as batch_op:
        batch_op.create_index(
            "ix_disclosure_queue_account_time", ["account_id", "created_at"], unique=False
        )
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.create_index("ix_disclosures_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    # Queued records are evidence: refuse to drop them unchained (run `idp audit chain` first).
    queued = op.get_bind().execute(sa.text("SELECT count(*) FROM disclosure_queue")).scalar()
    if queued:
        raise RuntimeError(
            f"{queued} disclosure records are still queued: run `idp audit chain` before "
            "downgrading"
        )
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.drop_index("ix_disclosures_created_at")
    with op.batch_alter_table("disclosure_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_disclosure_queue_account_time")
    op.drop_table("disclosure_queue")
