"""request_tallies: the dashboard's counts kept as they change

- request_tallies: per (node, key) a count, key a state (requests in it now), submitted:YYYY-MM or
  completed:YYYY-MM (requests submitted / completed that month, at their current node; node 0:
  none yet). Every submission and transition adds its change; filled here from the requests.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "request_tallies",
        sa.Column("node_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "key", name=op.f("pk_request_tallies")),
    )
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        created = "to_char(timezone('UTC', created_at), 'YYYY-MM')"
        completed = "to_char(timezone('UTC', state_since), 'YYYY-MM')"
    else:
        created, completed = "strftime('%Y-%m', created_at)", "strftime('%Y-%m', state_since)"
    node = "COALESCE(node_id, 0)"
    for select in (
        f"SELECT {node}, status, count(*) FROM conversion_requests GROUP BY {node}, status",
        f"SELECT {node}, 'submitted:' || {created}, count(*) FROM conversion_requests "
        f"GROUP BY {node}, {created}",
        f"SELECT {node}, 'completed:' || {completed}, count(*) FROM conversion_requests "
        f"WHERE status = 'completed' GROUP BY {node}, {completed}",
    ):
        conn.execute(sa.text(f"INSERT INTO request_tallies (node_id, key, n) {select}"))


def downgrade():
    op.drop_table("request_tallies")
