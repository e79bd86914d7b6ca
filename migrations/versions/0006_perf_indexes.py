"""perf indexes: request lists by node, status and requester newest first; history by request in order

Backed by EXPLAIN ANALYZE on PostgreSQL with 50,000 requests (docs/benchmarks.md, bench/explain.py):
- (node_id, status, id) replaces (node_id, status): a node's queue filtered by state, newest first,
  reads the index in order; on PostgreSQL it INCLUDEs step_count, so the estimate's "latest
  completed requests at this node with as many steps" is an index-only scan (1 ms instead of a
  backward scan of the primary key filtering ~18,000 newer, still open requests: 10-20 ms);
- (node_id, id): a node's queue, newest first, without a state filter;
- (requester_id, id) replaces (requester_id): "My requests", newest first;
- request_events (request_id, id) replaces (request_id): the history of a request in order, the
  time-in-state intervals and the last event per request (index-only).

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_conversion_requests_node_id_status_id', 'conversion_requests',
                    ['node_id', 'status', 'id'], unique=False, postgresql_include=['step_count'])
    op.drop_index('ix_conversion_requests_node_id_status', table_name='conversion_requests')
    op.create_index('ix_conversion_requests_node_id_id', 'conversion_requests', ['node_id', 'id'], unique=False)
    op.create_index('ix_conversion_requests_requester_id_id', 'conversion_requests',
                    ['requester_id', 'id'], unique=False)
    op.drop_index('ix_conversion_requests_requester_id', table_name='conversion_requests')
    op.create_index('ix_request_events_request_id_id', 'request_events', ['request_id', 'id'], unique=False)
    op.drop_index('ix_request_events_request_id', table_name='request_events')


def downgrade():
    op.create_index('ix_request_events_request_id', 'request_events', ['request_id'], unique=False)
    op.drop_index('ix_request_events_request_id_id', table_name='request_events')
    op.create_index('ix_conversion_requests_requester_id', 'conversion_requests', ['requester_id'], unique=False)
    op.drop_index('ix_conversion_requests_requester_id_id', table_name='conversion_requests')
    op.drop_index('ix_conversion_requests_node_id_id', table_name='conversion_requests')
    op.create_index('ix_conversion_requests_node_id_status', 'conversion_requests',
                    ['node_id', 'status'], unique=False)
    op.drop_index('ix_conversion_requests_node_id_status_id', table_name='conversion_requests')
