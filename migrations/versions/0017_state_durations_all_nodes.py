"""state_durations: the histogram of every node added up (node_id -1)

The coordinator's "Time in each state" medians added up every node's histogram on each view (a
GROUP BY over all rows, then a few thousand rows to Python). Rows with node_id -1 now hold the sum
over the nodes, kept by each transition with its node's row (dashboards.metrics.add_visits): the
medians read one range of the primary key, for the coordinator as for a node's staff, and the
database returns each state's median (a window over the buckets), one row per state. Filled here
from the existing rows.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "INSERT INTO state_durations (node_id, state, bucket, visits, days) "
        "SELECT -1, state, bucket, sum(visits), sum(days) FROM state_durations WHERE node_id >= 0 "
        "GROUP BY state, bucket"
    )


def downgrade():
    op.execute("DELETE FROM state_durations WHERE node_id = -1")
