"""change stamp: one row counting committed writing transactions (the read cache checks it)

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'change_stamp',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_change_stamp')),
    )
    op.bulk_insert(table, [{'id': 1, 'value': 0}])


def downgrade():
    op.drop_table('change_stamp')
