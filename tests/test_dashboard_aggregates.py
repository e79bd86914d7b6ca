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
    from sqlalchemy import func, select

    from conversion.dashboards.models import StateDuration
    from conversion.extensions import db

    return dict(
        db.session.execute(
            select(StateDuration.state, func.sum(StateDuration.visits)).group_by(StateDuration.state)
        ).all()
    )


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
