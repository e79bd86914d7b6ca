"""Figures from the request history: counts, time in each state, overdue requests.

Time in a state is measured between the history row that entered it and the next row of the same
request (request_events), so it counts every visit (a failed QC sends a request back to breeding,
a failed rederivation back to accepted). The dashboard page reads it from a histogram kept up to
date by each transition (record_visit, models.StateDuration), the overdue list and monthly figures
from conversion_requests.state_since: its statements read as many rows at 50,000 requests as at
50 (docs/benchmarks.md)."""

from __future__ import annotations

import operator
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce

from sqlalchemy import Select, bindparam, func, select, union_all

from workflows.lifecycle import FINAL_STATES, OPEN_STATES, STATES

from ..accounts.models import Role, User
from ..catalogue.models import Node
from ..extensions import add_to_counts, db, utcnow
from ..requests.durations import TYPICAL_WEEKS, typical_days
from ..requests.estimates import DAY, intervals
from ..requests.models import ConversionRequest, RequestEvent, RequestTally
from ..requests.operations import visible_requests
from .models import StateDuration, bucket_of


def _visible_ids(user: User):
    return visible_requests(user).with_only_columns(ConversionRequest.id).scalar_subquery()


def _visible(user: User) -> list:
    """Visibility as conditions on conversion_requests itself (no `id IN (subquery)`)."""
    where = visible_requests(user).whereclause
    return [] if where is None else [where]


# ---- dashboard figures ---------------------------------------------------------
def _tallies(user: User, *conditions) -> Select:
    stmt = select(RequestTally.node_id, RequestTally.key, RequestTally.n).where(RequestTally.n != 0, *conditions)
    if user.role is not Role.coordinator:  # the dashboard is for coordinators (all) and staff (their node)
        stmt = stmt.where(RequestTally.node_id == (user.node_id or -1))
    return stmt


def counts_by_node_and_state(user: User) -> tuple[list[str], list[str], dict]:
    """(node codes incl. '' for unassigned, states with any request, {(node, state): n}): from the
    tallies (requests.tallies), a few dozen rows whatever the number of requests."""
    tallied = _tallies(user, RequestTally.key.in_(STATES)).subquery()
    rows = db.session.execute(
        select(Node.code, tallied.c.key, tallied.c.n).select_from(tallied).outerjoin(Node, Node.id == tallied.c.node_id)
    ).all()
    counts = {(code or "", status): n for code, status, n in rows}
    nodes = sorted({code for code, _ in counts}, key=lambda c: (c == "", c))
    states = [s for s in STATES if any(state == s for _, state in counts)]
    return nodes, states, counts


def time_in_state(user: User) -> dict[str, list[float]]:
    """{state: durations in days of the finished visits of that state} (every visit: the box plot)."""
    out: dict[str, list[float]] = defaultdict(list)
    for spans in intervals(_visible_ids(user)).values():
        for span in spans:
            if span.end is not None and span.state not in FINAL_STATES:
                out[span.state].append(span.days())
    return out


def median_time_in_state(user: User) -> list[dict]:
    """Median days and number of finished visits per open state, from the precomputed histogram
    (models.StateDuration): one statement reading at most a few hundred rows per state."""
    stmt = select(
        StateDuration.state, StateDuration.bucket, func.sum(StateDuration.visits), func.sum(StateDuration.days)
    )
    if user.role is Role.staff:
        stmt = stmt.where(StateDuration.node_id == user.node_id)
    rows = db.session.execute(
        stmt.group_by(StateDuration.state, StateDuration.bucket).order_by(StateDuration.state, StateDuration.bucket)
    ).all()
    per_state: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for state, _, visits, days in rows:
        per_state[state].append((int(visits), float(days)))
    out = []
    for s in OPEN_STATES:
        buckets = per_state.get(s, [])
        count = sum(n for n, _ in buckets)
        middle, seen, found = (count + 1) / 2, 0, None
        for n, days in buckets:
            seen += n
            if seen >= middle:
                found = days / n  # the mean of the middle bucket's visits
                break
        out.append({"state": s, "median_days": found, "count": count, "typical_days": typical_days(s)})
    return out


def record_visit(req: ConversionRequest, event: RequestEvent) -> None:
    """requests.signals.request_changed receiver: add the visit the transition ends to the
    histogram, in the transition's transaction (an upsert: concurrent transitions add up)."""
    state = event.from_status
    if state is None:  # the submission starts the first visit
        return
    node_id = 0 if state in ("submitted", "approved") else (req.node_id or 0)  # before the flush: the old node
    with db.session.no_autoflush:
        entered = db.session.scalar(
            select(func.max(RequestEvent.at)).where(
                RequestEvent.request_id == req.id, RequestEvent.id != event.id if event.id else True
            )
        )
    if entered is None:
        return
    days = ((event.at or utcnow()) - entered).total_seconds() / DAY
    add_visits({(node_id, state, bucket_of(days)): (1, days)})


def add_visits(counts: dict[tuple[int, str, int], tuple[int, float]]) -> None:
    """Add {(node_id, state, bucket): (visits, days)} to the histogram (an upsert: concurrent
    transitions add up)."""
    rows = [{"node_id": n, "state": s, "bucket": b, "visits": v, "days": d} for (n, s, b), (v, d) in counts.items()]
    add_to_counts(StateDuration.__table__, ["node_id", "state", "bucket"], rows)


