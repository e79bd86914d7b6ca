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

from sqlalchemy import Select, bindparam, func, literal, null, select, union_all

from workflows.lifecycle import FINAL_STATES, OPEN_STATES, STATES

from ..accounts.models import Role, User
from ..catalogue.models import Node
from ..extensions import add_to_counts, db, in_sql_text, utcnow
from ..requests.durations import TYPICAL_WEEKS, typical_days
from ..requests.estimates import DAY, intervals
from ..requests.models import ConversionRequest, RequestEvent, RequestTally
from ..requests.operations import visible_requests
from .models import ALL_NODES, StateDuration, bucket_of


def _visible_ids(user: User):
    return visible_requests(user).with_only_columns(ConversionRequest.id).scalar_subquery()


def _visible(user: User) -> list:
    """Visibility as conditions on conversion_requests itself (no `id IN (subquery)`)."""
    where = visible_requests(user).whereclause
    return [] if where is None else [where]


# ---- dashboard figures ---------------------------------------------------------
_TALLIES: dict[tuple[bool, bool], Select] = {}


def _tally_rows(user: User, keys: list[str], every_node: bool = False) -> list:
    """[(node code or None, key, n)] of the tallies (requests.tallies) with these keys that `user`
    sees (coordinators: all; staff: their node), a few dozen rows whatever the number of requests.
    `every_node` adds (code, None, 0) for each node that converts (the coordinator's table lists
    them, busy or not). The statement is built once per process and visibility."""
    coordinator = user.role is Role.coordinator
    stmt = _TALLIES.get((coordinator, every_node))
    if stmt is None:
        conditions = [RequestTally.n != 0, RequestTally.key.in_(bindparam("keys", expanding=True))]
        if not coordinator:  # the dashboard is for coordinators (all) and staff (their node)
            conditions.append(RequestTally.node_id == bindparam("node"))
        tallied = select(RequestTally.node_id, RequestTally.key, RequestTally.n).where(*conditions).subquery()
        stmt = (
            select(Node.code, tallied.c.key, tallied.c.n)
            .select_from(tallied)
            .outerjoin(Node, Node.id == tallied.c.node_id)
        )
        if every_node:
            nodes = select(Node.code, null().label("key"), literal(0).label("n")).where(Node.offers_conversion)
            stmt = union_all(stmt, nodes)  # type: ignore[assignment]
        _TALLIES[(coordinator, every_node)] = stmt
    params: dict = {"keys": keys}
    if not coordinator:
        params["node"] = user.node_id or -1
    return db.session.execute(stmt, params).all()


def _counts(rows) -> tuple[list[str], list[str], dict]:
    counts = {(code or "", status): n for code, status, n in rows if status in STATES}
    nodes = sorted({code for code, _ in counts}, key=lambda c: (c == "", c))
    states = [s for s in STATES if any(state == s for _, state in counts)]
    return nodes, states, counts


def counts_by_node_and_state(user: User) -> tuple[list[str], list[str], dict]:
    """(node codes incl. '' for unassigned, states with any request, {(node, state): n}): from the
    tallies (requests.tallies), a few dozen rows whatever the number of requests."""
    return _counts(_tally_rows(user, list(STATES)))


def _month_keys(now: datetime, months: int) -> list[str]:
    """YYYY-MM of the last `months` months, oldest first."""
    keys = []
    year, month = now.year, now.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys.reverse()
    return keys


def _throughput(rows, keys: list[str]) -> list[tuple[str, int, int]]:
    found: dict[str, int] = defaultdict(int)
    for _, key, n in rows:
        if key is not None:
            found[key] += n
    return [(k, found[f"submitted:{k}"], found[f"completed:{k}"]) for k in keys]


def counts_and_throughput(
    user: User, months: int = 12, now: datetime | None = None
) -> tuple[list[str], list[str], dict, list[str], list[tuple[str, int, int]]]:
    """The dashboard's tallies in one statement: counts_by_node_and_state(), the codes of the nodes
    that convert (coordinators) and throughput()."""
    keys = _month_keys(now or utcnow(), months)
    wanted = list(STATES) + [f"{kind}:{k}" for kind in ("submitted", "completed") for k in keys]
    rows = _tally_rows(user, wanted, every_node=user.role is Role.coordinator)
    nodes, states, counts = _counts(rows)
    converting = [code for code, key, _ in rows if key is None]
    return nodes, states, counts, converting, _throughput(rows, keys)


def time_in_state(user: User) -> dict[str, list[float]]:
    """{state: durations in days of the finished visits of that state} (every visit: the box plot)."""
    out: dict[str, list[float]] = defaultdict(list)
    for spans in intervals(_visible_ids(user)).values():
        for span in spans:
            if span.end is not None and span.state not in FINAL_STATES:
                out[span.state].append(span.days())
    return out


