"""requests, history and lab records

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('conversion_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=True),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('strain_id', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('held_status', sa.String(length=30), nullable=True),
    sa.Column('target', sa.String(length=10), nullable=False),
    sa.Column('source_class', sa.String(length=20), nullable=False),
    sa.Column('product_symbol', sa.String(length=200), nullable=False),
    sa.Column('product_class', sa.String(length=20), nullable=False),
    sa.Column('product_strain_name', sa.String(length=400), nullable=True),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('step_count', sa.Integer(), nullable=False),
    sa.Column('current_step', sa.Integer(), nullable=False),
    sa.Column('use_tat_cre', sa.Boolean(), nullable=False),
    sa.Column('deliverable', sa.Enum('frozen_sperm', 'frozen_embryos', 'live_animals', name='deliverable', native_enum=False, length=20), nullable=False),
    sa.Column('billing_organisation', sa.String(length=200), nullable=False),
    sa.Column('billing_address', sa.Text(), nullable=False),
    sa.Column('billing_country', sa.String(length=2), nullable=False),
    sa.Column('billing_vat_number', sa.String(length=30), nullable=True),
    sa.Column('billing_sector', sa.Enum('academic', 'industry', name='sector', native_enum=False, length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], name=op.f('fk_conversion_requests_node_id_nodes')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_conversion_requests_requester_id_users')),
    sa.ForeignKeyConstraint(['strain_id'], ['strains.id'], name=op.f('fk_conversion_requests_strain_id_strains')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversion_requests')),
    sa.UniqueConstraint('reference', name=op.f('uq_conversion_requests_reference'))
    )
    with op.batch_alter_table('conversion_requests', schema=None) as batch_op:
        batch_op.create_index('ix_conversion_requests_node_id_status', ['node_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversion_requests_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index('ix_conversion_requests_status_id', ['status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversion_requests_strain_id'), ['strain_id'], unique=False)

    op.create_table('cryopreservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('material', sa.String(length=10), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('test_thaw', sa.String(length=10), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_cryopreservations_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['conversion_requests.id'], name=op.f('fk_cryopreservations_request_id_conversion_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cryopreservations'))
    )
    with op.batch_alter_table('cryopreservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cryopreservations_request_id'), ['request_id'], unique=False)

    op.create_table('matings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('deleter_id', sa.Integer(), nullable=True),
    sa.Column('set_up_on', sa.Date(), nullable=False),
    sa.Column('dam', sa.String(length=60), nullable=True),
    sa.Column('sire', sa.String(length=60), nullable=True),
    sa.Column('litter_born_on', sa.Date(), nullable=True),
    sa.Column('pups_born', sa.Integer(), nullable=True),
    sa.Column('pups_weaned', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deleter_id'], ['deleter_strains.id'], name=op.f('fk_matings_deleter_id_deleter_strains')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_matings_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['conversion_requests.id'], name=op.f('fk_matings_request_id_conversion_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matings'))
    )
    with op.batch_alter_table('matings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matings_request_id'), ['request_id'], unique=False)

    op.create_table('paperwork',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('mta_signed_on', sa.Date(), nullable=True),
    sa.Column('po_reference', sa.String(length=100), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_paperwork_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['conversion_requests.id'], name=op.f('fk_paperwork_request_id_conversion_requests')),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_paperwork'))
    )
    op.create_table('qc_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('assay', sa.String(length=30), nullable=False),
    sa.Column('result', sa.String(length=10), nullable=False),
    sa.Column('animal_label', sa.String(length=60), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_qc_results_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['conversion_requests.id'], name=op.f('fk_qc_results_request_id_conversion_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qc_results'))
    )
    with op.batch_alter_table('qc_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qc_results_request_id'), ['request_id'], unique=False)

    op.create_table('request_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('from_status', sa.String(length=30), nullable=True),
    sa.Column('to_status', sa.String(length=30), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_request_events_actor_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['conversion_requests.id'], name=op.f('fk_request_events_request_id_conversion_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_events'))
    )
    with op.batch_alter_table('request_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_events_request_id'), ['request_id'], unique=False)

    op.create_table('animals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=60), nullable=False),
    sa.Column('born_on', sa.Date(), nullable=True),
    sa.Column('sex', sa.String(length=10), nullable=False),
    sa.Column('allele', sa.String(length=20), nullable=False),
    sa.Column('deleter_transgene', sa.String(length=10), nullable=True),
    sa.Column('mating_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mating_id'], ['matings.id'], name=op.f('fk_animals_mating_id_matings')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_animals_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['conversion_requests.id'], name=op.f('fk_animals_request_id_conversion_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_animals'))
    )
    with op.batch_alter_table('animals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_animals_request_id'), ['request_id'], unique=False)



def downgrade():
    with op.batch_alter_table('animals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_animals_request_id'))

    op.drop_table('animals')
    with op.batch_alter_table('request_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_events_request_id'))

    op.drop_table('request_events')
    with op.batch_alter_table('qc_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qc_results_request_id'))

    op.drop_table('qc_results')
    op.drop_table('paperwork')
    with op.batch_alter_table('matings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matings_request_id'))

    op.drop_table('matings')
    with op.batch_alter_table('cryopreservations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cryopreservations_request_id'))

    op.drop_table('cryopreservations')
    with op.batch_alter_table('conversion_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversion_requests_strain_id'))
        batch_op.drop_index('ix_conversion_requests_status_id')
        batch_op.drop_index(batch_op.f('ix_conversion_requests_requester_id'))
        batch_op.drop_index('ix_conversion_requests_node_id_status')

    op.drop_table('conversion_requests')
