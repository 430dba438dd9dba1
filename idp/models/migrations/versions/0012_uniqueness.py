"""uniqueness: portal names and the legal representative held by the database

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 12:00:00.000000

Rules that were checked only in code, where two concurrent changes could both pass the check,
get a constraint (issue 21, item 8):

- a portal's display names (``name``, ``name_en``), case-folded, are unique across portals and
  languages: ``client_names`` holds each name once (its primary key), filled here from
  ``clients``;
- a company has exactly one legal representative: a unique index on ``entity_roles.entity_id``
  over the rows whose role is ``legal_representative`` (a partial index, on SQLite and
  PostgreSQL alike).

The other rules were held already (one company per USCC, one account per username, ID number
and phone blind index, one role per person and company, matter codes as primary keys).

Existing duplicates are not merged or renamed silently: the upgrade refuses and names them, and
the operator renames a portal (the console or the admin API) or fixes the company's roles,
then runs the upgrade again. Nothing is changed before the refusal.
"""

from collections import defaultdict

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

LEGAL_REPRESENTATIVE = sa.text("role = 'legal_representative'")


def _duplicates() -> list[str]:
    connection = op.get_bind()
    holders: dict[str, set[str]] = defaultdict(set)
    for client_id, name, name_en in connection.execute(
        sa.text("SELECT client_id, name, name_en FROM clients")
    ):
        for value in (name, name_en):
            if value:
                holders[value.casefold()].add(client_id)
    problems = [
        f"portals {', '.join(sorted(ids))} share the name {key!r}"
        for key, ids in sorted(holders.items())
        if len(ids) > 1
    ]
    for (entity_id,) in connection.execute(
        sa.text(
            "SELECT entity_id FROM entity_roles WHERE role = 'legal_representative' "
            "GROUP BY entity_id HAVING COUNT(*) > 1"
        )
    ):
        problems.append(f"company {entity_id} has more than one legal representative")
    return problems


def upgrade() -> None:
    problems = _duplicates()
    if problems:
        raise RuntimeError(
            "cannot make names and legal representatives unique: "
            + "; ".join(problems)
            + ". Rename the portals (the console or the admin API) or fix the company's"
            " roles, then run the upgrade again."
        )
    client_names = op.create_table(
        "client_names",
        sa.Column("name_key", sa.String(length=1024), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name=op.f("fk_client_names_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("name_key", name=op.f("pk_client_names")),
    )
    with op.batch_alter_table("client_names", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_names_client_id"), ["client_id"], unique=False)
    rows = []
    connection = op.get_bind()
    for client_id, name, name_en in connection.execute(
        sa.text("SELECT client_id, name, name_en FROM clients")
    ):
        for key in dict.fromkeys(value.casefold() for value in (name, name_en) if value):
            rows.append({"name_key": key, "client_id": client_id})
    if rows:
        op.bulk_insert(client_names, rows)
    op.create_index(
        "uq_entity_roles_legal_representative",
        "entity_roles",
        ["entity_id"],
        unique=True,
        sqlite_where=LEGAL_REPRESENTATIVE,
        postgresql_where=LEGAL_REPRESENTATIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_entity_roles_legal_representative", table_name="entity_roles")
    with op.batch_alter_table("client_names", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_names_client_id"))
    op.drop_table("client_names")
