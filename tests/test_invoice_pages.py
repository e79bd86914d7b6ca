"""Invoice pages: lists and CSV export, drafting and issuing from a page, price lists."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from conftest import csrf_token
from flows import Api
from invoice_helpers import BILLING_FR, YEAR, accepted, invoice


@pytest.fixture
def api(seeded, client):
    return Api(client)


def test_coordinator_lists_invoices_per_node_and_exports_csv(app, api, login):
    evil = {**BILLING_FR, "organisation": '=HYPERLINK("http://evil.example","x")'}
    ics = invoice(api, accepted(api, evil))
    mrc = invoice(api, accepted(api, {**BILLING_FR, "organisation": "@SUM(A1)"}, node="MRC"), who="staff_mrc")
    api.ok("staff_ics", f"/invoices/{ics['id']}/credit-note", {"reason": "+cmd|' /C calc'!A0"}, status=201)
    browser = app.test_client()
    login(browser, "coordinator")
    page = browser.get("/invoices?node=ICS").get_data(as_text=True)
    assert ics["number"] in page and f"ICS-{YEAR}-0002" in page and mrc["number"] not in page
    assert mrc["number"] in browser.get("/invoices").get_data(as_text=True)
    res = browser.get("/invoices.csv?node=ICS")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))
    assert [r["number"] for r in rows] == [f"ICS-{YEAR}-0002", ics["number"]]
    assert all(r["customer"] == "'" + evil["organisation"] for r in rows)
    note = rows[0]
    assert (note["kind"], note["credits"], note["total"], note["vat"]) == (
        "credit_note",
        ics["number"],
        "-7020.00",
        "-1170.00",
    )
    everything = list(csv.DictReader(io.StringIO(browser.get("/invoices.csv").get_data(as_text=True))))
    assert {r["customer"] for r in everything} == {"'" + evil["organisation"], "'@SUM(A1)"}


def test_csv_cells_that_look_like_formulas_are_quoted():
    from conversion.exports import csv_cell

    for text in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert csv_cell(text) == "'" + text
    assert csv_cell("Institut Pasteur") == "Institut Pasteur" and csv_cell(None) == ""


def test_requester_sees_and_downloads_their_invoices(app, api, login):
    inv = invoice(api, accepted(api, BILLING_FR))
    draft = invoice(api, accepted(api, BILLING_FR), body={"draft": True})
    browser = app.test_client()
    login(browser, "requester")
    home = browser.get("/").get_data(as_text=True)
    assert "My invoices" in home
    page = browser.get("/invoices").get_data(as_text=True)
    assert inv["number"] in page and f"Draft #{draft['id']}" not in page
    assert browser.get(f"/api/v1/invoices/{inv['id']}.pdf").status_code == 200
    assert browser.get(f"/invoices/{draft['id']}").status_code == 404
    other = app.test_client()
    login(other, "industry")
    assert inv["number"] not in other.get("/invoices").get_data(as_text=True)
    assert other.get(f"/invoices/{inv['id']}").status_code == 404
    assert inv["number"] not in other.get("/invoices.csv").get_data(as_text=True)


def test_staff_drafts_edits_and_issues_from_the_pages(app, api, login):
    rid = accepted(api, BILLING_FR)
    browser = app.test_client()
    login(browser, "staff_ics")
    page = browser.get(f"/invoices/request/{rid}")
    assert page.status_code == 200 and "Draft an invoice" in page.get_data(as_text=True)
    token = csrf_token(browser, f"/invoices/request/{rid}")
    res = browser.post(f"/invoices/request/{rid}", data={"csrf_token": token})
    assert res.status_code == 302
    invoice_url = res.headers["Location"]
    invoice_id = int(re.search(r"/invoices/(\d+)", invoice_url).group(1))
    form = browser.get(invoice_url).get_data(as_text=True)
    assert "Issue invoice" in form and "Rederivation of EM:05402" in form
    token = csrf_token(browser, invoice_url)
    res = browser.post(
        f"/invoices/{invoice_id}/lines",
        data={
            "csrf_token": token,
            "description_1": "Conversion, flat fee",
            "quantity_1": "1",
            "unit_price_1": "5000.00",
        },
    )
    assert res.status_code == 302
    saved = {
        "csrf_token": token,
        "description_1": "Conversion, flat fee",
        "quantity_1": "1.00",
        "unit_price_1": "5000.00",
    }
    unsaved = browser.post(
        f"/invoices/{invoice_id}/confirm", data={**saved, "description_2": "Extra genotyping", "unit_price_2": "300"}
    )
    text = unsaved.get_data(as_text=True)
    assert unsaved.status_code == 409 and "unsaved changes" in text and 'value="Extra genotyping"' in text
    confirm = browser.post(f"/invoices/{invoice_id}/confirm", data=saved)
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Confirm: issue invoice" in text and "EUR 6000.00" in text
    fingerprint = re.search(r'name="confirmed" value="([0-9a-f]+)"', confirm.get_data(as_text=True)).group(1)
    res = browser.post(
        f"/invoices/{invoice_id}/issue", data={"csrf_token": token, "confirmed": fingerprint}, follow_redirects=True
    )
    body = res.get_data(as_text=True)
    assert f"Invoice ICS-{YEAR}-0001 issued." in body and "6000.00" in body
    res = browser.post(
        f"/invoices/{invoice_id}/credit-note",
        data={"csrf_token": token, "reason": "Discount", "amount": "500", "confirm": "y"},
        follow_redirects=True,
    )
    assert f"Credit note ICS-{YEAR}-0002 issued." in res.get_data(as_text=True)
    # The request page's panel: the invoice with what is still owed, the credit note naming it
    panel = browser.get(f"/requests/{rid}").get_data(as_text=True)
    rows = re.findall(r"<tr><td><a href=\"/invoices/\d+\">(.*?)</tr>", panel, re.S)
    assert "Invoice</td>" in rows[0] and "EUR 6000.00" in rows[0] and "EUR 5400.00" in rows[0]
    assert f"Credit note for ICS-{YEAR}-0001" in rows[1] and "EUR -600.00" in rows[1]
    other = app.test_client()
    login(other, "staff_mrc")
    assert other.get(f"/invoices/{invoice_id}").status_code == 404
    assert other.get(f"/invoices/request/{rid}").status_code == 404


def test_coordinator_adds_a_price_list_from_a_date(app, api, login):
    from conversion.catalogue.operations import get_node
    from conversion.invoices import operations as ops

    browser = app.test_client()
    login(browser, "coordinator")
    page = browser.get("/prices?node=HMGU").get_data(as_text=True)
    assert "2026-01-01" in page and "2,100.00" not in page and "2100.00" in page
    token = csrf_token(browser, "/prices?node=HMGU")
    form = {
        "csrf_token": token,
        "node": "HMGU",
        "valid_from": ops.today().isoformat(),
        "payment_days": "45",
        "bank_details": "IBAN DE00 TEST",
    }
    for service in (
        "rederivation",
        "conversion_step",
        "tat_cre",
        "cryopreservation",
        "shipping_live",
        "shipping_frozen",
    ):
        form[f"{service}_academic"], form[f"{service}_industry"] = "1000.00", "2000.00"
    res = browser.post("/prices", data=form, follow_redirects=True)  # today: already in force
    assert "starts tomorrow at the earliest" in res.get_data(as_text=True)
    tomorrow = ops.today() + timedelta(days=1)
    for days in ("４５", "٤٥", "4\u00b2", "45.0", "1e2"):  # unicode digits and the like: refused, not a 500
        res = browser.post(
            "/prices", data={**form, "valid_from": tomorrow.isoformat(), "payment_days": days}, follow_redirects=True
        )
        assert res.status_code == 200 and "payment_days must be a whole number" in res.get_data(as_text=True)
    for day in (tomorrow.strftime("%Y%m%d"), f"{tomorrow.year}-W01-1", tomorrow.isoformat() + "T00:00"):
        res = browser.post("/prices", data={**form, "valid_from": day}, follow_redirects=True)
        assert "YYYY-MM-DD" in res.get_data(as_text=True), day
    res = browser.post(
        "/prices",
        data={**form, "valid_from": tomorrow.isoformat(), "rederivation_academic": "1E+999999999"},
        follow_redirects=True,
    )
    assert res.status_code == 200 and "must be a number such as 1500.00" in res.get_data(as_text=True)
    res = browser.post("/prices", data={**form, "valid_from": tomorrow.isoformat()}, follow_redirects=True)
    assert "saved" in res.get_data(as_text=True)
    current = ops.price_list_on(get_node("HMGU"), tomorrow)
    assert current.valid_from == tomorrow and current.payment_days == 45
    assert str(current.amount("conversion_step", "industry")) == "2000.00"
    assert len(ops.price_lists(get_node("HMGU"))) == 3  # older lists are kept
    past = {**form, "valid_from": "2020-01-01"}
    res = browser.post("/prices", data=past, follow_redirects=True)
    assert "starts tomorrow at the earliest" in res.get_data(as_text=True)
    staff = app.test_client()
    login(staff, "staff_hmgu")
    assert staff.get("/prices").status_code == 200
    rid = accepted(api, BILLING_FR, node="HMGU")
    token = csrf_token(staff, f"/invoices/request/{rid}")
    assert staff.post("/prices", data={**form, "csrf_token": token}).status_code == 403
    requester = app.test_client()
    login(requester, "requester")
    assert requester.get("/prices").status_code == 403


def test_request_page_shows_invoices_drafting_and_certificate(app, api, login):
    from flows import walk

    rid = accepted(api, BILLING_FR)
    staff = app.test_client()
    login(staff, "staff_ics")
    page = staff.get(f"/requests/{rid}").get_data(as_text=True)
    assert "Quotes, invoices and documents" in page and "Draft an invoice" in page
    inv = invoice(api, rid)
    walk(api, rid, "completed", node="ICS")
    requester = app.test_client()
    login(requester, "requester")
    page = requester.get(f"/requests/{rid}").get_data(as_text=True)
    assert inv["number"] in page and f"/api/v1/requests/{rid}/certificate.pdf" in page
    assert "Draft an invoice" not in page
    assert requester.get(f"/api/v1/requests/{rid}/certificate.pdf").mimetype == "application/pdf"