def rebuild_state_durations() -> int:
    """Recompute the histogram from the whole history (after bulk loads or edits made outside the
    app: seed-bench, a restored dump). A visit counts for the request's current node, except
    submitted and approved (no node). Returns the number of visits; the caller commits."""
    db.session.execute(StateDuration.__table__.delete())
    nodes = dict(db.session.execute(select(ConversionRequest.id, ConversionRequest.node_id)).all())
    counts: dict[tuple[int, str, int], tuple[int, float]] = {}
    last: tuple | None = None
    rows = db.session.execute(
        select(RequestEvent.request_id, RequestEvent.to_status, RequestEvent.at)
        .order_by(RequestEvent.request_id, RequestEvent.id)
        .execution_options(yield_per=5000)
    )
    total = 0
    for rid, state, at in rows:
        if last is not None and last[0] == rid:
            prev_state, entered = last[1], last[2]
            node_id = 0 if prev_state in ("submitted", "approved") else (nodes.get(rid) or 0)
            days = (at - entered).total_seconds() / DAY
            key = (node_id, prev_state, bucket_of(days))
            visits, total_days = counts.get(key, (0, 0.0))
            counts[key] = (visits + 1, total_days + days)
            total += 1
        last = (rid, state, at)
    add_visits(counts)
    return total


def throughput(user: User, months: int = 12, now: datetime | None = None) -> list[tuple[str, int, int]]:
    """[(YYYY-MM, submitted, completed)] for the last `months` months, oldest first, from the
    tallies (requests.tallies: submissions by created_at, completions by the day they completed)."""
    now = now or utcnow()
    keys = []
    year, month = now.year, now.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys.reverse()
    wanted = [f"{kind}:{k}" for kind in ("submitted", "completed") for k in keys]
    found: dict[str, int] = defaultdict(int)
    for _, key, n in db.session.execute(_tallies(user, RequestTally.key.in_(wanted))):
        found[key] += n
    submitted = {k: found[f"submitted:{k}"] for k in keys}
    completed = {k: found[f"completed:{k}"] for k in keys}
    return [(k, submitted.get(k, 0), completed.get(k, 0)) for k in keys]


OVERDUE_SHOWN = 50


@dataclass
class Overdue:
    request_id: int
    reference: str
    node: str | None
    state: str
    since: datetime
    days: float
    typical_days: float

    @property
    def late_days(self) -> float:
        return self.days - self.typical_days


LATE_STATES = tuple(s for s in TYPICAL_WEEKS if typical_days(s) is not None)
_OVERDUE: dict[tuple, tuple[Select, Select]] = {}


def _overdue_statements(user: User, limit: int) -> tuple[Select, Select]:
    """overdue()'s two statements for what `user` sees, built once per process and visibility (the
    cutoffs are bound parameters): building the union cost a third of the dashboard's CPU."""
    key = (user.role, user.node_id if user.role is Role.staff else None, limit)
    if key not in _OVERDUE or user.role is Role.requester:  # a requester's: never kept
        late = [
            (ConversionRequest.status == s) & (ConversionRequest.state_since < bindparam(f"cutoff_{s}"))
            for s in LATE_STATES
        ]
        # one range of the (status, state_since) index per state, added up: a single count with the
        # states OR-ed together read the whole index (15 ms at 50,000 requests)
        count = select(
            reduce(
                operator.add,
                [
                    select(func.count())
                    .select_from(ConversionRequest)
                    .where(condition, *_visible(user))
                    .scalar_subquery()
                    for condition in late
                ],
            )
        )
        parts = [
            select(
                ConversionRequest.id,
                ConversionRequest.reference,
                ConversionRequest.node_id,
                ConversionRequest.status,
                ConversionRequest.state_since,
            )
            .where(condition, *_visible(user))
            .order_by(ConversionRequest.state_since)
            .limit(limit)
            .subquery()
            for condition in late
        ]
        oldest = union_all(*[select(part) for part in parts]).subquery()
        _OVERDUE[key] = count, select(oldest, Node.code).outerjoin(Node, Node.id == oldest.c.node_id)
    return _OVERDUE[key]


def overdue(user: User, now: datetime | None = None, limit: int = OVERDUE_SHOWN) -> tuple[int, list[Overdue]]:
    """(how many open requests are in a state for longer than the service's typical duration, the
    `limit` latest of them, latest first). Two statements whatever the size: a count per state,
    and each state's `limit` oldest entries, both from the (status, state_since) index."""
    now = now or utcnow()
    cutoffs = {f"cutoff_{s}": now - timedelta(days=typical_days(s)) for s in LATE_STATES}
    count, latest = _overdue_statements(user, limit)
    total = db.session.scalar(count, cutoffs) or 0
    rows = db.session.execute(latest, cutoffs).all()
    out = []
    for rid, reference, _, state, since, code in rows:
        typical = typical_days(state)
        out.append(Overdue(rid, reference, code, state, since, (now - since).total_seconds() / DAY, typical))
    out.sort(key=lambda o: (-o.late_days, o.request_id))
    return total, out[:limit]
