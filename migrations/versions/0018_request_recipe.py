"""conversion_requests.recipe: the plan's recombinases and TAT-Cre use, for the completion estimate

The request page's completion estimate learns from the latest completed requests at the node with
the same steps (recombinases in order) and TAT-Cre use. It read the plan's JSON of the 200 latest
completed requests with as many steps and compared its steps there: PostgreSQL parsed each plan
four times, ~12 ms per page at 50,000 requests (issue 20). The recipe ("Flp,Cre", "Cre+TAT"; NULL
when a step names no recombinase) is set at submission, like the plan, and indexed with node and
state: the similar requests are one index range. Filled here from the plans.

Revision ID: 0018
Revises: 0017
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _recipe(plan, tat) -> str | None:  # conversion/requests/models.py recipe_of, as of this revision
    if isinstance(plan, str):  # SQLite without the app's type
        plan = json.loads(plan)
    names = [step.get("recombinase") for step in (plan or {}).get("step_details", [])]
    if not all(isinstance(name, str) and name for name in names):
        return None
    return ",".join(names) + ("+TAT" if tat else "")


def upgrade():
    with op.batch_alter_table("conversion_requests") as batch:
        batch.add_column(sa.Column("recipe", sa.String(length=120), nullable=True))
    conn = op.get_bind()
    requests = sa.table(
        "conversion_requests",
        sa.column("id", sa.Integer),
        sa.column("plan", sa.JSON),
        sa.column("use_tat_cre", sa.Boolean),
        sa.column("recipe", sa.String),
    )
    fill = requests.update().where(requests.c.id == sa.bindparam("rid")).values(recipe=sa.bindparam("value"))
    rows = conn.execute(sa.select(requests.c.id, requests.c.plan, requests.c.use_tat_cre)).all()
    values = [{"rid": rid, "value": _recipe(plan, tat)} for rid, plan, tat in rows]
    for start in range(0, len(values), 5000):
        conn.execute(fill, values[start : start + 5000])
    op.create_index(
        "ix_conversion_requests_node_id_status_recipe_id",
        "conversion_requests",
        ["node_id", "status", "recipe", "id"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_conversion_requests_node_id_status_recipe_id", table_name="conversion_requests")
    with op.batch_alter_table("conversion_requests") as batch:
        batch.drop_column("recipe")
