"""retention: handler grants outlive the handler's account; cancellations found by time

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 11:00:00.000000

A handler grant is the company's record of whom it authorised (legal-person agreement clause 6:
the legal person answers for what its handlers did). When the handler cancels their personal
account the grant is revoked and kept under the pseudonymous account id, like the audit trail
and the agreement evidence, so ``handler_grants.account_id`` loses its cascading foreign key.

``ix_audit_events_action_time`` serves ``idp retention apply``, which finds the cancellations
(``account_cancelled`` events) whose evidence period has ended.
"""

from alembic import op
import sqlalchemy as sa


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handler_grants", schema=None) as batch_op:
        batch_op.drop_constraint("fk_handler_grants_account_id_accounts", type_="foreignkey")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_action_time", ["action", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_action_time")
    # Grants of cancelled accounts cannot point to an account any more: they go, as before.
    op.execute(
        sa.text("DELETE FROM handler_grants WHERE account_id NOT IN (SELECT id FROM accounts)")
    )
    with op.batch_alter_table("handler_grants", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_handler_grants_account_id_accounts",
            "accounts",
            ["account_id"],
            ["id"],
            ondelete="CASCADE",
        )
