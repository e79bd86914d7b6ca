"""The API detail called with a bearer token is one statement on PostgreSQL: the token's caller, the
request the caller may see with its history, and its lab records (read_detail_for_token, reads.Batch). It must answer exactly what the same user's signed-in browser gets from the other
path (the caller read first, the request by role), and refuse what that path refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import api_token, sign_in
from flows import Api, walk
from sqlalchemy import select

from bench.sqlcount import count_statements
from conversion.accounts.models import ApiToken, User
from conversion.extensions import db, utcnow

WHO = ("coordinator", "staff_ics", "staff_mrc", "requester", "industry")


@pytest.fixture
def world(seeded):
    """A completed request (records of every kind), one in breeding, one just submitted, at ICS."""
    api = Api(seeded.test_client())
    done, breeding, submitted = (api.submit(None)["id"] for _ in range(3))
    walk(api, done, "completed", node="ICS")
    walk(api, breeding, "breeding", node="ICS")
    api.go("requester", submitted, "cancel", reason="other")
    return api, (done, breeding, submitted)


def test_a_token_sees_what_the_same_users_browser_sees(seeded, world):
    api, ids = world
    seen = 0
    for who in WHO:
        browser = seeded.test_client()
        sign_in(browser, who)
        bearer = {"Authorization": f"Bearer {api_token(seeded.test_client(), who)}"}
        for rid in (*ids, ids[0] + 1000, 0, 2**31):
            by_token = api.client.get(f"/api/v1/requests/{rid}", headers=bearer)
            by_cookie = browser.get(f"/api/v1/requests/{rid}")
            assert (by_token.status_code, by_token.get_json()) == (by_cookie.status_code, by_cookie.get_json()), (
                who,
                rid,
            )
            seen += by_token.status_code == 200
    # the coordinator all three, ICS staff the two assigned to ICS (not the one cancelled before
    # assignment), the requester its own three; MRC staff and another requester none (404, as for a
    # request that does not exist)
    assert seen == 3 + 2 + 0 + 3 + 0
    done = api.get("coordinator", f"/requests/{ids[0]}").get_json()
    assert done["records"]["shipments"] and done["records"]["cryo"] and done["records"]["paperwork"]
    mine = api.get("requester", f"/requests/{ids[0]}").get_json()
    assert set(mine["records"]) == {"shipments"} and "tracking" in mine["records"]["shipments"][0]
    assert "storage" not in str(mine["records"])


def test_the_detail_is_one_statement_and_a_correction_adds_one(seeded, world):
    """On PostgreSQL; SQLite (in-process, no round trips) reads the caller, the request with its
    history, and its records one by one."""
    api, (done, breeding, submitted) = world
    headers = api.headers("coordinator")
    one = 1 if db.engine.dialect.name == "postgresql" else 3
    for rid in (done, breeding, submitted):
        with count_statements(db.engine) as counted:
            assert api.client.get(f"/api/v1/requests/{rid}", headers=headers).status_code == 200
        assert len(counted) == one, counted
    animal = api.get("staff_ics", f"/requests/{breeding}").get_json()["records"]["animals"][0]
    res = api.client.patch(
        f"/api/v1/requests/{breeding}/animals/{animal['id']}",
        json={"label": "F0-renamed", "reason": "Ear tag re-read", "version": animal["version"]},
        headers=api.headers("staff_ics"),
    )
    assert res.status_code == 200, res.get_json()
    with count_statements(db.engine) as counted:  # the corrections, read when a record has any
        shown = api.client.get(f"/api/v1/requests/{breeding}", headers=headers).get_json()
    assert len(counted) == one + 1
    (renamed,) = [a for a in shown["records"]["animals"] if a["id"] == animal["id"]]
    assert renamed["label"] == "F0-renamed" and renamed["corrections"][0]["reason"] == "Ear tag re-read"


@pytest.mark.parametrize("spoil", ["revoked", "expired", "deactivated", "unknown"])
def test_a_token_that_may_not_be_used_gets_401_and_no_request(seeded, world, spoil):
    api, (done, _, _) = world
    token = api_token(seeded.test_client(), "staff_ics")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get(f"/api/v1/requests/{done}", headers=headers).status_code == 200
    row = db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
    if spoil == "revoked":
        row.revoked_at = utcnow()
    elif spoil == "expired":
        row.expires_at = utcnow() - timedelta(seconds=1)
    elif spoil == "deactivated":
        db.session.scalar(select(User).where(User.email == "staff.ics@emma.example")).active = False
    else:
        headers = {"Authorization": f"Bearer {token}x"}
    db.session.commit()
    for rid in (done, 0):
        res = api.client.get(f"/api/v1/requests/{rid}", headers=headers)
        assert res.status_code == 401 and "Not signed in" in res.get_json()["error"]
        assert "reference" not in res.get_json()
