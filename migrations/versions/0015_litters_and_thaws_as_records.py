"""litters and test thaws become lab records of their own: corrected with a reason, voided, versioned

- litters: voided_at / voided_by_id / void_reason and a version number (existing rows: version 1);
- cryo_thaws: the same, and request_id (filled from the thaw's cryopreservation session) so a
  thaw is addressed as /requests/<id>/thaws/<thaw_id> like every other record.

Revision ID: 0015
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = ("litters", "cryo_thaws")


def upgrade():
    conn = op.get_bind()
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
            batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
            batch_op.add_column(sa.Column("voided_by_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(op.f(f"fk_{table}_voided_by_id_users"), "users", ["voided_by_id"], ["id"])

    with op.batch_alter_table("cryo_thaws", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
    conn.execute(
        sa.text(
            "UPDATE cryo_thaws SET request_id = (SELECT c.request_id FROM cryopreservations c "
            "WHERE c.id = cryo_thaws.cryo_id)"
        )
    )
    with op.batch_alter_table("cryo_thaws", schema=None) as batch_op:
        batch_op.alter_column("request_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_cryo_thaws_request_id_conversion_requests"), "conversion_requests", ["request_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_cryo_thaws_request_id"), ["request_id"], unique=False)


def downgrade():
    with op.batch_alter_table("cryo_thaws", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cryo_thaws_request_id"))
        batch_op.drop_constraint(op.f("fk_cryo_thaws_request_id_conversion_requests"), type_="foreignkey")
        batch_op.drop_column("request_id")
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"fk_{table}_voided_by_id_users"), type_="foreignkey")
            batch_op.drop_column("voided_by_id")
            batch_op.drop_column("version")
            batch_op.drop_column("void_reason")
            batch_op.drop_column("voided_at")
