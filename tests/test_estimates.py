"""The completion estimate learns from the latest completed requests of the same recipe (the
recombinases in step order and TAT-Cre use) at the node; migration 0018 gives the requests that
existed before it their recipe. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

from flows import Api, fresh_strain, walk
from sqlalchemy import text


def _recipes() -> dict:
    from conversion.extensions import db

    return dict(db.session.execute(text("SELECT id, recipe FROM conversion_requests")).all())


def _learnt_from(rid: int) -> int:
    from conversion.extensions import db
    from conversion.requests.estimates import learnt_days
    from conversion.requests.models import ConversionRequest

    db.session.expire_all()
    return learnt_days(db.session.get(ConversionRequest, rid))[0]


def test_the_estimate_learns_from_completed_requests_of_the_same_recipe(seeded, client):
    api = Api(client)
    done = api.submit(fresh_strain("EM:05894"), "b")["id"]  # one Cre step
    walk(api, done, "completed", node="MRC")
    plain = api.submit(fresh_strain("EM:05894"), "b")["id"]
    tat = api.submit(fresh_strain("EM:05894"), "b", use_tat_cre=True)["id"]
    flp = api.submit(fresh_strain(), "c")["id"]
    elsewhere = api.submit(fresh_strain("EM:05894"), "b")["id"]
    for rid, node in ((plain, "MRC"), (tat, "MRC"), (flp, "MRC"), (elsewhere, "ICS")):
        walk(api, rid, "assigned", node=node)
    assert _recipes()[done] == "Cre" and _recipes()[tat] == "Cre+TAT" and _recipes()[flp] == "Flp"
    assert _learnt_from(plain) == 1
    assert _learnt_from(tat) == 0  # TAT-Cre instead of a Cre deleter: not the same work
    assert _learnt_from(flp) == 0
    assert _learnt_from(elsewhere) == 0  # another node


def test_migration_0018_gives_earlier_requests_their_recipe(seeded, client):
    from flask_migrate import downgrade, upgrade

    from conversion.extensions import db

    api = Api(client)
    ids = [
        api.submit(fresh_strain(), "c")["id"],
        api.submit(fresh_strain("EM:05894"), "b", use_tat_cre=True)["id"],
    ]
    before = _recipes()
    assert [before[i] for i in ids] == ["Flp", "Cre+TAT"]
    db.session.remove()
    downgrade(revision="0017")
    upgrade(revision="heads")
    assert _recipes() == before


def _learnt_rows() -> dict:
    from conversion.extensions import db

    db.session.expire_all()
    rows = db.session.execute(text("SELECT node_id, recipe, step_count, requests, days FROM learnt_durations"))
    return {
        (n, r): (steps, count, json.loads(days) if isinstance(days, str) else days) for n, r, steps, count, days in rows
    }


def _recomputed() -> dict:
    """What the estimate learns per (node, recipe), computed again from the history."""
    from conversion.extensions import db
    from conversion.requests.estimates import _medians, _similar_spans

    keys = db.session.execute(
        text(
            "SELECT node_id, recipe, max(step_count) FROM conversion_requests WHERE status = 'completed' "
            "AND node_id IS NOT NULL AND recipe IS NOT NULL GROUP BY node_id, recipe"
        )
    ).all()
    return {(n, r): (steps, *_medians(_similar_spans(n, r), steps)) for n, r, steps in keys}


def test_what_the_estimate_learnt_is_kept_as_requests_are_completed(seeded, client):
    api = Api(client)
    waiting = api.submit(fresh_strain("EM:05894"), "b")["id"]
    walk(api, waiting, "accepted", node="MRC")
    assert _learnt_rows() == {} and _learnt_from(waiting) == 0
    first = api.submit(fresh_strain("EM:05894"), "b")["id"]
    walk(api, first, "completed", node="MRC")
    assert _learnt_from(waiting) == 1
    second = api.submit(fresh_strain("EM:05894"), "b")["id"]
    walk(api, second, "shipped", node="MRC")
    assert _learnt_from(waiting) == 1  # shipped is not completed yet
    walk(api, second, "completed", node="MRC")
    assert _learnt_from(waiting) == 2
    rows = _learnt_rows()
    assert [recipe for _, recipe in rows] == ["Cre"] and rows == _recomputed()
    ((steps, count, days),) = rows.values()
    assert steps == 1 and count == 2 and set(days) >= {"submitted", "assigned", "breeding", "shipped"}
    from conversion.extensions import db
    from conversion.requests.estimates import rebuild

    assert rebuild() == 1  # what `rebuild-dashboard` runs: the same
    db.session.commit()
    assert _learnt_rows() == rows


def test_migration_0020_fills_what_the_estimate_learnt(seeded, client):
    from flask_migrate import downgrade, upgrade

    from conversion.extensions import db

    api = Api(client)
    for like, target, node in (("EM:05894", "b", "MRC"), ("EM:05402", "c", "MRC"), ("EM:05894", "b", "ICS")):
        rid = api.submit(fresh_strain(like), target)["id"]
        walk(api, rid, "completed", node=node)
    before = _learnt_rows()
    assert len(before) == 3 and before == _recomputed()
    db.session.remove()
    downgrade(revision="0019")
    upgrade(revision="heads")
    assert _learnt_rows() == before
