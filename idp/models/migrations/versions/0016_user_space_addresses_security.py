"""addresses and login history of the user space

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:00:00.000000

Issue 12 (the personal user space), items 4 and 5: ``delivery_addresses`` (what the person
typed, sealed with the personal-data key; one default per account, released as the ``address``
claim only with consent) and ``login_history`` (one row per completed interactive login: time,
portal, method, network of the address, user agent; pruned after ``IDP_LOGIN_HISTORY_DAYS``).
Both are deleted with their account (``ON DELETE CASCADE``). The password's age needs no new
column: ``accounts.password_changed_at`` exists since 0001.
"""

from alembic import op
import sqlalchemy as sa
import idp.models.base


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_addresses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("details_sealed", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", idp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", idp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_delivery_addresses_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_addresses")),
    )
    with op.batch_alter_table("delivery_addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_addresses_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "uq_delivery_addresses_default",
            ["account_id"],
            unique=True,
            sqlite_where=sa.text("is_default"),
            postgresql_where=sa.text("is_default"),
        )
    op.create_table(
        "login_history",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", idp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("ip_network", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_login_history_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_history")),
    )
    with op.batch_alter_table("login_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_login_history_account_created", ["account_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_login_history_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("login_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_history_created_at"))
        batch_op.drop_index("ix_login_history_account_created")
    op.drop_table("login_history")
    with op.batch_alter_table("delivery_addresses", schema=None) as batch_op:
        batch_op.drop_index("uq_delivery_addresses_default")
        batch_op.drop_index(batch_op.f("ix_delivery_addresses_account_id"))
    op.drop_table("delivery_addresses")
