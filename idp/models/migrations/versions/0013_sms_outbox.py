"""sms outbox: one-time codes sent off the request path

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 09:00:00.000000

Issue 21, item 10 (no timing oracle on SMS): a request that issues a code inserts a row into
``sms_outbox`` (the phone and the code sealed with the personal-data key) instead of calling the
SMS gateway; the sender of every server process, or ``idp sms send-pending``, delivers it. A
request for a number with no account inserts the same row with the status ``drop``.
``ix_sms_outbox_due`` serves the sender's search for due rows.
"""

from alembic import op
import sqlalchemy as sa
import idp.models.base


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", idp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("phone_sealed", sa.Text(), nullable=True),
        sa.Column("params_sealed", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", idp.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", idp.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_outbox")),
    )
    with op.batch_alter_table("sms_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_sms_outbox_due", ["next_attempt_at"], unique=False)
        batch_op.create_index("ix_sms_outbox_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sms_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_outbox_created_at")
        batch_op.drop_index("ix_sms_outbox_due")
    op.drop_table("sms_outbox")
