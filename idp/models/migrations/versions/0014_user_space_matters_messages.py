"""matters and messages of the user space

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 09:00:00.000000

Issue 12, items 1 and 2 (docs/user-space.md): ``portal_subjects`` (the ``sub`` each portal saw
at a login: the evidence of a first login, and the way back from a pairwise ``sub``),
``matters`` and ``matter_steps`` (what portals report, idempotent by the portal's own id),
``messages`` (the inbox; ``ix_messages_account_read`` serves the unread count) and
``message_preferences`` (the clause 4(4) choice per portal). Everything of a person goes with
the account row (``ON DELETE CASCADE``).
"""

from alembic import op
import sqlalchemy as sa
import idp.models.base


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UTC = idp.models.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "portal_subjects",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("entity_id", sa.String(length=36), nullable=True),
        sa.Column("first_login_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_portal_subjects_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name=op.f("fk_portal_subjects_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_portal_subjects_entity_id_legal_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "subject", name=op.f("pk_portal_subjects")),
    )
    with op.batch_alter_table("portal_subjects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_subjects_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_portal_subjects_entity_id"), ["entity_id"], unique=False
        )

    op.create_table(
        "matters",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("portal_reference", sa.String(length=128), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("entity_id", sa.String(length=36), nullable=True),
        sa.Column("matter_class", sa.String(length=64), nullable=False),
        sa.Column("title_sealed", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("submitted_at", UTC(timezone=True), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_matters_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name=op.f("fk_matters_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["legal_entities.id"],
            name=op.f("fk_matters_entity_id_legal_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matters")),
        sa.UniqueConstraint("client_id", "portal_reference", name=op.f("uq_matters_client_id")),
    )
    with op.batch_alter_table("matters", schema=None) as batch_op:
        batch_op.create_index(
            "ix_matters_account_submitted", ["account_id", "submitted_at"], unique=False
        )
        batch_op.create_index(
            "ix_matters_entity_submitted", ["entity_id", "submitted_at"], unique=False
        )

    op.create_table(
        "matter_steps",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("matter_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", UTC(timezone=True), nullable=False),
        sa.Column("note_sealed", sa.Text(), nullable=True),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["matter_id"],
            ["matters.id"],
            name=op.f("fk_matter_steps_matter_id_matters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matter_steps")),
        sa.UniqueConstraint(
            "matter_id", "status", "occurred_at", name=op.f("uq_matter_steps_matter_id")
        ),
    )
    with op.batch_alter_table("matter_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matter_steps_matter_id"), ["matter_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("essential", sa.Boolean(), nullable=False),
        sa.Column("title_sealed", sa.Text(), nullable=True),
        sa.Column("body_sealed", sa.Text(), nullable=True),
        sa.Column("params_sealed", sa.Text(), nullable=True),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("matter_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("read_at", UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_messages_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name=op.f("fk_messages_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["matter_id"],
            ["matters.id"],
            name=op.f("fk_messages_matter_id_matters"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_account_created", ["account_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_messages_account_read", ["account_id", "read_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_matter_id"), ["matter_id"], unique=False)

    op.create_table(
        "message_preferences",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("non_essential", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_message_preferences_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "client_id", name=op.f("pk_message_preferences")),
    )


def downgrade() -> None:
    op.drop_table("message_preferences")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_matter_id"))
        batch_op.drop_index(batch_op.f("ix_messages_client_id"))
        batch_op.drop_index("ix_messages_account_read")
        batch_op.drop_index("ix_messages_account_created")
    op.drop_table("messages")
    with op.batch_alter_table("matter_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matter_steps_matter_id"))
    op.drop_table("matter_steps")
    with op.batch_alter_table("matters", schema=None) as batch_op:
        batch_op.drop_index("ix_matters_entity_submitted")
        batch_op.drop_index("ix_matters_account_submitted")
    op.drop_table("matters")
    with op.batch_alter_table("portal_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_subjects_entity_id"))
        batch_op.drop_index(batch_op.f("ix_portal_subjects_account_id"))
    op.drop_table("portal_subjects")
