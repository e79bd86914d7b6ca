"""The request counts the dashboard shows, kept as they change (models.RequestTally): requests per
(node, state), submissions and completions per (node, month). A submission and each transition add
their change in their own transaction, an upsert that concurrent transactions add up; rebuild()
recomputes everything from conversion_requests (after bulk loads, a restore, or to check)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select

from ..extensions import add_to_counts, db
from .models import ConversionRequest, RequestEvent, RequestTally


def month(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m")


def month_sql(column):
    """YYYY-MM of a UTC timestamp column, in SQL (the same text as month())."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def add(changes: Counter) -> None:
    """Add {(node_id, key): n} to the tallies (an upsert: concurrent transactions add up)."""
    rows = [{"node_id": node, "key": key, "n": n} for (node, key), n in changes.items() if n]
    add_to_counts(RequestTally.__table__, ["node_id", "key"], rows)


def submitted(req: ConversionRequest) -> None:
    add(Counter({(0, "submitted"): 1, (0, f"submitted:{month(req.created_at)}"): 1}))


def moved(req: ConversionRequest, node_before: int, event: RequestEvent) -> None:
    """A transition: from (node_before, from_status) to (the request's node now, to_status)."""
    node_after = req.node.id if req.node is not None else 0
    change: Counter = Counter()
    change[(node_before, event.from_status)] -= 1
    change[(node_after, event.to_status)] += 1
    if node_before != node_after:  # assigned or declined: its submission moves with it
        created = f"submitted:{month(req.created_at)}"
        change[(node_before, created)] -= 1
        change[(node_after, created)] += 1
    if event.to_status == "completed":
        change[(node_after, f"completed:{month(event.at or req.state_since)}")] += 1
    add(change)


def rebuild() -> int:
    """Recompute every tally from conversion_requests; returns the number of requests. The caller
    commits."""
    db.session.execute(RequestTally.__table__.delete())
    node = func.coalesce(ConversionRequest.node_id, 0)
    change: Counter = Counter()
    for node_id, status, n in db.session.execute(
        select(node, ConversionRequest.status, func.count()).group_by(node, ConversionRequest.status)
    ):
        change[(node_id, status)] += n
    created = month_sql(ConversionRequest.created_at)
    for node_id, key, n in db.session.execute(select(node, created, func.count()).group_by(node, created)):
        change[(node_id, f"submitted:{key}")] += n
    completed = month_sql(ConversionRequest.state_since)
    for node_id, key, n in db.session.execute(
        select(node, completed, func.count()).where(ConversionRequest.status == "completed").group_by(node, completed)
    ):
        change[(node_id, f"completed:{key}")] += n
    add(change)
    return sum(n for (_, key), n in change.items() if ":" not in key)
