"""The dashboard's precomputed figures (migration 0014) agree with the history they summarise.

Transitions add each finished visit to the time-in-state histogram and move `state_since` in
their own transaction; `rebuild-dashboard` recomputes the histogram from the whole history. Both
must give the same figures, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from flows import Api, fresh_strain, walk


@pytest.fixture
def api(seeded, client):
    return Api(client)


def _visits_per_state() -> dict[str, int]:
    """Finished visits per state, the nodes' rows added up; they must equal the all-nodes rows
    (ALL_NODES, bucket by bucket) that the coordinator's medians read."""
    from sqlalchemy import func, select

    from conversion.dashboards.models import ALL_NODES, StateDuration
    from conversion.extensions import db

    def buckets(*where) -> dict:
        return {
            (state, bucket): (int(visits), round(float(days), 6))
            for state, bucket, visits, days in db.session.execute(
                select(
                    StateDuration.state,
                    StateDuration.bucket,
                    func.sum(StateDuration.visits),
                    func.sum(StateDuration.days),
                )
                .where(*where)
                .group_by(StateDuration.state, StateDuration.bucket)
            )
        }

    per_node = buckets(StateDuration.node_id != ALL_NODES)
    assert buckets(StateDuration.node_id == ALL_NODES) == per_node
    out: dict[str, int] = {}
    for (state, _), (visits, _) in per_node.items():
        out[state] = out.get(state, 0) + visits
    return out


def test_transitions_keep_the_time_in_state_figures_that_a_rebuild_from_history_gives(seeded, api):
    from sqlalchemy import select

    from conversion.accounts.models import User
    from conversion.dashboards.metrics import median_time_in_state, rebuild_state_durations
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest, RequestEvent

    ids = [api.submit(fresh_strain(), "c")["id"] for _ in range(3)]
    walk(api, ids[0], "breeding", node="MRC")
    walk(api, ids[1], "accepted", node="ICS")
    api.go("coordinator", ids[1], "hold", comment="Waiting for the MTA")
    api.go("coordinator", ids[1], "resume", comment="MTA signed")
    api.go("coordinator", ids[2], "reject", comment="Not a conversion EMMA offers")
    kept = _visits_per_state()
    assert kept["submitted"] == 3 and kept["approved"] == 2 and kept["on_hold"] == 1
    assert kept["accepted"] == 2  # request 0 left it for rederivation, request 1 for on_hold
    rebuild_state_durations()
    db.session.commit()
    assert _visits_per_state() == kept
    coordinator = db.session.scalar(select(User).where(User.email == "coordinator@emma.example"))
    figures = {row["state"]: row for row in median_time_in_state(coordinator)}
    assert figures["submitted"]["count"] == 3 and figures["submitted"]["median_days"] < 0.01
    for rid in ids:  # state_since is the time of the last transition
        req = db.session.get(ConversionRequest, rid)
        last = max(e.at for e in db.session.query(RequestEvent).filter(RequestEvent.request_id == rid))
        assert abs((req.state_since - last).total_seconds()) < 1


def _tallies() -> dict[tuple[int, str], int]:
    from sqlalchemy import select

    from conversion.extensions import db
    from conversion.requests.models import RequestTally

    return {
        (n, k): c for n, k, c in db.session.execute(select(RequestTally.node_id, RequestTally.key, RequestTally.n)) if c
    }


