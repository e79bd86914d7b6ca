"""Invoices over the JSON API: VAT cases, numbering, credit notes, frozen PDFs, refusals."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from flows import BILLING_DE, Api, walk
from invoice_helpers import (
    BILLING_DE_NO_VAT,
    BILLING_FR,
    BILLING_GB,
    ICS_ACADEMIC_TM1C,
    YEAR,
    accepted,
    invoice,
    pdf_of,
    pdf_text,
)
from sqlalchemy import select


@pytest.fixture
def api(seeded, client):
    return Api(client)


# ---- VAT -------------------------------------------------------------------------------
def test_domestic_customer_pays_the_node_countrys_vat(api):
    rid = accepted(api, BILLING_FR)
    inv = invoice(api, rid)
    assert inv["status"] == "issued" and inv["number"] == f"ICS-{YEAR}-0001"
    assert (inv["net"], inv["vat"], inv["total"], inv["currency"]) == (ICS_ACADEMIC_TM1C, "1170.00", "7020.00", "EUR")
    assert inv["vat_rate"] == "20.00" and inv["vat_treatment"] == "domestic" and inv["credits"] is None
    assert [line["service"] for line in inv["lines"]] == [
        "rederivation",
        "conversion_step",
        "cryopreservation",
        "shipping_frozen",
    ]
    text = pdf_text(pdf_of(api, inv))
    assert f"ICS-{YEAR}-0001" in text and "Institut Clinique de la Souris" in text
    assert "FR27775688732" in text and "Institut Pasteur" in text
    assert "Cdk5rap2<tm1c(EUCOMM)Wtsi>" in text and "EM:05402" in text
    assert "20 %" in text and "1,170.00" in text and "EUR 7,020.00" in text
    assert "Reverse charge" not in text and "Export" not in text
    assert "Page 1 of 1" in text and "Payment within 30 days" in text


def test_eu_business_customer_is_reverse_charged_with_both_vat_numbers(api):
    rid = accepted(api, BILLING_DE)
    inv = invoice(api, rid)
    assert (inv["vat"], inv["total"], inv["vat_treatment"]) == ("0.00", ICS_ACADEMIC_TM1C, "reverse_charge")
    text = pdf_text(pdf_of(api, inv))
    assert "Reverse charge - VAT Directive 2006/112/EC, Art. 196" in text
    assert "FR27775688732" in text and "DE123456788" in text
    assert "0 %" in text and "EUR 5,850.00" in text


def test_eu_customer_without_vat_number_pays_the_node_countrys_vat(api):
    inv = invoice(api, accepted(api, BILLING_DE_NO_VAT))
    assert (inv["vat"], inv["total"], inv["vat_treatment"]) == ("1170.00", "7020.00", "eu_no_vat_number")
    assert "Reverse charge" not in pdf_text(pdf_of(api, inv))


def test_customer_outside_the_eu_pays_no_vat(api):
    inv = invoice(api, accepted(api, BILLING_GB))
    assert (inv["vat"], inv["total"], inv["vat_treatment"]) == ("0.00", ICS_ACADEMIC_TM1C, "export")
    text = pdf_text(pdf_of(api, inv))
    assert "Export outside the EU - no VAT charged" in text and "Reverse charge" not in text


def test_uk_node_billing_an_eu_customer_is_an_export(api):
    rid = accepted(api, BILLING_DE, node="MRC")
    inv = invoice(api, rid, who="staff_mrc")
    assert inv["number"] == f"MRC-{YEAR}-0001"
    # MRC 2026 academic: 1650 + 1900 + 1400 + 380
    assert (inv["net"], inv["vat"], inv["total"], inv["vat_treatment"]) == ("5330.00", "0.00", "5330.00", "export")
    text = pdf_text(pdf_of(api, inv, who="staff_mrc"))
    assert "Export outside the UK" in text and "Reverse charge" not in text
    assert "GB654321006" in text


def test_uk_node_billing_a_uk_customer_charges_uk_vat(api):
    inv = invoice(api, accepted(api, BILLING_GB, node="MRC"), who="staff_mrc")
    assert (inv["vat"], inv["total"], inv["vat_treatment"]) == ("1066.00", "6396.00", "domestic")


def test_finnish_rate_and_half_up_rounding_per_line(api):
    rid = accepted(
        api,
        {
            **BILLING_GB,
            "country": "FI",
            "organisation": "Oulun yliopisto",
            "address": "Pentti Kaiteran katu 1, 90570 Oulu",
        },
        node="UNIOULU",
    )
    lines = [
        {"description": "Genotyping, extra samples", "quantity": "3", "unit_price": "10.01"},
        {"description": "Consumables", "quantity": "0.5", "unit_price": "0.05"},
        {"description": "Handling", "quantity": 1, "unit_price": "0.10"},
    ]
    inv = invoice(api, rid, who="staff_oulu", body={"lines": lines})
    # 30.03 * 25.5 % = 7.65765 -> 7.66; 0.025 -> 0.03 (net), 0.03 * 25.5 % = 0.00765 -> 0.01; 0.10 -> 0.03
    assert [(l["net"], l["vat"]) for l in inv["lines"]] == [("30.03", "7.66"), ("0.03", "0.01"), ("0.10", "0.03")]
    assert (inv["net"], inv["vat"], inv["total"], inv["vat_rate"]) == ("30.16", "7.70", "37.86", "25.50")
    assert "25.5 %" in pdf_text(pdf_of(api, inv, who="staff_oulu"))


def test_industry_prices_and_tat_cre_line(api):
    billing = {
        "organisation": "Biotech Example GmbH",
        "address": "Industriestraße 5, 68163 Mannheim",
        "country": "DE",
        "vat_number": "DE123456788",
        "sector": "industry",
    }
    rid = accepted(api, billing, target="b", who="industry", use_tat_cre=True)
    inv = invoice(api, rid)
    services = {line["service"]: line for line in inv["lines"]}
    assert set(services) == {"rederivation", "conversion_step", "tat_cre", "cryopreservation", "shipping_frozen"}
    assert (
        services["conversion_step"]["unit_price"] == "3900.00"
        and "TAT-Cre" in services["conversion_step"]["description"]
    )
    assert services["tat_cre"]["unit_price"] == "1100.00"
    assert inv["net"] == "11150.00"  # 3100 + 3900 + 1100 + 2600 + 450 (industry)


# ---- numbering ---------------------------------------------------------------------------
def test_numbers_are_gapless_per_node_and_year(app, api):
    ics = [accepted(api, BILLING_FR) for _ in range(3)]
    mrc = accepted(api, BILLING_DE, node="MRC")
    first = invoice(api, ics[0])
    draft = invoice(api, ics[1], body={"draft": True})
    assert draft["number"] is None and draft["status"] == "draft"
    # a refused issue takes no number
    from conversion.catalogue.models import Node
    from conversion.extensions import db

    node = db.session.scalar(select(Node).where(Node.code == "ICS"))
    node.vat_number = None
    db.session.commit()
    refused = api.post("staff_ics", f"/requests/{ics[2]}/invoices")
    assert refused.status_code == 422 and "VAT number of ICS" in refused.get_json()["error"]
    node = db.session.scalar(select(Node).where(Node.code == "ICS"))
    node.vat_number = "FR27775688732"
    db.session.commit()
    other = invoice(api, mrc, who="staff_mrc")
    second = invoice(api, ics[2])
    issued = api.ok("staff_ics", f"/invoices/{draft['id']}/issue", status=200)
    note = api.ok("staff_ics", f"/invoices/{first['id']}/credit-note", {"reason": "Wrong PO"}, status=201)
    assert [first["number"], second["number"], issued["number"], note["number"]] == [
        f"ICS-{YEAR}-{n:04d}" for n in (1, 2, 3, 4)
    ]
    assert other["number"] == f"MRC-{YEAR}-0001"


# ---- credit notes ------------------------------------------------------------------------
def test_credit_note_reverses_the_invoice_and_refers_to_it(api):
    inv = invoice(api, accepted(api, BILLING_FR))
    res = api.post("staff_ics", f"/invoices/{inv['id']}/credit-note", {"reason": "Billed to the wrong department"})
    assert res.status_code == 201, res.get_json()
    note = res.get_json()
    assert note["credits"] == inv["number"] and note["kind"] == "credit_note" and note["status"] == "issued"
    assert (note["net"], note["vat"], note["total"]) == ("-5850.00", "-1170.00", "-7020.00")
    assert all(Decimal(line["net"]) < 0 for line in note["lines"])
    text = pdf_text(pdf_of(api, note))
    assert "CREDIT NOTE" in text and inv["number"] in text and "Billed to the wrong department" in text
    assert "-7,020.00" in text
    listed = api.get("requester", f"/requests/{inv['request']}/invoices").get_json()["items"]
    assert [(i["number"], i["credits"]) for i in listed] == [(inv["number"], None), (note["number"], inv["number"])]
    assert listed[0]["credited"] == "7020.00"
    again = api.post("staff_ics", f"/invoices/{inv['id']}/credit-note", {"reason": "Twice"})
    assert again.status_code == 409 and "left to credit" in again.get_json()["error"]
    of_note = api.post("staff_ics", f"/invoices/{note['id']}/credit-note", {"reason": "x"})
    assert of_note.status_code == 409


def test_partial_credit_notes_up_to_the_total(api):
    inv = invoice(api, accepted(api, BILLING_DE))  # 5850.00, reverse charge
    part = api.ok(
        "staff_ics",
        f"/invoices/{inv['id']}/credit-note",
        {"reason": "Shipping not used", "lines": [{"description": "Shipping", "quantity": 1, "unit_price": "350.00"}]},
        status=201,
    )
    assert (part["total"], part["credits"]) == ("-350.00", inv["number"])
    too_much = api.post(
        "coordinator",
        f"/invoices/{inv['id']}/credit-note",
        {"reason": "Goodwill", "lines": [{"description": "Goodwill", "unit_price": "5500.01"}]},
    )
    assert too_much.status_code == 409 and "5500.00 left to credit" in too_much.get_json()["error"]
    rest = api.ok(
        "coordinator",
        f"/invoices/{inv['id']}/credit-note",
        {"reason": "Goodwill", "lines": [{"description": "Goodwill", "unit_price": "5500.00"}]},
        status=201,
    )
    assert rest["total"] == "-5500.00" and rest["number"] == f"ICS-{YEAR}-0003"
    assert api.post("staff_ics", f"/invoices/{inv['id']}/credit-note", {"reason": "x"}).status_code == 409
    assert api.post("staff_ics", f"/invoices/{inv['id']}/credit-note", {}).status_code == 422


# ---- frozen documents -----------------------------------------------------------------------
def test_issued_pdf_never_changes_and_matches_its_sha256(app, api):
    rid = accepted(api, BILLING_FR, node="ICS")
    inv = invoice(api, rid)
    first = pdf_of(api, inv)
    assert hashlib.sha256(first).hexdigest() == inv["pdf_sha256"]
    # later activity: the request moves on, billing changes, prices change, a credit note is issued
    walk(api, rid, "completed", node="ICS")
    from conversion.extensions import db
    from conversion.invoices import operations as ops
    from conversion.requests.models import ConversionRequest

    req = db.session.get(ConversionRequest, rid)
    req.billing_organisation = "Renamed Institute"
    db.session.commit()
    ops.save_price_list(
        None,
        "ICS",
        valid_from=ops.today(),
        prices={
            (s, t): "9999.00"
            for s in (
                "rederivation",
                "conversion_step",
                "tat_cre",
                "cryopreservation",
                "shipping_live",
                "shipping_frozen",
            )
            for t in ("academic", "industry")
        },
        allow_past=True,
    )
    api.ok("staff_ics", f"/invoices/{inv['id']}/credit-note", {"reason": "Renamed"}, status=201)
    later = api.get("requester", f"/invoices/{inv['id']}.pdf")
    assert later.status_code == 200 and later.data == first
    assert api.get("requester", f"/invoices/{inv['id']}").get_json()["total"] == "7020.00"
    assert "Renamed Institute" not in pdf_text(later.data)
    # the rows themselves refuse changes
    from conversion.invoices.models import Invoice

    db.session.expire_all()
    row = db.session.get(Invoice, inv["id"])
    row.total = Decimal("1.00")
    with pytest.raises(ValueError, match="issued"):
        db.session.commit()
    db.session.rollback()
    row = db.session.get(Invoice, inv["id"])
    row.lines[0].unit_price = Decimal("1.00")
    with pytest.raises(ValueError, match="issued"):
        db.session.commit()
    db.session.rollback()


def test_draft_lines_are_editable_until_issued(api):
    rid = accepted(api, BILLING_FR)
    draft = invoice(api, rid, body={"draft": True})
    assert draft["status"] == "draft" and draft["number"] is None and draft["net"] == ICS_ACADEMIC_TM1C
    preview = pdf_text(pdf_of(api, draft))
    assert "DRAFT" in preview
    assert api.get("requester", f"/invoices/{draft['id']}").status_code == 404  # drafts are internal
    res = api.client.patch(
        f"/api/v1/invoices/{draft['id']}",
        headers=api.headers("staff_ics"),
        json={"lines": [{"description": "Conversion, flat fee", "quantity": 1, "unit_price": "4000"}]},
    )
    assert res.status_code == 200 and res.get_json()["net"] == "4000.00"
    issued = api.ok("staff_ics", f"/invoices/{draft['id']}/issue", status=200)
    assert (issued["status"], issued["total"]) == ("issued", "4800.00")
    assert api.post("staff_ics", f"/invoices/{draft['id']}/issue").status_code == 409
    res = api.client.patch(
        f"/api/v1/invoices/{draft['id']}",
        headers=api.headers("staff_ics"),
        json={"lines": [{"description": "x", "unit_price": "1"}]},
    )
    assert res.status_code == 409
    assert api.client.delete(f"/api/v1/invoices/{draft['id']}", headers=api.headers("staff_ics")).status_code == 409


# ---- refusals and visibility ------------------------------------------------------------------
def test_refusals(app, api):
    rid = api.submit("EM:05402", "c", billing=BILLING_FR)["id"]
    walk(api, rid, "assigned", node="ICS")
    early = api.post("staff_ics", f"/requests/{rid}/invoices")
    assert early.status_code == 409 and "accepted" in early.get_json()["error"]
    api.go("staff_ics", rid, "accept")
    assert api.post("staff_mrc", f"/requests/{rid}/invoices").status_code == 404
    assert api.post("requester", f"/requests/{rid}/invoices").status_code == 403
    assert api.post("coordinator", f"/requests/{rid}/invoices").status_code == 403
    assert api.post("staff_ics", "/requests/99999/invoices").status_code == 404
    assert api.client.post(f"/api/v1/requests/{rid}/invoices").status_code == 401
    bad = api.post("staff_ics", f"/requests/{rid}/invoices", {"lines": [{"description": "x", "unit_price": "1.005"}]})
    assert bad.status_code == 422 and "2 decimals" in bad.get_json()["error"]
    bad = api.post("staff_ics", f"/requests/{rid}/invoices", {"lines": [{"description": "x", "unit_price": "abc"}]})
    assert bad.status_code == 422
    bad = api.post("staff_ics", f"/requests/{rid}/invoices", {"lines": []})
    assert bad.status_code == 422
    # missing billing data: named, and nothing issued
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    req = db.session.get(ConversionRequest, rid)
    req.billing_address = " "
    db.session.commit()
    missing = api.post("staff_ics", f"/requests/{rid}/invoices")
    assert missing.status_code == 422 and "billing address" in missing.get_json()["error"]
    assert api.get("staff_ics", f"/requests/{rid}/invoices").get_json()["items"] == []
    req = db.session.get(ConversionRequest, rid)
    req.billing_address = "25-28 rue du Docteur Roux, 75015 Paris"
    db.session.commit()
    inv = invoice(api, rid)
    # visibility: other node's staff and other requesters get 404, coordinators see it
    for who in ("staff_mrc", "industry"):
        assert api.get(who, f"/invoices/{inv['id']}.pdf").status_code == 404
        assert api.get(who, f"/invoices/{inv['id']}").status_code == 404
        assert api.post(who, f"/invoices/{inv['id']}/credit-note", {"reason": "x"}).status_code == 404
    assert api.get("staff_mrc", f"/requests/{rid}/invoices").status_code == 404
    for who in ("requester", "coordinator", "staff_ics"):
        assert api.get(who, f"/invoices/{inv['id']}.pdf").status_code == 200
    assert api.post("requester", f"/invoices/{inv['id']}/credit-note", {"reason": "x"}).status_code == 403
    assert [i["number"] for i in api.get("coordinator", "/invoices?node=ICS").get_json()["items"]] == [inv["number"]]
    assert api.get("coordinator", "/invoices?node=MRC").get_json()["items"] == []


def test_certificate_for_a_completed_request(api):
    rid = api.submit("EM:05402", "c", billing=BILLING_DE)["id"]
    walk(api, rid, "shipped", node="MRC")
    assert api.get("requester", f"/requests/{rid}/certificate.pdf").status_code == 409
    walk(api, rid, "completed", node="MRC")
    res = api.get("requester", f"/requests/{rid}/certificate.pdf")
    assert res.status_code == 200 and res.mimetype == "application/pdf"
    text = pdf_text(res.data)
    assert "CONVERSION CERTIFICATE" in text and "MRC Harwell Institute" in text
    # alleles in superscript (pdftotext reads them inline), each on one line: never broken
    assert "Cdk5rap2tm1c(EUCOMM)Wtsi (tm1c)" in text and "C57BL/6N-Cdk5rap2tm1c(EUCOMM)Wtsi/H" in text
    assert "tm1c PCR" in text and "G2-1" in text and "Flp deleter" in text
    assert "Tank 3" not in text  # the requester's document: no storage positions
    assert "Page 1 of 1" in text
    assert api.get("industry", f"/requests/{rid}/certificate.pdf").status_code == 404


def test_price_lists_by_date_and_odd_bodies(app, api):
    from datetime import date

    from conversion.catalogue.operations import get_node
    from conversion.invoices import operations as ops

    ics = get_node("ICS")
    assert ops.price_list_on(ics, date(2024, 12, 31)) is None
    assert ops.price_list_on(ics, date(2025, 6, 1)).amount("conversion_step", "academic") == Decimal("2090.00")
    assert ops.price_list_on(ics, date(2026, 6, 1)).amount("conversion_step", "academic") == Decimal("2200.00")
    assert ops.price_list_on(ics, date(2026, 6, 1)).amount("conversion_step", "industry") == Decimal("3900.00")
    rid = accepted(api, BILLING_FR)
    # no body at all: drafted and issued
    res = api.client.post(f"/api/v1/requests/{rid}/invoices", headers=api.headers("staff_ics"))
    assert res.status_code == 201 and res.get_json()["total"] == "7020.00"
    for lines, status in (
        ([{"description": "x", "quantity": 10000, "unit_price": "999999.99"}], 422),
        ([{"description": "x", "unit_price": 1500.5}], 201),
        ([{"description": "x", "unit_price": True}], 422),
        ([{"description": "x", "unit_price": "NaN"}], 422),
        ([{"description": "x", "unit_price": "1", "net": "5"}], 422),
        ([{"description": " ", "unit_price": "1"}], 422),
        ([{"description": "x", "quantity": 0, "unit_price": "1"}], 422),
    ):
        res = api.post("staff_ics", f"/requests/{rid}/invoices", {"lines": lines, "draft": True, "additional": True})
        assert res.status_code == status, (lines, res.get_json())
    assert api.get("staff_ics", f"/requests/{rid}/invoices").get_json()["items"][-1]["net"] == "1500.50"
