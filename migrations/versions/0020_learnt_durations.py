"""learnt_durations: what the completion estimate learns, kept per (node, recipe)

The request page's completion estimate read the history of the 50 latest completed requests of the
same recipe at the node (~650 rows) and took medians per state on every view: ~1 ms of Python and
~0.8 ms of PostgreSQL per page at 50,000 requests (issue 20). They change only when a request is
completed, so they are kept: per (node, recipe) how many requests were learnt from and their median
days per state, recomputed in the transaction of each completion. Filled here from the history.

Revision ID: 0020
Revises: 0019
"""

from collections import defaultdict
from datetime import timedelta
from statistics import median

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# conversion/requests/durations.py and estimates.py, as of this revision
TYPICAL_STATES = frozenset(
    {"submitted", "approved", "assigned", "accepted", "rederivation", "breeding", "qc", "cryopreservation"}
    | {"ready", "shipped"}
)
PER_STEP = frozenset({"breeding", "qc"})
SIMILAR = 50
DAY = 86400.0


def _medians(rows, step_count: int) -> tuple[int, dict[str, float]]:
    per_state: dict[str, list[float]] = defaultdict(list)
    requests = 0
    totals: dict[str, timedelta] = {}
    previous_rid = previous_state = previous_at = None
    zero = timedelta()

    def close() -> None:
        for state, spent in totals.items():
            days = spent.total_seconds() / DAY
            per_state[state].append(days / step_count if state in PER_STEP else days)

    for rid, state, at in rows:
        if rid != previous_rid:
            close()
            totals = {}
            requests += 1
        elif previous_state in TYPICAL_STATES:
            totals[previous_state] = totals.get(previous_state, zero) + (at - previous_at)
        previous_rid, previous_state, previous_at = rid, state, at
    close()
    return requests, {state: median(values) for state, values in per_state.items()}


def upgrade():
    learnt = op.create_table(
        "learnt_durations",
        sa.Column("node_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recipe", sa.String(length=120), nullable=False),
        sa.Column("step_count", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("days", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "recipe", name=op.f("pk_learnt_durations")),
    )
    conn = op.get_bind()
    requests = sa.table(
        "conversion_requests",
        sa.column("id", sa.Integer),
        sa.column("node_id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("recipe", sa.String),
        sa.column("step_count", sa.Integer),
    )
    events = sa.table(
        "request_events",
        sa.column("id", sa.Integer),
        sa.column("request_id", sa.Integer),
        sa.column("to_status", sa.String),
        sa.column("at", sa.DateTime(timezone=True)),
    )
    done = requests.c.status == "completed"
    keys = conn.execute(
        sa.select(requests.c.node_id, requests.c.recipe, sa.func.max(requests.c.step_count))
        .where(done, requests.c.node_id.is_not(None), requests.c.recipe.is_not(None))
        .group_by(requests.c.node_id, requests.c.recipe)
        .order_by(requests.c.node_id, requests.c.recipe)
    ).all()
    node, recipe = sa.bindparam("node"), sa.bindparam("recipe")
    latest = (
        sa.select(requests.c.id)
        .where(requests.c.node_id == node, done, requests.c.recipe == recipe)
        .order_by(requests.c.id.desc())
        .limit(SIMILAR)
        .scalar_subquery()
    )
    spans = (
        sa.select(events.c.request_id, events.c.to_status, events.c.at)
        .where(events.c.request_id.in_(latest))
        .order_by(events.c.request_id, events.c.id)
    )
    rows = []
    for node_id, name, step_count in keys:
        n, days = _medians(conn.execute(spans, {"node": node_id, "recipe": name}).all(), step_count)
        rows.append({"node_id": node_id, "recipe": name, "step_count": step_count, "requests": n, "days": days})
    for start in range(0, len(rows), 1000):
        op.bulk_insert(learnt, rows[start : start + 1000])


def downgrade():
    op.drop_table("learnt_durations")
