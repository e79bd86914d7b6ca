"""archive loop: derived strains in the catalogue, a request's archived strain, archive watches,
strain design (conditional CRISPR) and MGI gene id

Revision ID: 0010
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('strains', schema=None) as batch_op:
        batch_op.add_column(sa.Column('design', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('mgi_id', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('derived_from_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('derived_by_request_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('derived_by_reference', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('stock_count', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_strains_derived_from_id'), ['derived_from_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_strains_derived_by_request_id'), ['derived_by_request_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_strains_derived_from_id_strains'), 'strains',
                                    ['derived_from_id'], ['id'])
    with op.batch_alter_table('conversion_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_strain_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_conversion_requests_archived_strain_id_strains'), 'strains',
                                    ['archived_strain_id'], ['id'])
    op.create_table(
        'archive_watches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('product_symbol', sa.String(length=200), nullable=False),
        sa.Column('waiting_on_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('strain_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['strain_id'], ['strains.id'], name=op.f('fk_archive_watches_strain_id_strains')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_archive_watches_user_id_users')),
        sa.ForeignKeyConstraint(['waiting_on_id'], ['conversion_requests.id'],
                                name=op.f('fk_archive_watches_waiting_on_id_conversion_requests')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_watches')),
        sa.UniqueConstraint('user_id', 'product_symbol', name=op.f('uq_archive_watches_user_id')),
    )
    with op.batch_alter_table('archive_watches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_watches_product_symbol'), ['product_symbol'], unique=False)


def downgrade():
    with op.batch_alter_table('archive_watches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_watches_product_symbol'))
    op.drop_table('archive_watches')
    with op.batch_alter_table('conversion_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_conversion_requests_archived_strain_id_strains'),
                                 type_='foreignkey')
        batch_op.drop_column('archived_strain_id')
    with op.batch_alter_table('strains', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_strains_derived_from_id_strains'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_strains_derived_by_request_id'))
        batch_op.drop_index(batch_op.f('ix_strains_derived_from_id'))
        for column in ('stock_count', 'archived_at', 'derived_by_reference', 'derived_by_request_id',
                       'derived_from_id', 'mgi_id', 'design'):
            batch_op.drop_column(column)
