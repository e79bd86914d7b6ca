"""Figures from the request history: counts, time in each state, overdue requests.

Read-only. Time in a state is measured between the history row that entered it and the next
row of the same request (request_events), so it counts every visit (a failed QC sends a
request back to breeding, a failed rederivation back to accepted)."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import func, inspect, select

from workflows.lifecycle import FINAL_STATES, OPEN_STATES, STATES

from ..accounts.models import User
from ..catalogue.models import Node
from ..extensions import db, utcnow
from ..requests.models import ConversionRequest, RequestEvent
from ..requests.operations import visible_requests
from ..requests.durations import TYPICAL_WEEKS, typical_days
from ..requests.estimates import DAY, intervals



def _visible_ids(user: User):
    return visible_requests(user).with_only_columns(ConversionRequest.id).scalar_subquery()


# ---- dashboard figures ---------------------------------------------------------
def counts_by_node_and_state(user: User) -> tuple[list[str], list[str], dict]:
    """(node codes incl. '' for unassigned, states with any request, {(node, state): n})."""
    rows = db.session.execute(
        select(Node.code, ConversionRequest.status, func.count())
        .select_from(ConversionRequest).outerjoin(Node, ConversionRequest.node_id == Node.id)
        .where(ConversionRequest.id.in_(_visible_ids(user)))
        .group_by(Node.code, ConversionRequest.status)).all()
    counts = {(code or "", status): n for code, status, n in rows}
    nodes = sorted({code for code, _ in counts}, key=lambda c: (c == "", c))
    states = [s for s in STATES if any(state == s for _, state in counts)]
    return nodes, states, counts


def time_in_state(user: User) -> dict[str, list[float]]:
    """{state: durations in days of the finished visits of that state}."""
    out: dict[str, list[float]] = defaultdict(list)
    for spans in intervals(_visible_ids(user)).values():
        for span in spans:
            if span.end is not None and span.state not in FINAL_STATES:
                out[span.state].append(span.days())
    return out


def median_time_in_state(user: User) -> list[dict]:
    durations = time_in_state(user)
    return [{"state": s, "median_days": median(durations[s]) if durations.get(s) else None,
             "count": len(durations.get(s, [])), "typical_days": typical_days(s)}
            for s in OPEN_STATES]


def throughput(user: User, months: int = 12, now: datetime | None = None) -> list[tuple[str, int, int]]:
    """[(YYYY-MM, submitted, completed)] for the last `months` months, oldest first."""
    now = now or utcnow()
    keys = []
    year, month = now.year, now.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys.reverse()
    start = datetime(int(keys[0][:4]), int(keys[0][5:]), 1, tzinfo=now.tzinfo)
    rows = db.session.execute(
        select(RequestEvent.to_status, RequestEvent.from_status, RequestEvent.at)
        .where(RequestEvent.request_id.in_(_visible_ids(user)), RequestEvent.at >= start,
               (RequestEvent.from_status.is_(None)) | (RequestEvent.to_status == "completed")))
    submitted, completed = Counter(), Counter()
    for to_status, from_status, at in rows:
        key = f"{at.year:04d}-{at.month:02d}"
        (completed if to_status == "completed" else submitted)[key] += 1
    return [(k, submitted[k], completed[k]) for k in keys]


@dataclass
class Overdue:
    request: ConversionRequest
    state: str
    since: datetime
    days: float
    typical_days: float

    @property
    def late_days(self) -> float:
        return self.days - self.typical_days


def overdue(user: User, now: datetime | None = None) -> list[Overdue]:
    """Open requests in a state for longer than the service's typical duration, latest first."""
    now = now or utcnow()
    entered = (select(RequestEvent.request_id, func.max(RequestEvent.id).label("last"))
               .where(RequestEvent.request_id.in_(_visible_ids(user)))
               .group_by(RequestEvent.request_id).subquery())
    rows = db.session.execute(
        select(ConversionRequest, RequestEvent.at)
        .join(entered, entered.c.request_id == ConversionRequest.id)
        .join(RequestEvent, RequestEvent.id == entered.c.last)
        .where(ConversionRequest.status.in_(list(TYPICAL_WEEKS)))).all()
    out = []
    for req, since in rows:
        typical = typical_days(req.status)
        days = (now - since).total_seconds() / DAY
        if typical is not None and days > typical:
            out.append(Overdue(req, req.status, since, days, typical))
    out.sort(key=lambda o: -o.late_days)
    return out
