"""When an open request should be completed, learnt from completed requests with the same plan
at its node (or the service's typical durations). Shown on the request page; the dashboards reuse
the history intervals."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import DateTime, Integer, Select, bindparam, func, inspect, literal_column, select, type_coerce

from workflows.lifecycle import OPEN_STATES

from ..extensions import db, insert_or, utcnow
from ..reads import Read
from .durations import PER_STEP, TYPICAL_WEEKS, path, position, typical_days
from .models import ConversionRequest, LearntDurations, RequestEvent

DAY = 86400.0


@dataclass
class Interval:
    request_id: int
    state: str
    start: datetime
    end: datetime | None  # None: the request is still in this state

    def days(self, now: datetime | None = None) -> float:
        return ((self.end or now or utcnow()) - self.start).total_seconds() / DAY


def intervals(request_ids) -> dict[int, list[Interval]]:
    """{request id: its states in order} for the ids (a list or a subquery)."""
    rows = db.session.execute(
        select(RequestEvent.request_id, RequestEvent.to_status, RequestEvent.at)
        .where(RequestEvent.request_id.in_(request_ids))
        .order_by(RequestEvent.request_id, RequestEvent.id)
    )
    out: dict[int, list[Interval]] = defaultdict(list)
    for rid, state, at in rows:
        spans = out[rid]
        if spans:
            spans[-1].end = at
        spans.append(Interval(rid, state, at, None))
    return out


@dataclass
class Estimate:
    on: datetime
    based_on: int  # completed requests with a similar plan at the node; 0 = typical durations
    node: str | None
    plan: str
    late_in: str | None = None  # the current state, when it already took longer than expected

    @property
    def basis(self) -> str:
        if self.based_on:
            many = "request" if self.based_on == 1 else "requests"
            return f"based on {self.based_on} completed {many} with the same plan ({self.plan}) at {self.node}"
        if self.node is None:
            return "from the service's typical durations (the request is not assigned to a node yet)"
        return (
            f"from the service's typical durations: no completed request with the same plan "
            f"({self.plan}) at {self.node} yet"
        )


def _recombinases(req: ConversionRequest) -> tuple[str, ...]:
    return tuple(s.get("recombinase") for s in req.steps)


def _plan_text(req: ConversionRequest) -> str:
    steps = " then ".join(r for r in _recombinases(req)) or "no step"
    return steps + (" with TAT-Cre" if req.use_tat_cre else "")


SIMILAR = 50  # completed requests the estimate learns from


def similar_completed(req: ConversionRequest, limit: int = SIMILAR) -> list[int]:
    """Ids of the latest completed requests at req's node with the same steps (and TAT-Cre use)."""
    if req.node_id is None:
        return []
    # The ids first (an index-only scan of ix_conversion_requests_node_id_status_id), then only
    # the plans' step lists of those rows (docs/benchmarks.md).
    latest = (
        select(ConversionRequest.id)
        .where(
            ConversionRequest.node_id == req.node_id,
            ConversionRequest.status == "completed",
            ConversionRequest.step_count == req.step_count,
            ConversionRequest.id != req.id,
        )
        .order_by(ConversionRequest.id.desc())
        .limit(limit * 4)
    )
    rows = db.session.execute(
        select(ConversionRequest.id, ConversionRequest.plan["steps"], ConversionRequest.use_tat_cre)
        .where(ConversionRequest.id.in_(latest.scalar_subquery()))
        .order_by(ConversionRequest.id.desc())
    )
    wanted = _recombinases(req)
    out = []
    for rid, steps, tat in rows:
        steps = tuple(steps or ())
        if steps == wanted and bool(tat) == bool(req.use_tat_cre):
            out.append(rid)
        if len(out) == limit:
            break
    return out


def expected_days(request_ids: list[int], step_count: int) -> dict[str, float]:
    """{state: median days per visit} learnt from completed requests (per step for breeding/QC)."""
    return _medians(db.session.execute(_spans_of(request_ids)).all(), step_count)[1]


# The events' times as the driver gives them (no UTCDateTime processing per row: only differences
# between two times of one request are used).
_AT = type_coerce(RequestEvent.at, DateTime(timezone=True))


def _spans_of(request_ids) -> Select:
    """(request id, state, start) of each event of the requests, in order."""
    return (
        select(RequestEvent.request_id, RequestEvent.to_status, _AT)
        .where(RequestEvent.request_id.in_(request_ids))
        .order_by(RequestEvent.request_id, RequestEvent.id)
    )


def _medians(rows, step_count: int) -> tuple[int, dict[str, float]]:
    """(how many requests, {state: median days per visit}) from _spans rows (expected_days)."""
    per_state: dict[str, list[float]] = defaultdict(list)
    requests = 0
    totals: dict[str, timedelta] = {}  # time per state of one request, summed exactly, in days at close()
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
        elif previous_state in TYPICAL_WEEKS:
            totals[previous_state] = totals.get(previous_state, zero) + (at - previous_at)
        previous_rid, previous_state, previous_at = rid, state, at
    close()
    return requests, {state: median(values) for state, values in per_state.items()}


# The events of the latest completed requests of the same recipe at the node: one index range of
# (node_id, status, recipe, id) then their history (migration 0018), built once per process.
_SIMILAR_SPANS = Read(
    _spans_of(
        select(ConversionRequest.id)
        .where(
            ConversionRequest.node_id == bindparam("node_id"),
            ConversionRequest.status == "completed",
            ConversionRequest.recipe == bindparam("recipe"),
            ConversionRequest.id != bindparam("request_id"),
        )
        .order_by(ConversionRequest.id.desc())
        .limit(literal_column(str(SIMILAR), Integer()))  # in the SQL text: a generic plan serves all
        .scalar_subquery()
    )
)