def _medians() -> Select:
    """Each state's median bucket in the histogram rows of one node (or ALL_NODES): the bucket where
    the running total of visits, in bucket order, reaches half of the state's visits (one per
    state), with the state's visits and the bucket's visits and days. The rows are one range of the
    primary key."""
    running = (
        select(
            StateDuration.state,
            StateDuration.visits,
            StateDuration.days,
            func.sum(StateDuration.visits)
            .over(partition_by=StateDuration.state, order_by=StateDuration.bucket)
            .label("running"),
            func.sum(StateDuration.visits).over(partition_by=StateDuration.state).label("total"),
        )
        .where(StateDuration.node_id == bindparam("node"))
        .subquery()
    )
    before = running.c.running - running.c.visits  # the visits in the buckets before this one
    return select(running.c.state, running.c.total, running.c.visits, running.c.days).where(
        2 * running.c.running >= running.c.total + 1, 2 * before < running.c.total + 1
    )


_MEDIANS = _medians()


def median_time_in_state(user: User) -> list[dict]:
    """Median days and number of finished visits per open state, from the precomputed histogram
    (models.StateDuration): one statement, which the database answers from one range of its
    primary key (ALL_NODES for coordinators, their node for staff) and returns a row per state.
    The median is the mean of the visits in the middle bucket."""
    node = user.node_id if user.role is Role.staff else ALL_NODES
    found = {
        state: (int(total), float(days) / int(visits))
        for state, total, visits, days in db.session.execute(_MEDIANS, {"node": node})
    }
    out = []
    for s in OPEN_STATES:
        count, median = found.get(s, (0, None))
        out.append({"state": s, "median_days": median, "count": count, "typical_days": typical_days(s)})
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
    """Add {(node_id, state, bucket): (visits, days)} to the histogram, and to its ALL_NODES rows
    (an upsert: concurrent transitions add up)."""
    every: dict[tuple[int, str, int], tuple[int, float]] = dict(counts)
    for (_, state, bucket), (visits, days) in counts.items():
        v, d = every.get((ALL_NODES, state, bucket), (0, 0.0))
        every[(ALL_NODES, state, bucket)] = (v + visits, d + days)
    rows = [{"node_id": n, "state": s, "bucket": b, "visits": v, "days": d} for (n, s, b), (v, d) in every.items()]
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
    keys = _month_keys(now or utcnow(), months)
    wanted = [f"{kind}:{k}" for kind in ("submitted", "completed") for k in keys]
    return _throughput(_tally_rows(user, wanted), keys)


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
_OVERDUE: dict[tuple, Select] = {}


def _seconds_between(earlier, later, dialect: str):
    """`later - earlier` in seconds, in SQL."""
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _overdue_statement(user: User, limit: int, dialect: str) -> Select:
    """overdue()'s statement for what `user` sees, built once per process and visibility (the
    cutoffs are bound parameters: building it cost a third of the dashboard's CPU). Each state's
    `limit` oldest entries come from one range of the (status, state_since) index, each with how
    late it is (its cutoff minus its state_since); the `limit` latest of them are kept, with their
    node's code and the count of every overdue request (a range of the index per state, added up:
    the states OR-ed together had read the whole index, 15 ms at 50,000 requests)."""
    key = (user.role, user.node_id if user.role is Role.staff else None, limit, dialect)
    if key not in _OVERDUE or user.role is Role.requester:  # a requester's: never kept
        cutoffs = {s: bindparam(f"cutoff_{s}", type_=ConversionRequest.state_since.type) for s in LATE_STATES}
        late = [
            (s, (ConversionRequest.status == s) & (ConversionRequest.state_since < cutoffs[s])) for s in LATE_STATES
        ]
        total = reduce(
            operator.add,
            [
                select(func.count()).select_from(ConversionRequest).where(condition, *_visible(user)).scalar_subquery()
                for _, condition in late
            ],
        )
        parts = [
            select(
                ConversionRequest.id,
                ConversionRequest.reference,
                ConversionRequest.node_id,
                ConversionRequest.status,
                ConversionRequest.state_since,
                _seconds_between(ConversionRequest.state_since, cutoffs[s], dialect).label("late"),
            )
            .where(condition, *_visible(user))
            .order_by(ConversionRequest.state_since)
            .limit(in_sql_text(limit))  # (a LIMIT parameter: PostgreSQL plans again every call)
            .subquery()
            for s, condition in late
        ]
        oldest = union_all(*[select(part) for part in parts]).subquery()
        _OVERDUE[key] = (
            select(
                oldest.c.id, oldest.c.reference, oldest.c.status, oldest.c.state_since, Node.code, total.label("total")
            )
            .outerjoin(Node, Node.id == oldest.c.node_id)
            .order_by(oldest.c.late.desc(), oldest.c.id)
            .limit(in_sql_text(limit))
        )
    return _OVERDUE[key]


def overdue(user: User, now: datetime | None = None, limit: int = OVERDUE_SHOWN) -> tuple[int, list[Overdue]]:
    """(how many open requests are in a state for longer than the service's typical duration, the
    `limit` latest of them, latest first). One statement whatever the size (_overdue_statement)."""
    now = now or utcnow()
    cutoffs = {f"cutoff_{s}": now - timedelta(days=typical_days(s)) for s in LATE_STATES}
    dialect = db.session.get_bind().dialect.name
    rows = db.session.execute(_overdue_statement(user, limit, dialect), cutoffs).all()
    out = []
    for rid, reference, state, since, code, _ in rows:
        typical = typical_days(state)
        out.append(Overdue(rid, reference, code, state, since, (now - since).total_seconds() / DAY, typical))
    return (rows[0][-1] if rows else 0), out
