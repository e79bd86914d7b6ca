"""Quotes (POST /quotes), countries by ISO code and name, and dated VAT rates."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from conftest import csrf_token
from flows import Api, walk
from invoice_helpers import BILLING_FR, YEAR, accepted, invoice, pdf_of, pdf_text

TODAY = date.today()


@pytest.fixture
def api(seeded, client):
    return Api(client)


def quote(api, status=201, who="requester", **body):
    body = {"strain": "EM:05402", "target": "c", "sector": "academic", "country": "DE", **body}
    res = api.post(who, "/quotes", body)
    assert res.status_code == status, res.get_json()
    return res.get_json()


def test_quote_from_the_best_ranked_node_with_lines_vat_and_validity(api):
    q = quote(api)  # EM:05402 is held by MRC, which has the Flp deleter tm1c needs
    assert q["node"] == "MRC" and q["number"] == f"Q-{YEAR}-00001" and q["currency"] == "EUR"
    assert q["valid_until"] == (date.fromisoformat(q["issued_on"]) + timedelta(days=90)).isoformat()
    assert [ln["service"] for ln in q["lines"]] == [
        "rederivation",
        "conversion_step",
        "cryopreservation",
        "shipping_frozen",
    ]
    # MRC 2026 academic: 1650 + 1900 + 1400 + 380; from the UK to Germany: no VAT
    assert (q["net"], q["vat"], q["total"], q["vat_treatment"]) == ("5330.00", "0.00", "5330.00", "export")
    assert sum(Decimal(ln["net"]) for ln in q["lines"]) == Decimal(q["net"])


def test_quote_from_a_chosen_node_reverse_charged_and_its_pdf(api):
    q = quote(api, node="ICS", vat_number="DE123456788")
    assert q["node"] == "ICS" and q["vat_treatment"] == "reverse_charge" and q["total"] == "5850.00"
    domestic = quote(api, node="ICS", country="FR")
    assert (domestic["vat"], domestic["total"]) == ("1170.00", "7020.00")
    res = api.get("requester", q["pdf_url"].removeprefix("/api/v1"))
    assert res.status_code == 200 and res.mimetype == "application/pdf"
    text = pdf_text(res.data)
    assert q["number"] in text and "Valid until" in text and q["valid_until"] in text
    assert "Germany (DE)" in text and "5,850.00" in text and "Reverse charge" in text
    assert "Cdk5rap2<tm1c(EUCOMM)Wtsi>" in text
    again = api.get("requester", q["pdf_url"].removeprefix("/api/v1"))
    assert again.data == res.data  # stored, not re-rendered


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"country": "XX"}, "'XX' is not an ISO 3166-1"),
        ({"country": "Germany"}, "Germany is DE"),
        ({"country": ""}, "Country is required"),
        ({"sector": "public"}, "sector"),
        ({"strain": "EM:99999"}, "No strain"),
        ({"strain": "EM:13377"}, "No strain"),  # confidential: hidden from requesters
        ({"target": "z"}, "target"),
        ({"strain": "EM:07243", "target": "c"}, "critical exon"),
        ({"node": "SANG"}, "does not offer"),
        ({"node": "NOPE"}, "Unknown node"),
        ({"country": "GE", "vat_number": "DE123456788"}, "VAT number of Germany"),
        ({"vat_number": "DE123"}, "not a valid DE VAT"),
        ({"deliverable": "by_post"}, "deliverable"),
    ],
)
def test_quote_refusals_are_422_and_store_nothing(api, body, fragment):
    from conversion.extensions import db
    from conversion.invoices.models import Quote

    res = api.post(
        "requester", "/quotes", {"strain": "EM:05402", "target": "c", "sector": "academic", "country": "DE", **body}
    )
    assert res.status_code == 422, res.get_json()
    assert fragment.lower() in res.get_json()["error"].lower()
    assert db.session.query(Quote).count() == 0


def test_quotes_are_for_requesters_and_their_own(api):
    body = {"strain": "EM:05402", "target": "c", "sector": "academic", "country": "DE"}
    assert api.post(None, "/quotes", body).status_code == 401
    assert api.post("staff_ics", "/quotes", body).status_code == 403
    q = quote(api)
    assert api.get("requester", f"/quotes/{q['id']}").get_json()["number"] == q["number"]
    assert api.get("industry", f"/quotes/{q['id']}").status_code == 404
    assert api.get("industry", f"/quotes/{q['id']}.pdf").status_code == 404
    assert api.get("staff_mrc", f"/quotes/{q['id']}").status_code == 404  # not attached to a request


def test_a_quote_never_changes(api):
    from conversion.extensions import db
    from conversion.invoices.models import Quote

    q = db.session.get(Quote, quote(api)["id"])
    q.total = Decimal("1.00")
    with pytest.raises(ValueError, match="cannot change"):
        db.session.commit()
    db.session.rollback()


def test_submission_attaches_a_quote_and_the_assigned_node_quotes_its_own(api):
    rid = api.submit("EM:05402", "c", billing=BILLING_FR)["id"]
    from conversion.extensions import db
    from conversion.invoices.models import Quote

    first = db.session.query(Quote).filter_by(request_id=rid).one()
    assert first.node.code == "MRC" and first.country == "FR" and first.number
    walk(api, rid, "assigned", node="ICS")
    quotes = db.session.query(Quote).filter_by(request_id=rid).order_by(Quote.id).all()
    assert [q.node.code for q in quotes] == ["MRC", "ICS"]
    assert quotes[-1].total == Decimal("7020.00")  # ICS, French customer: 20 % VAT
    # the node's staff see the quote of their node on the request page
    staff = api.client.application.test_client()
    from conftest import sign_in

    sign_in(staff, "staff_ics")
    page = staff.get(f"/requests/{rid}").get_data(as_text=True)
    assert f"Quote {quotes[-1].number}" in page and f"Quote {quotes[0].number}" not in page
    assert staff.get(f"/api/v1/quotes/{quotes[-1].id}.pdf").status_code == 200
    assert staff.get(f"/api/v1/quotes/{quotes[0].id}.pdf").status_code == 404


def test_quote_page_from_the_strain_page(api, login):
    browser = api.client.application.test_client()
    login(browser, "requester")
    strain = browser.get("/strains/EM:05402").get_data(as_text=True)
    assert "/quotes/new?strain=EM:05402" in strain
    form = browser.get("/quotes/new?strain=EM:05402").get_data(as_text=True)
    assert '<option value="LU">Luxembourg</option>' in form
    token = csrf_token(browser, "/quotes/new?strain=EM:05402")
    refused = browser.post(
        "/quotes/new",
        data={"csrf_token": token, "strain": "EM:05402", "target": "c", "sector": "academic", "country": "XX"},
    )
    assert refused.status_code == 422 and "not an ISO 3166-1" in refused.get_data(as_text=True)
    res = browser.post(
        "/quotes/new",
        data={
            "csrf_token": token,
            "strain": "EM:05402",
            "target": "c",
            "sector": "academic",
            "country": "LU",
            "node": "ICS",
            "deliverable": "frozen_sperm",
        },
        follow_redirects=True,
    )
    page = res.get_data(as_text=True)
    assert res.status_code == 200 and "Valid until" in page and "Luxembourg" in page
    assert "EUR 7020.00" in page  # ICS to Luxembourg without a VAT number: French VAT


# ---- countries -------------------------------------------------------------------------
def test_countries_come_from_pycountry_with_eu_vat_prefixes():
    from conversion.countries import countries, country_name, normalise_vat, parse_country

    assert country_name("LU") == "Luxembourg" and country_name("gr") == "Greece"
    assert ("LU", "Luxembourg") in countries() and len(countries()) > 240
    assert parse_country(" de ") == "DE"
    for bad in ("XX", "Germany", "", "DEU", None):
        with pytest.raises(ValueError):
            parse_country(bad)
    assert normalise_vat("GR", "EL 094259216") == "EL094259216"
    assert normalise_vat("GR", "094259216") == "EL094259216"
    with pytest.raises(ValueError, match="VAT number of Germany"):
        normalise_vat("GE", "DE123456788")


def test_greek_customer_with_an_el_vat_number_and_luxembourg_printed_by_name(api):
    greek = {
        "organisation": "BSRC Fleming",
        "address": "34 Fleming St, 16672 Vari",
        "country": "gr",
        "vat_number": "EL094259216",
        "sector": "academic",
    }
    rid = accepted(api, greek)
    req = api.get("requester", f"/requests/{rid}").get_json()
    assert req["billing"]["country"] == "GR" and req["billing"]["vat_number"] == "EL094259216"
    assert invoice(api, rid)["vat_treatment"] == "reverse_charge"
    lux = {**BILLING_FR, "organisation": "LIH", "address": "1A-B rue Thomas Edison, 1445 Strassen", "country": "LU"}
    text = pdf_text(pdf_of(api, invoice(api, accepted(api, lux))))
    assert "Luxembourg (LU)" in text


def test_request_form_offers_countries_by_name_and_refuses_unknown_codes(api, login):
    browser = api.client.application.test_client()
    login(browser, "requester")
    page = browser.get("/strains/EM:05402/request").get_data(as_text=True)
    assert '<option value="DE">Germany</option>' in page and '<option value="GE">Georgia</option>' in page
    token = csrf_token(browser, "/strains/EM:05402/request")
    form = {
        "csrf_token": token,
        "target": "c",
        "deliverable": "frozen_sperm",
        "organisation": "Uni",
        "address": "Somewhere 1",
        "country": "XX",
        "sector": "academic",
        "action": "review",
    }
    res = browser.post("/strains/EM:05402/request", data=form)
    assert res.status_code == 422 and "not an ISO 3166-1" in res.get_data(as_text=True)
    res = browser.post("/strains/EM:05402/request", data={**form, "country": "GE", "vat_number": "DE123456788"})
    assert res.status_code == 422 and "VAT number of Germany" in res.get_data(as_text=True)
    review = browser.post("/strains/EM:05402/request", data={**form, "country": "DE"})
    text = review.get_data(as_text=True)
    assert review.status_code == 200 and "Germany (DE)" in text
    assert "Estimated price" in text and "EUR 5330.00" in text  # MRC's academic prices, export
    assert api.get("coordinator", "/requests").get_json()["items"] == []


def test_billing_details_of_an_earlier_request_are_offered(api, login):
    api.submit("EM:05402", "c", billing=BILLING_FR)
    browser = api.client.application.test_client()
    login(browser, "requester")
    page = browser.get("/strains/EM:06112/request").get_data(as_text=True)
    assert "Institut Pasteur, France" in page
    picked = browser.get("/strains/EM:06112/request?profile=1").get_data(as_text=True)
    assert 'value="Institut Pasteur"' in picked and '<option selected value="FR">France</option>' in picked


# ---- VAT rates are data -------------------------------------------------------------------
def test_a_new_vat_rate_applies_from_its_date_without_a_deploy(app, api):
    first = invoice(api, accepted(api, BILLING_FR))
    assert first["vat_rate"] == "20.00"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["vat", "set-rate", "--country", "FR", "--rate", "21.5", "--from", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "France" in runner.invoke(args=["vat", "rates", "--country", "FR"]).output
    second = invoice(api, accepted(api, BILLING_FR))
    assert second["vat_rate"] == "21.50" and second["vat"] == "1257.75"  # 5850.00 x 21.5 %
    assert api.get("staff_ics", f"/invoices/{first['id']}").get_json()["vat_rate"] == "20.00"
    bad = runner.invoke(args=["vat", "set-rate", "--country", "XX", "--rate", "20", "--from", "2030-01-01"])
    assert bad.exit_code != 0 and "ISO 3166-1" in bad.output