def _similar_spans(node_id: int, recipe: str, request_id: int = 0) -> list:
    return _SIMILAR_SPANS.all({"node_id": node_id, "recipe": recipe, "request_id": request_id})


# What was learnt for the node and recipe (kept by learn(): one row by its primary key)
_LEARNT = Read(
    select(LearntDurations.step_count, LearntDurations.requests, LearntDurations.days).where(
        LearntDurations.node_id == bindparam("node_id"), LearntDurations.recipe == bindparam("recipe")
    )
)


def learnt_days(req: ConversionRequest) -> tuple[int, dict[str, float]]:
    """(how many, expected_days of those) of the SIMILAR latest completed requests of the same
    recipe at the node (counted from their history: a completed request always has one), as kept
    in LearntDurations."""
    if req.node_id is None:
        return 0, {}
    if req.recipe is None:  # a plan without recombinase names: compared in Python
        similar = similar_completed(req)
        return len(similar), expected_days(similar, req.step_count) if similar else {}
    if req.status == "completed":  # it may be one of them: learnt from the others
        return _medians(_similar_spans(req.node_id, req.recipe, req.id), req.step_count)
    row = _LEARNT.first({"node_id": req.node_id, "recipe": req.recipe})
    if row is None:
        return 0, {}
    if row.step_count != req.step_count:  # not expected (the recipe names each step): recomputed
        return _medians(_similar_spans(req.node_id, req.recipe), req.step_count)
    return row.requests, row.days


def _upsert(rows: list[dict]) -> None:
    stmt = insert_or(LearntDurations.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["node_id", "recipe"],
        set_={name: stmt.excluded[name] for name in ("step_count", "requests", "days")},
    )
    for start in range(0, len(rows), 1000):
        db.session.execute(stmt, rows[start : start + 1000])


def learn(keys) -> None:
    """Recompute what the estimate learnt for each (node id, recipe) of `keys`: called in the
    transaction of requests being completed, with their changes. The rows are locked first (in key
    order), so of two completions at the same node and recipe the second recomputes after the first
    committed and sees it."""
    keys = sorted({(node, recipe) for node, recipe in keys if node is not None and recipe is not None})
    if not keys:
        return
    db.session.flush()  # the completions themselves
    table = LearntDurations.__table__
    placeholders = [{"node_id": n, "recipe": r, "step_count": 0, "requests": 0, "days": {}} for n, r in keys]
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(insert_or(table).on_conflict_do_nothing(), placeholders)
        for node_id, recipe in keys:
            db.session.execute(
                select(table.c.node_id).where(table.c.node_id == node_id, table.c.recipe == recipe).with_for_update()
            )
    rows = []
    for node_id, recipe in keys:
        step_count = db.session.scalar(
            select(func.max(ConversionRequest.step_count)).where(
                ConversionRequest.node_id == node_id,
                ConversionRequest.status == "completed",
                ConversionRequest.recipe == recipe,
            )
        )
        if step_count is None:  # none completed (rebuild of an emptied key): nothing learnt
            db.session.execute(table.delete().where(table.c.node_id == node_id, table.c.recipe == recipe))
            continue
        n, days = _medians(_similar_spans(node_id, recipe), step_count)
        rows.append({"node_id": node_id, "recipe": recipe, "step_count": step_count, "requests": n, "days": days})
    _upsert(rows)


def rebuild() -> int:
    """Recompute LearntDurations from the requests' history (after bulk loads, a restore, or to
    check); returns its rows. The caller commits."""
    db.session.execute(LearntDurations.__table__.delete())
    keys = db.session.execute(
        select(ConversionRequest.node_id, ConversionRequest.recipe)
        .where(
            ConversionRequest.status == "completed",
            ConversionRequest.node_id.is_not(None),
            ConversionRequest.recipe.is_not(None),
        )
        .distinct()
    ).all()
    learn(keys)
    return len(keys)


_UNREAD: Any = object()


def estimate(req: ConversionRequest, now: datetime | None = None, *, history_end: Any = _UNREAD) -> Estimate | None:
    """When an open request should be completed; None for closed ones. `history_end`: the time of
    its last event when the caller read it already (the request page's timeline)."""
    if req.status not in OPEN_STATES:
        return None
    now = now or utcnow()
    based_on, learnt = learnt_days(req)
    expect = {s: learnt.get(s, typical_days(s)) for s in TYPICAL_WEEKS}
    state = req.held_status if req.status == "on_hold" else req.status
    steps = path(req.step_count)
    here = position(state, req.current_step, req.step_count)
    elapsed = 0.0
    if req.status != "on_hold":  # a held request is assumed to resume now
        if history_end is not _UNREAD:  # the request page read it already
            last = history_end
        elif "history" in inspect(req).unloaded:
            last = db.session.scalar(select(func.max(RequestEvent.at)).where(RequestEvent.request_id == req.id))
        else:
            last = max((e.at for e in req.history), default=None)
        elapsed = (now - last).total_seconds() / DAY if last else 0.0
    left_here = expect[state] - elapsed
    remaining = max(left_here, 0.0) + sum(expect[s] for s in steps[here + 1 :])
    return Estimate(
        now + timedelta(days=remaining),
        based_on,
        req.node.code if req.node else None,
        _plan_text(req),
        late_in=state if left_here < 0 else None,
    )
