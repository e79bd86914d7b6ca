"""dashboard aggregates: conversion_requests.state_since and the time-in-state histogram

The dashboard read the whole history on every view (every event of every visible request for the
medians, a GROUP BY over all events for the overdue list): ~0.9 s of CPU at 5,000 requests.
Now (docs/benchmarks.md, issue 20):
- conversion_requests.state_since: when the request entered its current state (set by every
  transition), indexed with status: the overdue list is a range scan per state, the monthly
  completions a range of completed requests; (created_at) for the monthly submissions;
- state_durations: per (node, state, duration bucket) the number of finished visits, added to
  by each transition in its own transaction: the medians read a few hundred rows.
Both are filled here from the existing history.

Revision ID: 0014
Revises: 0012
"""
import math

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None

LOG_RATIO = math.log(1.02)  # conversion/dashboards/models.py BUCKET_RATIO


def upgrade():
    with op.batch_alter_table('conversion_requests') as batch:
        batch.add_column(sa.Column('state_since', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE conversion_requests SET state_since = (SELECT max(e.at) FROM request_events e "
               "WHERE e.request_id = conversion_requests.id)")
    op.execute("UPDATE conversion_requests SET state_since = created_at WHERE state_since IS NULL")
    with op.batch_alter_table('conversion_requests') as batch:
        batch.alter_column('state_since', existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index('ix_conversion_requests_status_state_since', 'conversion_requests',
                    ['status', 'state_since'], unique=False)
    op.create_index('ix_conversion_requests_created_at', 'conversion_requests', ['created_at'], unique=False)
    table = op.create_table(
        'state_durations',
        sa.Column('node_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('state', sa.String(length=30), nullable=False),
        sa.Column('bucket', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('visits', sa.Integer(), nullable=False),
        sa.Column('days', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('node_id', 'state', 'bucket', name=op.f('pk_state_durations')),
    )
    _fill(table)


def _fill(table) -> None:
    """The histogram of the existing history (each request's current node, none before assignment)."""
    conn = op.get_bind()
    nodes = dict(conn.execute(sa.text("SELECT id, node_id FROM conversion_requests")).all())
    counts: dict = {}
    last = None
    rows = conn.execute(sa.text("SELECT request_id, to_status, at FROM request_events ORDER BY request_id, id"))
    for rid, state, at in rows:
        if isinstance(at, str):  # SQLite without the app's type
            at = sa.DateTime().dialect_impl(conn.dialect).result_processor(conn.dialect, None)(at)
        if last is not None and last[0] == rid:
            prev, entered = last[1], last[2]
            node_id = 0 if prev in ('submitted', 'approved') else (nodes.get(rid) or 0)
            days = max((at.replace(tzinfo=None) - entered.replace(tzinfo=None)).total_seconds(), 0) / 86400
            key = (node_id, prev, int(math.log1p(days * 1440) / LOG_RATIO))
            visits, total = counts.get(key, (0, 0.0))
            counts[key] = (visits + 1, total + days)
        last = (rid, state, at)
    if counts:
        op.bulk_insert(table, [{'node_id': n, 'state': s, 'bucket': b, 'visits': v, 'days': d}
                               for (n, s, b), (v, d) in counts.items()])


def downgrade():
    op.drop_table('state_durations')
    op.drop_index('ix_conversion_requests_created_at', table_name='conversion_requests')
    op.drop_index('ix_conversion_requests_status_state_since', table_name='conversion_requests')
    with op.batch_alter_table('conversion_requests') as batch:
        batch.drop_column('state_since')
