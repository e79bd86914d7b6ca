"""SQL statements per page and API call do not grow with the data: a regression to N+1 fails here.

Each URL is counted (SQLAlchemy before_cursor_execute) once with a handful of requests and again
after many more requests, history rows, actors and lab records were added. docs/benchmarks.md
has the figures at 1,000 and 50,000 requests."""

from __future__ import annotations

import io

import pytest
from conftest import sign_in
from flows import Api, walk


def statements(app, client, url: str, headers: dict | None = None) -> int:
    from bench.sqlcount import count_statements
    from conversion.extensions import db

    assert client.get(url, headers=headers or {}).status_code == 200, url  # warm-up
    with count_statements(db.engine) as seen:
        res = client.get(url, headers=headers or {})
    assert res.status_code == 200, url
    return len(seen)


@pytest.fixture
def world(seeded):
    """Five requests: one in breeding at ICS (the one measured), one completed there (so the
    estimate learns from history in both rounds), three submitted."""
    client = seeded.test_client()
    api = Api(client)
    ids = [api.submit(None)["id"] for _ in range(5)]
    walk(api, ids[1], "completed", node="ICS")
    walk(api, ids[0], "breeding", node="ICS")
    staff = seeded.test_client()
    sign_in(staff, "staff_ics")
    coordinator = seeded.test_client()
    sign_in(coordinator, "coordinator")
    return {"api": api, "rid": ids[0], "staff": staff, "coordinator": coordinator}


def grow(api: Api, rid: int) -> None:
    """45 more requests over all states (with history, lab records and invoices), and a longer
    history for the measured request, by more actors, with more lab records."""
    from bench.seed import seed_bench
    from conversion.accounts.operations import create_user

    seed_bench(45, seed=11)
    for who in ("coordinator", "staff_ics"):
        api.go(who, rid, "hold", comment="Paused for the benchmark")
        api.go(who, rid, "resume", comment="Back to work")
    create_user("second.ics@emma.example", "second-ics-password", "staff", "ICS")  # a new actor
    res = api.client.post(
        "/api/v1/tokens", json={"email": "second.ics@emma.example", "password": "second-ics-password"}
    )
    second = {"Authorization": f"Bearer {res.get_json()['token']}"}
    for trigger in ("hold", "resume"):
        res = api.client.post(
            f"/api/v1/requests/{rid}/events", json={"trigger": trigger, "comment": "Second"}, headers=second
        )
        assert res.status_code == 200, res.get_json()
    for n in (1, 2):
        api.ok(
            "staff_ics",
            f"/requests/{rid}/matings",
            {"deleter": "Gt(Rosa)26Sor(CAG-Flpo,-EYFP)Ics", "set_up_on": "2026-03-01", "generation": n},
        )
    for k in range(4):
        api.ok(
            "staff_ics",
            f"/requests/{rid}/animals",
            {
                "label": f"P-{k}",
                "born_on": "2026-04-01",
                "sex": "female",
                "allele": "wt",
                "deleter_transgene": "positive",
            },
        )


def measure(seeded, w) -> dict:
    api, rid = w["api"], w["rid"]
    return {
        "api list": statements(seeded, api.client, "/api/v1/requests?status=breeding", api.headers("coordinator")),
        "api list (all)": statements(seeded, api.client, "/api/v1/requests", api.headers("coordinator")),
        "api search (reference)": statements(seeded, api.client, "/api/v1/requests?q=AC-", api.headers("coordinator")),
        "api detail": statements(seeded, api.client, f"/api/v1/requests/{rid}", api.headers("coordinator")),
        "staff queue page": statements(seeded, w["staff"], "/requests"),
        "request page (staff)": statements(seeded, w["staff"], f"/requests/{rid}"),
        "request page (coordinator)": statements(seeded, w["coordinator"], f"/requests/{rid}"),
        "dashboard (coordinator)": statements(seeded, w["coordinator"], "/dashboard"),
        "dashboard (staff)": statements(seeded, w["staff"], "/dashboard"),
        "csv export, every page": statements(seeded, w["coordinator"], "/requests.csv?all=1&sort=gene"),
    }


def test_statements_do_not_grow_with_requests_history_and_lab_records(seeded, world):
    before = measure(seeded, world)
    grow(world["api"], world["rid"])
    after = measure(seeded, world)
    # (The staff dashboard once read one statement more after the growth in whole-suite runs: the
    # menu's `current_user.node` was a lazy load, free only while the node sat unexpired in the
    # session. The sign-in lookup now loads the node with the user.)
    grew = {k: (before[k], after[k]) for k in before if after[k] > before[k]}
    assert not grew, grew  # never more statements with more data
    from conversion.extensions import db

    assert before["api list"] <= 2  # sign-in lookup + the data
    # a search matching no strain (a reference): the token's caller, then on PostgreSQL the matching
    # strains with the page's ids (one statement), then the page's rows; on SQLite the strains with
    # the trigram table's ids, the page's ids, their rows
    assert before["api search (reference)"] == (3 if db.engine.dialect.name == "postgresql" else 4), before
    # the token's caller, the request with its history and its lab records: one statement (on
    # SQLite, in-process, one each)
    assert before["api detail"] == (1 if db.engine.dialect.name == "postgresql" else 3)
    # the request page: the request, lab records (one statement: paperwork, matings with litters,
    # animals, QC, cryopreservation with thaws, shipments, of the kinds its states can have; the
    # corrections when a record has any), estimate (what was learnt at the node for the recipe: one row), the
    # documents panel's invoices, quotes (issue 16) and uploaded documents (one statement); its
    # history with its messages (one statement)
    assert before["request page (staff)"] <= 8 and before["request page (coordinator)"] <= 6
    # the signed-in user, the nodes (bulk form), the page's ids with the count, then their rows
    assert before["staff queue page"] <= 4
    # the signed-in user; the tallies: counts by node and state, 12 months and the converting nodes;
    # the overdue list with its count; the medians from the histogram
    assert before["dashboard (coordinator)"] <= 4 and before["dashboard (staff)"] <= 4
    assert before["csv export, every page"] <= 2  # the session user, then one streamed statement


