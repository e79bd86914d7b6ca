"""The completion estimate learns from the latest completed requests of the same recipe (the
recombinases in step order and TAT-Cre use) at the node; migration 0018 gives the requests that
existed before it their recipe. On SQLite and PostgreSQL."""

from __future__ import annotations

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
