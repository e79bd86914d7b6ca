"""list sort indexes: the request list's deep pages, every sort and the text search from indexes

Backed by EXPLAIN ANALYZE on PostgreSQL with 50,000 requests (bench/plans.sql). The list reads
its page's ids first (conversion/requests/listing.py page_ids) and these indexes answer that
alone; statement times at page 1,000 of 25 (coordinator), before -> after:
- (updated_at, id), INCLUDE (node_id, status) on PostgreSQL: "Recently changed" 72 -> 2.5 ms
  (was a sort of the whole table); a node's or a state's list filters in the index, still
  index-only (staff, page 200: 29 -> 2.2 ms);
- (status, id DESC) replaces (status, id): the "Status" sort (status ASC, id DESC) in index
  order, 93 -> 2.3 ms; one state's requests in either id order, which (status, id) served,
  are still one index scan (forwards or backwards);
- (strain_id, id), INCLUDE (node_id, status) on PostgreSQL, replaces (strain_id), the foreign
  key's index: "Gene" is a nested loop over the strains in gene order with an index-only scan
  per strain, 93 -> 5.5 ms (staff: 29 -> 3.5 ms); the search's "requests of the matching
  strains" needs no table access;
- PostgreSQL only: pg_trgm GIN indexes on lower(reference) and lower(product_symbol): the text
  search (case-insensitive substring, LIKE '%q%') is a bitmap OR of those and (strain_id, id)
  instead of a scan of every request joined to its strain (count for "cdk" 45 -> 1.5 ms).
  pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it. SQLite
  keeps plain LIKE and has no such index (the model declares them for PostgreSQL only).

Writes: updated_at changes on every UPDATE of a request, but indexing it costs no HOT update:
every transition also changes `status`, which is in two indexes already, so those UPDATEs were
never HOT (lab records do not update the request row). A non-HOT UPDATE adds an entry to every
index, these three new ones included (the GIN ones through their pending list): measured
5,000 such UPDATEs in one transaction, 100 -> 170 ms, i.e. ~14 us more per transition, against
a transition's few milliseconds (history row, outbox rows, commit).

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TRGM = ('reference', 'product_symbol')


def upgrade():
    op.create_index('ix_conversion_requests_updated_at_id', 'conversion_requests', ['updated_at', 'id'],
                    unique=False, postgresql_include=['node_id', 'status'])
    op.create_index('ix_conversion_requests_status_id_desc', 'conversion_requests',
                    ['status', sa.text('id DESC')], unique=False)
    op.drop_index('ix_conversion_requests_status_id', table_name='conversion_requests')
    op.create_index('ix_conversion_requests_strain_id_id', 'conversion_requests', ['strain_id', 'id'],
                    unique=False, postgresql_include=['node_id', 'status'])
    op.drop_index('ix_conversion_requests_strain_id', table_name='conversion_requests')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for column in TRGM:
            op.create_index(f'ix_conversion_requests_{column}_trgm', 'conversion_requests',
                            [sa.text(f'lower({column}) gin_trgm_ops')], unique=False, postgresql_using='gin')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for column in TRGM:
            op.drop_index(f'ix_conversion_requests_{column}_trgm', table_name='conversion_requests')
        # The extension stays: other objects may use it by now.
    op.create_index('ix_conversion_requests_strain_id', 'conversion_requests', ['strain_id'], unique=False)
    op.drop_index('ix_conversion_requests_strain_id_id', table_name='conversion_requests')
    op.create_index('ix_conversion_requests_status_id', 'conversion_requests', ['status', 'id'], unique=False)
    op.drop_index('ix_conversion_requests_status_id_desc', table_name='conversion_requests')
    op.drop_index('ix_conversion_requests_updated_at_id', table_name='conversion_requests')