def _tables_read(client, url: str) -> set[str]:
    from bench.sqlcount import count_statements
    from conversion.extensions import db

    with count_statements(db.engine) as seen:
        assert client.get(url).status_code == 200, url
    return {table for sql in seen for table in LAB_TABLES if f"FROM {table} " in f"{sql} "}


LAB_TABLES = ("paperwork", "matings", "litters", "animals", "qc_results", "cryopreservations", "shipments")


def test_a_request_page_reads_only_the_lab_records_its_states_can_have(seeded, world):
    """Lab work starts after `accepted`: the page of a submitted request reads its paperwork and none
    of the lab record tables; in breeding, no cryopreservation or shipments yet (the kinds recorded in
    the states it has been through), and the corrections only once a record has one. (The API detail
    reads every kind in its one statement: tests/test_api_detail_batch.py.)"""
    api, staff = world["api"], world["staff"]
    rid = api.submit(None)["id"]
    api.go("coordinator", rid, "approve")
    api.go("coordinator", rid, "assign", node="ICS")
    assert _tables_read(staff, f"/requests/{rid}") == {"paperwork"}
    detail = f"/requests/{world['rid']}"
    assert _tables_read(staff, detail) == {"paperwork", "matings", "litters", "animals", "qc_results"}
    before = statements(seeded, staff, detail)
    animal = api.ok(
        "staff_ics",
        f"/requests/{world['rid']}/animals",
        {"label": "F0-9", "sex": "male", "allele": "tm1a", "deleter_transgene": "negative"},
    )
    res = api.client.patch(
        f"/api/v1/requests/{world['rid']}/animals/{animal['id']}",
        json={"sex": "female", "reason": "Sexed again at weaning", "version": animal["version"]},
        headers=api.headers("staff_ics"),
    )
    assert res.status_code == 200, res.get_json()
    # a corrected record raised its version: the corrections are read too, and shown
    assert statements(seeded, staff, detail) == before + 1
    shown = api.client.get(f"/api/v1{detail}", headers=api.headers("coordinator")).get_json()
    (corrected,) = [a for a in shown["records"]["animals"] if a["label"] == "F0-9"]
    assert corrected["corrections"][0]["changes"] == {"sex": ["male", "female"]}


def test_review_page_reads_nodes_once_not_per_request(seeded, world):
    api = world["api"]

    def approved(n: int) -> None:
        for _ in range(n):
            api.go("coordinator", api.submit(None)["id"], "approve")

    approved(2)
    before = statements(seeded, world["coordinator"], "/review")
    # the signed-in user, both lists' rows, their totals and the nodes' loads (tallies), the nodes
    # with their deleters, the open requests on retracted strains
    assert before <= 5
    approved(12)
    assert statements(seeded, world["coordinator"], "/review") == before


def test_request_page_reads_invoices_quotes_and_documents_in_one_statement(seeded, world):
    """The documents panel: invoices with their balances and credited numbers, quotes and uploads
    are read in one statement, however many there are (no lines, no lazy load per row)."""
    api, rid = world["api"], world["rid"]
    pages = dict.fromkeys(("staff", "coordinator"), f"/requests/{rid}")
    before = {who: statements(seeded, world[who], url) for who, url in pages.items()}
    for _ in range(2):
        res = api.client.post(f"/api/v1/requests/{rid}/invoices", headers=api.headers("staff_ics"))
        assert res.status_code == 201, res.get_json()
        invoice = res.get_json()
        note = api.client.post(
            f"/api/v1/invoices/{invoice['id']}/credit-note",
            json={"reason": "Wrong PO"},
            headers=api.headers("staff_ics"),
        )
        assert note.status_code == 201, note.get_json()
        upload = api.client.post(
            f"/api/v1/requests/{rid}/documents",
            headers=api.headers("staff_ics"),
            data={"kind": "purchase_order", "file": (io.BytesIO(b"%PDF-1.4 PO"), "po.pdf")},
            content_type="multipart/form-data",
        )
        assert upload.status_code == 201, upload.get_json()
    after = {who: statements(seeded, world[who], url) for who, url in pages.items()}
    assert after == before
    page = world["staff"].get(pages["staff"]).get_data(as_text=True)
    assert page.count("Credit note for ") == 2 and page.count("po.pdf") == 2
