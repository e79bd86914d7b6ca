"""Invoicing that cannot double-bill: one invoice per request unless an additional one is asked
for, Idempotency-Key retries (also in parallel), and the balance after credit notes."""

from __future__ import annotations

import csv
import io
import threading
from decimal import Decimal

import pytest
from conftest import api_token
from flows import Api
from invoice_helpers import BILLING_FR, YEAR, accepted, invoice


@pytest.fixture
def api(seeded, client):
    return Api(client)


def _count(app) -> int:
    from conversion.extensions import db
    from conversion.invoices.models import Invoice

    db.session.rollback()
    return db.session.query(Invoice).filter_by(kind="invoice").count()


def test_a_second_invoice_is_refused_naming_the_first(app, api):
    rid = accepted(api, BILLING_FR)
    first = invoice(api, rid)
    refused = api.post("staff_ics", f"/requests/{rid}/invoices")
    assert refused.status_code == 409 and first["number"] in refused.get_json()["error"]
    draft = api.post("staff_ics", f"/requests/{rid}/invoices", {"draft": True})
    assert draft.status_code == 409 and first["number"] in draft.get_json()["error"]
    assert _count(app) == 1
    extra = invoice(
        api, rid, body={"additional": True, "lines": [{"description": "Extra genotyping", "unit_price": "300.00"}]}
    )
    assert extra["number"] == f"ICS-{YEAR}-0002" and extra["additional"] is True


def test_after_a_full_credit_note_a_new_invoice_is_allowed(api):
    rid = accepted(api, BILLING_FR)
    first = invoice(api, rid)
    partial = api.ok(
        "staff_ics",
        f"/invoices/{first['id']}/credit-note",
        {"reason": "Discount", "lines": [{"description": "Discount", "unit_price": "500"}]},
    )
    assert partial["total"] == "-600.00"
    assert api.post("staff_ics", f"/requests/{rid}/invoices").status_code == 409  # still 6420.00 owed
    api.ok(
        "staff_ics",
        f"/invoices/{first['id']}/credit-note",
        {"reason": "Wrong customer", "lines": [{"description": "Rest", "unit_price": "5350.00"}]},
    )
    again = invoice(api, rid)
    assert again["number"] == f"ICS-{YEAR}-0004" and again["balance"] == again["total"]


def test_a_draft_made_earlier_cannot_be_issued_once_another_is_in_force(api):
    rid = accepted(api, BILLING_FR)
    draft = invoice(api, rid, body={"draft": True})
    # a draft does not block: an invoice is issued directly meanwhile
    issued = invoice(api, rid)
    res = api.post("staff_ics", f"/invoices/{draft['id']}/issue")
    assert res.status_code == 409 and issued["number"] in res.get_json()["error"]
    assert api.get("staff_ics", f"/invoices/{draft['id']}").get_json()["status"] == "draft"


def test_idempotency_key_makes_a_retry_answer_the_first_result(app, api):
    rid = accepted(api, BILLING_FR)
    headers = {**api.headers("staff_ics"), "Idempotency-Key": "po-4711-try"}
    first = api.client.post(f"/api/v1/requests/{rid}/invoices", json={}, headers=headers)
    retry = api.client.post(f"/api/v1/requests/{rid}/invoices", json={}, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.get_json()["id"] == first.get_json()["id"] and retry.get_json()["number"] == f"ICS-{YEAR}-0001"
    assert _count(app) == 1
    other = accepted(api, BILLING_FR)
    misuse = api.client.post(f"/api/v1/requests/{other}/invoices", json={}, headers=headers)
    assert misuse.status_code == 422 and "another call" in misuse.get_json()["error"]
    # another user's same key is their own
    assert (
        api.client.post(
            f"/api/v1/requests/{rid}/invoices",
            json={},
            headers={**api.headers("staff_mrc"), "Idempotency-Key": "po-4711-try"},
        ).status_code
        == 404
    )


def _parallel(seeded, n, call):
    barrier, results = threading.Barrier(n), [None] * n

    def worker(i):
        barrier.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_parallel_calls_with_one_key_make_one_invoice(seeded, api):
    rid = accepted(api, BILLING_FR)
    tokens = [api_token(seeded.test_client(), "staff_ics") for _ in range(4)]

    def call(i):
        res = seeded.test_client().post(
            f"/api/v1/requests/{rid}/invoices",
            json={},
            headers={"Authorization": f"Bearer {tokens[i]}", "Idempotency-Key": "k-1"},
        )
        return res.status_code, (res.get_json() or {}).get("id")

    results = _parallel(seeded, 4, call)
    assert [code for code, _ in results] == [201] * 4, results
    assert len({i for _, i in results}) == 1
    assert _count(seeded) == 1


def test_parallel_calls_without_a_key_issue_one_invoice(seeded, api):
    rid = accepted(api, BILLING_FR)
    tokens = [api_token(seeded.test_client(), "staff_ics") for _ in range(4)]

    def call(i):
        res = seeded.test_client().post(
            f"/api/v1/requests/{rid}/invoices", json={}, headers={"Authorization": f"Bearer {tokens[i]}"}
        )
        return res.status_code

    assert sorted(_parallel(seeded, 4, call)) == [201, 409, 409, 409]
    assert _count(seeded) == 1
    assert invoice(api, accepted(api, BILLING_FR))["number"] == f"ICS-{YEAR}-0002"  # no number burnt


def test_balance_in_the_api_pages_and_csv(app, api, login):
    rid = accepted(api, BILLING_FR)
    inv = invoice(api, rid)
    assert inv["balance"] == "7020.00"
    api.ok(
        "staff_ics",
        f"/invoices/{inv['id']}/credit-note",
        {"reason": "Discount", "lines": [{"description": "Discount", "unit_price": "500"}]},
    )
    assert api.get("staff_ics", f"/invoices/{inv['id']}").get_json()["balance"] == "6420.00"
    listed = api.get("requester", f"/requests/{rid}/invoices").get_json()["items"]
    assert [(i["kind"], i["balance"]) for i in listed] == [("invoice", "6420.00"), ("credit_note", None)]
    browser = app.test_client()
    login(browser, "requester")
    assert "EUR 6420.00" in browser.get(f"/invoices/{inv['id']}").get_data(as_text=True)
    assert "EUR 6420.00" in browser.get(f"/requests/{rid}").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(browser.get("/invoices.csv").get_data(as_text=True))))
    assert {r["number"]: r["balance"] for r in rows} == {inv["number"]: "6420.00", f"ICS-{YEAR}-0002": ""}
    assert Decimal(rows[-1]["total"]) == Decimal("7020.00")


def test_credit_note_form_needs_its_confirmation(app, api, login):
    from conftest import csrf_token

    inv = invoice(api, accepted(api, BILLING_FR))
    browser = app.test_client()
    login(browser, "staff_ics")
    page = browser.get(f"/invoices/{inv['id']}").get_data(as_text=True)
    assert '<details class="panel credit-note" id="credit">' in page
    token = csrf_token(browser, f"/invoices/{inv['id']}")
    res = browser.post(
        f"/invoices/{inv['id']}/credit-note", data={"csrf_token": token, "reason": "Oops"}, follow_redirects=True
    )
    assert "Tick the confirmation" in res.get_data(as_text=True)
    assert api.get("staff_ics", f"/invoices/{inv['id']}").get_json()["credited"] == "0.00"