def test_submissions_and_transitions_keep_the_counts_that_a_rebuild_gives(seeded, api):
    """Assign, decline and assign elsewhere, hold, cancel, reject, complete: the dashboard's counts
    per node and state and per month, kept by each step, are the ones a rebuild computes from the
    requests, and the ones the dashboard shows."""
    from sqlalchemy import select

    from conversion.accounts.models import User
    from conversion.dashboards.metrics import counts_by_node_and_state, throughput
    from conversion.extensions import db
    from conversion.requests import tallies

    ids = [api.submit(fresh_strain(), "c")["id"] for _ in range(5)]
    walk(api, ids[0], "completed", node="MRC")
    walk(api, ids[1], "assigned", node="ICS")
    api.go("staff_ics", ids[1], "decline", comment="No room in the facility")
    walk(api, ids[1], "breeding", node="MRC")
    api.go("coordinator", ids[1], "hold", comment="Waiting for the MTA")
    walk(api, ids[2], "accepted", node="ICS")
    api.go("coordinator", ids[2], "cancel", reason="no_longer_required")
    api.go("coordinator", ids[3], "reject", comment="Not a conversion EMMA offers")
    kept = _tallies()
    assert kept[(0, "rejected")] >= 1 and kept[(0, "submitted")] >= 1
    tallies.rebuild()
    db.session.commit()
    assert _tallies() == kept

    coordinator = db.session.scalar(select(User).where(User.email == "coordinator@emma.example"))
    staff = db.session.scalar(select(User).where(User.email == "staff.ics@emma.example"))
    _, _, counts = counts_by_node_and_state(coordinator)
    assert counts[("MRC", "completed")] >= 1 and counts[("MRC", "on_hold")] >= 1
    assert counts[("ICS", "cancelled")] >= 1 and counts[("", "rejected")] >= 1 and counts[("", "submitted")] >= 1
    _, _, mine = counts_by_node_and_state(staff)
    assert {node for node, _ in mine} == {"ICS"}  # staff see their node's counts only
    months = throughput(coordinator)
    this_month = months[-1]
    assert this_month[1] >= 5 and this_month[2] >= 1  # submitted, completed this month


def test_migration_0016_fills_the_counts_a_rebuild_gives(seeded, api):
    """Requests that existed before the counts were kept get them from the migration."""
    from flask_migrate import downgrade, upgrade

    from conversion.extensions import db
    from conversion.requests import tallies

    ids = [api.submit(fresh_strain(), "c")["id"] for _ in range(3)]
    walk(api, ids[0], "completed", node="MRC")
    walk(api, ids[1], "breeding", node="ICS")
    db.session.remove()
    downgrade(revision="0015")
    upgrade(revision="heads")
    migrated = _tallies()
    assert migrated[(0, "submitted")] >= 1 and sum(n for (_, k), n in migrated.items() if k == "completed") >= 1
    tallies.rebuild()
    db.session.commit()
    assert _tallies() == migrated


def test_the_overdue_list_shows_the_latest_first_whatever_their_state(seeded, api):
    """Requests late in different states: the count covers them all, the list the most overdue
    first (how long past the state's usual duration), cut at the limit."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from conversion.accounts.models import User
    from conversion.dashboards.metrics import overdue
    from conversion.extensions import db, utcnow
    from conversion.requests.models import ConversionRequest

    ids = [api.submit(fresh_strain(), "c")["id"] for _ in range(4)]
    walk(api, ids[0], "accepted", node="MRC")  # usually 6 weeks
    walk(api, ids[1], "assigned", node="ICS")  # usually 2 weeks
    walk(api, ids[2], "approved")  # usually 1 week
    now = utcnow()
    # late by 503, 510 and 502.5 weeks (later than any demo request), and not late
    weeks_in_state = {ids[0]: 509, ids[1]: 512, ids[2]: 503.5, ids[3]: 0.5}
    for rid, weeks in weeks_in_state.items():
        db.session.execute(
            update(ConversionRequest)
            .where(ConversionRequest.id == rid)
            .values(state_since=now - timedelta(weeks=weeks))
        )
    db.session.commit()
    coordinator = db.session.scalar(select(User).where(User.email == "coordinator@emma.example"))
    total, shown = overdue(coordinator, limit=2)
    assert total >= 3
    assert [o.request_id for o in shown] == [ids[1], ids[0]]
    assert shown[0].node == "ICS" and shown[0].state == "assigned" and round(shown[0].late_days / 7, 1) == 510.0
    total, shown = overdue(coordinator)
    assert [o.request_id for o in shown][:3] == [ids[1], ids[0], ids[2]]
    staff = db.session.scalar(select(User).where(User.email == "staff.ics@emma.example"))
    assert [o.request_id for o in overdue(staff)[1] if o.request_id in ids] == [ids[1]]


def test_migration_0017_adds_up_the_nodes_time_in_state(seeded, api):
    """The all-nodes rows of the histogram, which the coordinator's medians read, come from the
    migration for visits counted before it, and match the nodes' rows."""
    from flask_migrate import downgrade, upgrade

    from conversion.extensions import db

    rid = api.submit(fresh_strain(), "c")["id"]
    walk(api, rid, "breeding", node="MRC")
    kept = _visits_per_state()
    db.session.remove()
    downgrade(revision="0016")
    upgrade(revision="heads")
    assert _visits_per_state() == kept and kept["accepted"] >= 1
