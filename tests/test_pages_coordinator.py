"""Coordinator pages: review queue, assignment with suggestions, all requests, CSV, dashboard."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from flows import Api, fresh_strain, walk
from webflows import Web, flashes


@pytest.fixture
def api(seeded, client):
    return Api(client)


@pytest.fixture
def cora(seeded):
    return Web(seeded, "coordinator")


def _status(rid):
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    db.session.expire_all()
    return db.session.get(ConversionRequest, rid)


def test_review_queue_approves_rejects_and_assigns_with_the_suggested_node(seeded, api, cora):
    first = api.submit("EM:10021", "c")["id"]  # held by UNIOULU
    second = api.submit("EM:05402", "c")["id"]
    page = cora.text("/review")
    assert "To review" in page and page.count("Approve</button>") == 2 and "Nothing waits for a node." in page
    res = cora.fire(first, "approve", next="/review")
    assert res.status_code == 302 and res.headers["Location"].endswith("/review")
    res = cora.fire(second, "reject", next="/review")
    assert "A comment is required" in " ".join(flashes(cora.text("/review")))
    cora.go(second, "reject", comment="Duplicate of an earlier request", next="/review")
    assert _status(second).status == "rejected"
    page = cora.text("/review")
    assert '<option value="UNIOULU" selected>UNIOULU · holds stock' in page and "suggested" in page
    assert '<option value="SANG" disabled>' in page
    cora.go(first, "assign", node="UNIOULU", next="/review")
    assert _status(first).node.code == "UNIOULU"
    assert "Nothing waits for review." in cora.text("/review")


def test_request_page_ranks_nodes_for_assignment(seeded, api, cora):
    rid = api.submit("EM:05402", "d")["id"]
    api.go("coordinator", rid, "approve")
    page = cora.text(f"/requests/{rid}")
    assert "Suggested nodes" in page and "MRC</strong> holds the stock" in page
    assert "SANG does not offer allele conversion" in page
    res = cora.fire(rid, "assign", node="SANG")
    assert res.status_code == 409 and "does not offer" in res.get_data(as_text=True)
    cora.go(rid, "assign", node="MRC")
    assert "Assigned to a node" in cora.text(f"/requests/{rid}")


def test_requesters_and_staff_do_not_get_coordinator_pages(seeded):
    rita = Web(seeded, "requester")
    assert rita.get("/review").status_code == 403
    assert rita.get("/dashboard").status_code == 403
    assert rita.get("/dashboard/throughput.svg").status_code == 403
    assert Web(seeded, "staff_mrc").get("/review").status_code == 403
    assert seeded.test_client().get("/dashboard").status_code == 302  # sign in first


def test_all_requests_filter_by_node_and_paginate(seeded, api, cora):
    ids = [api.submit(None, "c")["id"] for _ in range(27)]  # 27 products (one each: no duplicate work)
    walk(api, ids[0], "assigned", node="ICS")
    page1 = cora.text("/requests")
    assert "Showing 1–25 of 27 requests" in page1 and "Page 1 of 2" in page1
    page2 = cora.text("/requests?page=2")
    assert "Showing 26–27 of 27 requests" in page2 and "← Previous" in page2
    ics = cora.text("/requests?node=ICS")
    assert "Showing 1–1 of 1 request" in ics and f'/requests/{ids[0]}"' in ics
    assert cora.text("/requests?page=99").count("Showing 26–27") == 1  # clamped to the last page


def test_csv_exports_exactly_what_is_shown(seeded, api, cora):
    ids = [api.submit("EM:05402", t)["id"] for t in ("b", "c", "d")] * 1
    for _ in range(25):
        api.submit(fresh_strain("EM:06377"), "b")
    api.go("coordinator", ids[0], "approve")
    res = cora.get("/requests.csv?status=approved")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    assert "attachment" in res.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True))))
    assert rows[0] == [
        "Reference",
        "Status",
        "Strain",
        "Gene",
        "Product",
        "Node",
        "Requester",
        "Submitted",
        "Last change",
    ]
    assert len(rows) == 2 and rows[1][1] == "Approved" and rows[1][4] == "Cdk5rap2<tm1b(EUCOMM)Wtsi>"
    page2 = list(csv.reader(io.StringIO(cora.get("/requests.csv?page=2&sort=oldest").get_data(as_text=True))))
    shown = cora.text("/requests?page=2&sort=oldest")
    assert len(page2) == 1 + 3 and all(row[0] in shown for row in page2[1:])
    assert 'href="/requests.csv?sort=oldest&amp;page=2"' in shown


def test_csv_export_of_every_page_streams_all_matching_requests(seeded, api, cora):
    for _ in range(30):
        api.submit(fresh_strain("EM:06377"), "b")
    rid = api.submit(fresh_strain(), "c")["id"]
    api.go("coordinator", rid, "approve")
    shown = cora.text("/requests?sort=oldest")
    assert "Showing 1–25 of 31" in shown and 'href="/requests.csv?all=1&amp;sort=oldest"' in shown
    res = cora.get("/requests.csv?all=1&sort=oldest")
    assert res.status_code == 200 and res.mimetype == "text/csv" and res.is_streamed
    assert 'filename="requests-all.csv"' in res.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True))))
    assert rows[0][0] == "Reference" and len(rows) == 1 + 31
    assert [r[0] for r in rows[1:26]] == [
        r[0] for r in csv.reader(io.StringIO(cora.get("/requests.csv?sort=oldest").get_data(as_text=True)))
    ][1:]  # page 1 first, same order
    approved = list(csv.reader(io.StringIO(cora.get("/requests.csv?all=1&status=approved").get_data(as_text=True))))
    assert len(approved) == 2 and approved[1][1] == "Approved"
    bad = cora.get("/requests.csv?all=1&status=nonsense")
    assert bad.status_code == 302 and "Unknown status" in cora.text("/requests")


def test_csv_cells_cannot_start_a_formula(seeded, cora):
    from conftest import DEMO

    from conversion.accounts.operations import create_user
    from conversion.exports import csv_cell as csv_safe

    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(cell) == "'" + cell
    assert csv_safe("EM:05402") == "EM:05402" and csv_safe("") == ""
    create_user("=cmd@example.org", "formula-pass-1", "requester")
    DEMO["formula"] = ("=cmd@example.org", "formula-pass-1")
    try:
        Web(seeded, "formula").new_request("EM:05402", "c")
    finally:
        DEMO.pop("formula")
    rows = list(csv.reader(io.StringIO(cora.get("/requests.csv").get_data(as_text=True))))
    assert rows[1][6] == "'=cmd@example.org"


def _backdate(rid: int, weeks_in_current: float, weeks_per_earlier: float = 1.0) -> None:
    """Move a request's history into the past: the last state entered `weeks_in_current` ago."""
    from sqlalchemy import select, update

    from conversion.extensions import db, utcnow
    from conversion.requests.models import RequestEvent

    events = list(
        db.session.scalars(select(RequestEvent.id).where(RequestEvent.request_id == rid).order_by(RequestEvent.id))
    )
    from conversion.dashboards.metrics import rebuild_state_durations
    from conversion.requests.models import ConversionRequest

    now = utcnow()
    for back, eid in enumerate(reversed(events)):
        at = now - timedelta(weeks=weeks_in_current + back * weeks_per_earlier)
        db.session.execute(update(RequestEvent).where(RequestEvent.id == eid).values(at=at))
    db.session.execute(
        update(ConversionRequest)
        .where(ConversionRequest.id == rid)
        .values(state_since=now - timedelta(weeks=weeks_in_current))
    )
    # history rewritten outside the app: recompute the dashboard's histogram and what the completion
    # estimates learnt (what `rebuild-dashboard` does)
    from conversion.requests.estimates import rebuild as rebuild_learnt

    rebuild_state_durations()
    rebuild_learnt()
    db.session.commit()


