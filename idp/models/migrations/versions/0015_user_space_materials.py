"""materials of the user space: supporting documents and their releases to portals

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:00:00.000000

Issue 12, item 3 (natural-person agreement clauses 3 and 4(5)): ``materials`` holds the metadata
of the documents a person stores (type from idp/data/material-types.json, the sealed title, the
sniffed media type, the name of the sealed file under IDP_MATERIALS_DIR, an optional expiry);
``material_releases`` the items the person released on a consent page, one per material and
grant, fetched at most once. Both go with the account row (ON DELETE CASCADE) and the grant.
"""

from alembic import op
import sqlalchemy as sa
import idp.models.base


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "materials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("type_code", sa.String(length=32), nullable=False),
        sa.Column("title_sealed", sa.Text(), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=96), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("created_at", idp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", idp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_materials_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_materials")),
        sa.UniqueConstraint("file_name", name=op.f("uq_materials_file_name")),
    )
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.create_index(
            "ix_materials_account_created", ["account_id", "created_at"], unique=False
        )
    op.create_table(
        "material_releases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("material_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", idp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", idp.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_material_releases_material_id_materials"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_material_releases_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grants.id"],
            name=op.f("fk_material_releases_grant_id_grants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_releases")),
    )
    with op.batch_alter_table("material_releases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_material_releases_material_id"), ["material_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_material_releases_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_material_releases_grant_id"), ["grant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("material_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_material_releases_grant_id"))
        batch_op.drop_index(batch_op.f("ix_material_releases_account_id"))
        batch_op.drop_index(batch_op.f("ix_material_releases_material_id"))
    op.drop_table("material_releases")
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.drop_index("ix_materials_account_created")
    op.drop_table("materials")
