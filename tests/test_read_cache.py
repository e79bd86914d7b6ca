"""The read cache (conversion/readcache.py): a repeated read is answered from memory, and any
write anywhere, in this worker or another, is seen by the very next read."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from conftest import sign_in
from flows import Api, walk


def stamp() -> int:
    from conversion.extensions import db

    with db.engine.connect() as conn:
        return conn.execute(text("SELECT value FROM change_stamp WHERE id = 1")).scalar_one()


@pytest.fixture
def api(seeded):
    return Api(seeded.test_client())


@pytest.fixture
def rid(api):
    rid = api.submit()["id"]
    walk(api, rid, "breeding", node="ICS")
    return rid


def test_a_repeated_read_is_served_from_memory_until_a_write(api, rid):
    first = api.get("staff_ics", f"/requests/{rid}")
    again = api.get("staff_ics", f"/requests/{rid}")
    assert (first.headers["X-Read-Cache"], again.headers["X-Read-Cache"]) == ("miss", "hit")
    assert again.get_data() == first.get_data()
    assert again.headers["Content-Type"] == "application/json"
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]

    api.go("staff_ics", rid, "hold", comment="Waiting for the deleter strain")
    after = api.get("staff_ics", f"/requests/{rid}")
    assert after.headers["X-Read-Cache"] == "miss"
    assert after.get_json()["status"] == "on_hold"
    assert after.get_json()["history"][-1]["comment"] == "Waiting for the deleter strain"
    assert api.get("staff_ics", f"/requests/{rid}").headers["X-Read-Cache"] == "hit"


def test_a_write_through_another_worker_is_seen_by_the_next_read(seeded, api, rid):
    """Two app instances on one database stand for two gunicorn workers."""
    from conversion import create_app
    from conversion.extensions import db

    api.get("staff_ics", f"/requests/{rid}")
    assert api.get("staff_ics", f"/requests/{rid}").headers["X-Read-Cache"] == "hit"
    other = create_app({"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": seeded.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        res = other.test_client().post(f"/api/v1/requests/{rid}/events", json={"trigger": "hold", "comment": "x"},
                                       headers=api.headers("staff_ics"))
        assert res.status_code == 200, res.get_json()
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
    res = api.get("staff_ics", f"/requests/{rid}")
    assert res.headers["X-Read-Cache"] == "miss"
    assert res.get_json()["status"] == "on_hold"


def test_a_revoked_token_is_refused_even_when_its_answer_was_cached(api, rid):
    api.get("coordinator", "/requests?status=breeding")
    assert api.get("coordinator", "/requests?status=breeding").headers["X-Read-Cache"] == "hit"
    assert api.client.delete("/api/v1/tokens/current", headers=api.headers("coordinator")).status_code in (200, 204)
    res = api.get("coordinator", "/requests?status=breeding")
    assert res.status_code == 401


def test_an_answer_is_never_given_to_other_credentials(api, rid):
    mine = api.get("requester", f"/requests/{rid}")
    assert mine.status_code == 200
    assert api.get("requester", f"/requests/{rid}").headers["X-Read-Cache"] == "hit"
    assert api.get("industry", f"/requests/{rid}").status_code == 404  # not theirs
    assert api.get(None, f"/requests/{rid}").status_code == 401


def test_raw_sql_writes_move_the_stamp_but_reads_and_rollbacks_do_not(seeded, api, rid):
    from conversion.extensions import db

    before = stamp()
    db.session.execute(text("SELECT count(*) FROM conversion_requests")).scalar()
    db.session.commit()
    db.session.execute(text("UPDATE conversion_requests SET billing_organisation = 'Rolled back'"))
    db.session.rollback()
    assert stamp() == before

    api.get("requester", f"/requests/{rid}")
    db.session.execute(text("UPDATE conversion_requests SET billing_organisation = 'EMBL Rome' WHERE id = :id"),
                       {"id": rid})
    db.session.commit()
    assert stamp() == before + 1
    res = api.get("requester", f"/requests/{rid}")
    assert res.headers["X-Read-Cache"] == "miss"
    assert res.get_json()["billing"]["organisation"] == "EMBL Rome"


def test_pages_are_kept_per_session_and_a_flashed_message_is_never_kept(seeded, rid):
    staff = seeded.test_client()
    sign_in(staff, "staff_ics")
    staff.get("/requests")  # the first page puts the CSRF token in the session cookie
    page = staff.get(f"/requests/{rid}")
    assert staff.get(f"/requests/{rid}").headers["X-Read-Cache"] == "hit"
    assert staff.get(f"/requests/{rid}").get_data() == page.get_data()

    other = seeded.test_client()  # the same user signed in elsewhere: its own session and forms
    sign_in(other, "staff_ics")
    other.get("/requests")
    assert other.get(f"/requests/{rid}").headers["X-Read-Cache"] == "miss"

    for _ in range(2):  # an unknown state is flashed each time, never answered from memory
        res = staff.get("/requests?status=no-such-state")
        assert "no-such-state" in res.get_data(as_text=True)
        assert res.headers["X-Read-Cache"] == "miss"


def test_an_entry_expires_after_its_time(seeded, api, rid, monkeypatch):
    import time

    from conversion import readcache

    api.get("requester", f"/requests/{rid}")
    assert api.get("requester", f"/requests/{rid}").headers["X-Read-Cache"] == "hit"
    later = time.time() + seeded.config["READ_CACHE_SECONDS"] + 1
    monkeypatch.setattr(readcache.time, "time", lambda: later)
    assert api.get("requester", f"/requests/{rid}").headers["X-Read-Cache"] == "miss"


def test_turned_off_every_read_is_computed(seeded, api, rid, monkeypatch):
    monkeypatch.setitem(seeded.config, "READ_CACHE_SECONDS", 0)
    for _ in range(2):
        res = api.get("requester", f"/requests/{rid}")
        assert res.status_code == 200 and "X-Read-Cache" not in res.headers


def test_the_cache_stays_within_its_size(seeded, api, rid, monkeypatch):
    monkeypatch.setitem(seeded.config, "READ_CACHE_ENTRIES", 3)
    cache = seeded.extensions["read_cache"]
    for status in ("submitted", "breeding", "completed", "on_hold", "qc"):
        api.get("coordinator", f"/requests?status={status}")
    assert len(cache.entries) <= 3
    assert api.get("coordinator", "/requests?status=qc").headers["X-Read-Cache"] == "hit"  # newest kept
    assert api.get("coordinator", "/requests?status=submitted").headers["X-Read-Cache"] == "miss"


def test_the_cache_stays_within_its_bytes(seeded, api, rid, monkeypatch):
    cache = seeded.extensions["read_cache"]
    page = len(api.get("requester", f"/requests/{rid}").get_data())
    monkeypatch.setitem(seeded.config, "READ_CACHE_BYTES", page * 16)  # room for 16 answers of this size
    for n in range(20):
        api.get("requester", f"/requests/{rid}?n={n}")
        assert cache.size <= page * 16
        assert cache.size == sum(len(e.body) for e in cache.entries.values())
    assert api.get("requester", f"/requests/{rid}?n=19").headers["X-Read-Cache"] == "hit"
    monkeypatch.setitem(seeded.config, "READ_CACHE_BYTES", page * 8)  # an answer over 1/16 is not kept
    api.get("requester", f"/requests/{rid}?n=big")
    assert api.get("requester", f"/requests/{rid}?n=big").headers["X-Read-Cache"] == "miss"


def test_a_role_taken_away_ends_the_kept_pages_at_once(seeded, rid):
    """A coordinator moves an ICS technician to requester: the technician's next view of the
    request (same session cookie, same URL) is refused, not answered from memory."""
    from conversion.accounts.models import User
    from conversion.accounts.operations import change_role
    from conversion.extensions import db

    staff = seeded.test_client()
    sign_in(staff, "staff_ics")
    staff.get("/requests")
    staff.get(f"/requests/{rid}")
    assert staff.get(f"/requests/{rid}").headers["X-Read-Cache"] == "hit"
    coordinator = db.session.scalar(db.select(User).where(User.email == "coordinator@emma.example"))
    technician = db.session.scalar(db.select(User).where(User.email == "staff.ics@emma.example"))
    change_role(coordinator, technician.id, "requester", None)
    res = staff.get(f"/requests/{rid}")
    assert res.status_code in (403, 404) and res.headers.get("X-Read-Cache") != "hit"
