"""lab records that can be trusted: corrections, voids, versions, litters, thaws, shipments

- animals: label unique per request (existing duplicates are renamed "<label> (#<id>)" first, so
  the constraint can be created; nothing is dropped), litter, fate;
- matings: a number per request (M1, M2 ... in the order recorded), dam and sire as recorded
  animals (the typed text of older rows is kept in `dam`/`sire`), a success flag; their litter
  columns move to the new `litters` table (one litter per mating that had any);
- qc_results: the tested animal as a recorded animal (filled where the typed label matches);
- cryopreservations: frozen_on, donors; `test_thaw` moves to the new `cryo_thaws` table;
- shipments, lab_corrections: new;
- every correctable record: voided_at / voided_by_id / void_reason and a version number.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

RECORDS = ('animals', 'matings', 'qc_results', 'cryopreservations')


def _record_columns(table):
    return [
        sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('void_reason', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('voided_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f(f'fk_{table}_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f(f'fk_{table}_voided_by_id_users')),
    ]


def upgrade():
    conn = op.get_bind()
    for table in RECORDS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=True))
            batch_op.add_column(sa.Column('version', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('voided_by_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(op.f(f'fk_{table}_voided_by_id_users'), 'users', ['voided_by_id'], ['id'])
        conn.execute(sa.text(f'UPDATE {table} SET version = 1'))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('version', existing_type=sa.Integer(), nullable=False)

    # ---- litters (from the matings' litter columns)
    op.create_table('litters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('mating_id', sa.Integer(), nullable=False),
    sa.Column('born_on', sa.Date(), nullable=True),
    sa.Column('weaned_on', sa.Date(), nullable=True),
    sa.Column('pups_born', sa.Integer(), nullable=True),
    sa.Column('pups_weaned', sa.Integer(), nullable=True),
    sa.Column('genotyped_on', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mating_id'], ['matings.id'], name=op.f('fk_litters_mating_id_matings')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_litters_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['conversion_requests.id'], name=op.f('fk_litters_request_id_conversion_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_litters'))
    )
    with op.batch_alter_table('litters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_litters_mating_id'), ['mating_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_litters_request_id'), ['request_id'], unique=False)
    conn.execute(sa.text(
        'INSERT INTO litters (request_id, mating_id, born_on, pups_born, pups_weaned, recorded_by_id, recorded_at) '
        'SELECT request_id, id, litter_born_on, pups_born, pups_weaned, recorded_by_id, recorded_at FROM matings '
        'WHERE litter_born_on IS NOT NULL OR pups_born IS NOT NULL OR pups_weaned IS NOT NULL ORDER BY id'))

    # ---- animals: unique labels, litter, fate
    dupes = conn.execute(sa.text(
        'SELECT a.id, a.label FROM animals a WHERE EXISTS (SELECT 1 FROM animals b WHERE '
        'b.request_id = a.request_id AND b.label = a.label AND b.id < a.id)')).all()
    for animal_id, label in dupes:
        conn.execute(sa.text('UPDATE animals SET label = :label WHERE id = :id'),
                     {'label': f'{label[:45]} (#{animal_id})', 'id': animal_id})
    with op.batch_alter_table('animals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('litter_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('fate', sa.String(length=20), nullable=True))
        batch_op.create_foreign_key(op.f('fk_animals_litter_id_litters'), 'litters', ['litter_id'], ['id'])
        batch_op.create_unique_constraint('uq_animals_request_id_label', ['request_id', 'label'])
    conn.execute(sa.text("UPDATE animals SET fate = 'alive'"))
    with op.batch_alter_table('animals', schema=None) as batch_op:
        batch_op.alter_column('fate', existing_type=sa.String(length=20), nullable=False)

    # ---- matings: number per request, parents as animals, success flag
    with op.batch_alter_table('matings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('dam_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sire_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('successful', sa.Boolean(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_matings_dam_id_animals'), 'animals', ['dam_id'], ['id'])
        batch_op.create_foreign_key(op.f('fk_matings_sire_id_animals'), 'animals', ['sire_id'], ['id'])
        batch_op.drop_column('litter_born_on')
        batch_op.drop_column('pups_born')
        batch_op.drop_column('pups_weaned')
    conn.execute(sa.text(
        'UPDATE matings SET number = (SELECT COUNT(*) FROM matings m2 WHERE m2.request_id = matings.request_id '
        'AND m2.id <= matings.id)'))
    for column in ('dam', 'sire'):
        conn.execute(sa.text(
            f'UPDATE matings SET {column}_id = (SELECT a.id FROM animals a WHERE a.request_id = matings.request_id '
            f'AND a.label = matings.{column}) WHERE {column} IS NOT NULL'))
    with op.batch_alter_table('matings', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint('uq_matings_request_id_number', ['request_id', 'number'])

    # ---- QC: the tested animal
    with op.batch_alter_table('qc_results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('animal_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_qc_results_animal_id_animals'), 'animals', ['animal_id'], ['id'])
    conn.execute(sa.text(
        'UPDATE qc_results SET animal_id = (SELECT a.id FROM animals a WHERE a.request_id = qc_results.request_id '
        'AND a.label = qc_results.animal_label) WHERE animal_label IS NOT NULL'))

    # ---- cryopreservation sessions and their test thaws
    op.create_table('cryo_thaws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cryo_id', sa.Integer(), nullable=False),
    sa.Column('thawed_on', sa.Date(), nullable=False),
    sa.Column('result', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cryo_id'], ['cryopreservations.id'], name=op.f('fk_cryo_thaws_cryo_id_cryopreservations')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_cryo_thaws_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cryo_thaws'))
    )
    with op.batch_alter_table('cryo_thaws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cryo_thaws_cryo_id'), ['cryo_id'], unique=False)
    day = 'date(recorded_at)' if conn.dialect.name == 'sqlite' else "CAST(recorded_at AT TIME ZONE 'UTC' AS DATE)"
    conn.execute(sa.text(
        f'INSERT INTO cryo_thaws (cryo_id, thawed_on, result, note, recorded_by_id, recorded_at) '
        f'SELECT id, {day}, test_thaw, :note, recorded_by_id, recorded_at FROM cryopreservations '
        f'WHERE test_thaw IS NOT NULL ORDER BY id'),
        {'note': 'Recorded with the session (before test thaws were separate records)'})
    with op.batch_alter_table('cryopreservations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frozen_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('donors', sa.String(length=300), nullable=True))
        batch_op.drop_column('test_thaw')

    # ---- shipments and corrections
    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('courier', sa.String(length=100), nullable=False),
    sa.Column('tracking', sa.String(length=100), nullable=False),
    sa.Column('shipped_on', sa.Date(), nullable=False),
    sa.Column('material', sa.String(length=20), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    *_record_columns('shipments'),
    sa.ForeignKeyConstraint(['request_id'], ['conversion_requests.id'], name=op.f('fk_shipments_request_id_conversion_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipments_request_id'), ['request_id'], unique=False)
    op.create_table('lab_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_lab_corrections_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['conversion_requests.id'], name=op.f('fk_lab_corrections_request_id_conversion_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_corrections'))
    )
    with op.batch_alter_table('lab_corrections', schema=None) as batch_op:
        batch_op.create_index('ix_lab_corrections_request_id_kind_record_id', ['request_id', 'kind', 'record_id'],
                              unique=False)


def downgrade():
    conn = op.get_bind()
    op.drop_table('lab_corrections')
    op.drop_table('shipments')
    with op.batch_alter_table('cryopreservations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('test_thaw', sa.String(length=10), nullable=True))
        batch_op.drop_column('donors')
        batch_op.drop_column('frozen_on')
    conn.execute(sa.text('UPDATE cryopreservations SET test_thaw = (SELECT t.result FROM cryo_thaws t WHERE '
                         't.cryo_id = cryopreservations.id ORDER BY t.id DESC LIMIT 1)'))
    op.drop_table('cryo_thaws')
    with op.batch_alter_table('qc_results', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_qc_results_animal_id_animals'), type_='foreignkey')
        batch_op.drop_column('animal_id')
    with op.batch_alter_table('matings', schema=None) as batch_op:
        batch_op.drop_constraint('uq_matings_request_id_number', type_='unique')
        batch_op.drop_constraint(op.f('fk_matings_dam_id_animals'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_matings_sire_id_animals'), type_='foreignkey')
        batch_op.drop_column('successful')
        batch_op.drop_column('sire_id')
        batch_op.drop_column('dam_id')
        batch_op.drop_column('number')
        batch_op.add_column(sa.Column('litter_born_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('pups_born', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pups_weaned', sa.Integer(), nullable=True))
    for column, source in (('litter_born_on', 'born_on'), ('pups_born', 'pups_born'), ('pups_weaned', 'pups_weaned')):
        conn.execute(sa.text(f'UPDATE matings SET {column} = (SELECT l.{source} FROM litters l WHERE '
                             f'l.mating_id = matings.id ORDER BY l.id LIMIT 1)'))
    with op.batch_alter_table('animals', schema=None) as batch_op:
        batch_op.drop_constraint('uq_animals_request_id_label', type_='unique')
        batch_op.drop_constraint(op.f('fk_animals_litter_id_litters'), type_='foreignkey')
        batch_op.drop_column('fate')
        batch_op.drop_column('litter_id')
    op.drop_table('litters')
    for table in RECORDS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'fk_{table}_voided_by_id_users'), type_='foreignkey')
            batch_op.drop_column('voided_by_id')
            batch_op.drop_column('version')
            batch_op.drop_column('void_reason')
            batch_op.drop_column('voided_at')
