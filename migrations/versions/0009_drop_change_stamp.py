"""drop the change stamp: the whole-response read cache is retired (answers are computed)

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table('change_stamp')


def downgrade():
    table = op.create_table(
        'change_stamp',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_change_stamp')),
    )
    op.bulk_insert(table, [{'id': 1, 'value': 0}])