def test_dashboard_counts_times_overdue_and_charts(seeded, api, cora):
    a = api.submit("EM:05402", "c")["id"]
    b = api.submit("EM:05402", "b")["id"]
    c = api.submit("EM:06377", "b")["id"]
    d = api.submit("EM:05894", "c")["id"]
    walk(api, a, "rederivation", node="MRC")
    walk(api, b, "accepted", node="MRC")
    walk(api, c, "accepted", node="MRC")
    walk(api, d, "assigned", node="ICS")
    _backdate(a, weeks_in_current=20, weeks_per_earlier=2)  # rederivation usually takes 10 weeks
    page = cora.text("/dashboard")
    assert "Requests per node and state" in page
    assert 'href="/requests?status=accepted&amp;node=MRC">2</a>' in page
    assert 'href="/requests?status=rederivation&amp;node=MRC">1</a>' in page
    assert 'href="/requests?status=assigned&amp;node=ICS">1</a>' in page
    assert '<span class="tile-n">4</span><span class="tile-l">open requests' in page
    assert '<th scope="row">HMGU</th>' in page  # every converting node has a row, busy or not
    overdue = page[page.index("Overdue") : page.index("charts")]
    refs = {r: _status(r).reference for r in (a, b, c, d)}
    assert refs[a] in overdue and "20.0 weeks" in overdue and refs[b] not in overdue
    times = page[page.index("Time in each state") :]
    assert "2.0 weeks" in times  # submitted, approved, assigned, accepted of request a: 2 weeks each
    svg = cora.get("/dashboard/throughput.svg")
    assert svg.mimetype == "image/svg+xml" and b"Submitted" in svg.data and b"<script" not in svg.data
    assert "default-src 'none'" in svg.headers["Content-Security-Policy"]
    box = cora.get("/dashboard/time-in-state.svg")
    assert box.status_code == 200 and b"Rederivation" not in box.data and b"Accepted" in box.data
    staff = Web(seeded, "staff_ics").text("/dashboard")
    assert "Dashboard <small>ICS</small>" in staff and '<span class="tile-n">1</span><span class="tile-l">open' in staff


def test_eta_uses_finished_requests_with_the_same_plan(seeded, api):
    done = api.submit("EM:05402", "c")["id"]
    walk(api, done, "completed", node="MRC")
    _backdate(done, weeks_in_current=1, weeks_per_earlier=4)  # ten states of 4 weeks: ~40 weeks
    rid = api.submit("EM:05894", "c")["id"]
    walk(api, rid, "accepted", node="MRC")
    from conversion.extensions import utcnow
    from conversion.requests.estimates import estimate

    est = estimate(_status(rid))
    assert est.based_on == 1 and "based on 1 completed request with the same plan (Flp) at MRC" in est.basis
    # accepted, rederivation, breeding, qc, cryopreservation, ready, shipped left: 7 x 4 weeks
    assert abs((est.on - utcnow()).days - 7 * 28) <= 1
    typical = estimate(_status(api.submit("EM:05894", "d")["id"]))
    assert typical.based_on == 0 and "not assigned to a node yet" in typical.basis
    # 1+1+2+6+10+2*(16+3)+6+2+2 weeks from submission
    assert abs((typical.on - utcnow()).days - 68 * 7) <= 1
    page = Web(seeded, "requester").text(f"/requests/{rid}")
    assert "Estimated completion" in page and est.on.strftime("%d %b %Y") in page
