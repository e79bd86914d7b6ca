"""Requester pages: the request form with its confirm step, My requests, the request page, cancel."""

from __future__ import annotations

import pytest
from webflows import BILLING, Web, flashes, token, walk_pages


@pytest.fixture
def rita(seeded):
    return Web(seeded, "requester")


def _count_requests():
    from sqlalchemy import func, select

    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    return db.session.scalar(select(func.count()).select_from(ConversionRequest))


def test_strain_page_offers_the_request_form_to_requesters(seeded, rita, client):
    page = rita.text("/strains/EM:05402")
    assert "/strains/EM:05402/request" in page and "Request a conversion" in page
    form = rita.text("/strains/EM:05402/request?target=d")
    assert 'name="target" value="d" checked' in form
    assert "Cdk5rap2<sup>tm1c(EUCOMM)Wtsi</sup>" in form  # the products, as superscript
    assert "TAT-Cre" in form  # tm1b/tm1d plans have a Cre step
    assert 'value="Universität Heidelberg"' in form  # organisation prefilled from the account
    anonymous = client.get("/strains/EM:05402").get_data(as_text=True)
    assert "Sign in</a> to request" in anonymous
    assert client.get("/strains/EM:05402/request").status_code == 302  # to the sign-in page


def test_only_requesters_reach_the_form(seeded):
    for who in ("coordinator", "staff_mrc"):
        assert Web(seeded, who).get("/strains/EM:05402/request").status_code == 403
    assert Web(seeded, "requester").get("/strains/EM:13377/request").status_code == 404  # confidential


def test_validation_messages_are_shown_by_the_fields(seeded, rita):
    res = rita.client.post(
        "/strains/EM:05402/request",
        data={
            "csrf_token": token(rita.client, "/strains/EM:05402/request"),
            "action": "review",
            "country": "Germany",
            "vat_number": "DE123",
        },
    )
    assert res.status_code == 422
    html = res.get_data(as_text=True)
    for message in (
        "Choose the allele you need.",
        "Give the organisation that pays.",
        "Give the billing address.",
        "(Germany is DE)",
        "Say whether the requester is academic or industry.",
    ):
        assert message in html, message
    assert 'aria-invalid="true"' in html
    res = rita.submit(target="c", action="review", vat_number="DE123")
    assert res.status_code == 422 and "is not a valid DE VAT number" in res.get_data(as_text=True)
    assert _count_requests() == 0


def test_confirm_step_shows_the_plan_before_anything_is_saved(seeded, rita):
    res = rita.submit(target="d", action="review", use_tat_cre="y")
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "Check the plan" in html
    assert "Cross with a Flp deleter" in html and "TAT-Cre on IVF embryos" in html
    assert "Cdk5rap2<sup>tm1d(EUCOMM)Wtsi</sup>" in html and 'value="confirm"' in html
    assert 'name="use_tat_cre" value="y"' in html and 'name="address" value="Im Neuenheimer Feld 234' in html
    assert _count_requests() == 0
    edit = rita.submit(target="d", action="edit")
    assert edit.status_code == 200 and "Check the plan →" in edit.get_data(as_text=True)
    res = rita.submit(target="d", action="confirm", use_tat_cre="y", comment="Two steps please")
    assert res.status_code == 302
    page = rita.get(res.headers["Location"]).get_data(as_text=True)
    assert "submitted: EMMA will review it." in page
    assert "Step 1: Flp deleter cross" in page and "Step 2: TAT-Cre on IVF embryos" in page
    assert "Two steps please" in page and "Request submitted" in page
    assert _count_requests() == 1


def test_refusals_from_the_operation_are_flashed(seeded, rita):
    review = rita.submit("EM:05519", "b", action="review").get_data(as_text=True)
    assert "already archived" in review and "EM:07243" in review and 'value="confirm"' not in review
    res = rita.submit("EM:05519", "b", action="confirm")
    assert res.status_code == 422 and "already archived" in " ".join(flashes(res.get_data(as_text=True)))
    res = rita.submit(target="c", action="review", use_tat_cre="y")
    assert res.status_code == 422 and "TAT-Cre replaces a Cre step" in res.get_data(as_text=True)
    industry = Web(seeded, "industry")
    res = industry.submit("EM:12177", "c", sector="industry", vat_number="")
    assert res.status_code == 422 and "genOway" in " ".join(flashes(res.get_data(as_text=True)))
    assert _count_requests() == 0


def test_my_requests_lists_only_mine_and_others_get_404(seeded, rita):
    from conversion.accounts.operations import create_user

    mine = rita.new_request("EM:05402", "c")
    create_user("other@example.org", "other-password-1", "requester")
    from conftest import DEMO

    DEMO["other"] = ("other@example.org", "other-password-1")
    try:
        other = Web(seeded, "other")
        assert "AC-" not in other.text("/requests")
        assert other.get(f"/requests/{mine}").status_code == 404
        assert other.fire(mine, "cancel", reason="other").status_code == 404
    finally:
        DEMO.pop("other")
    listing = rita.text("/requests")
    assert "My requests" in listing and "Cdk5rap2" in listing
    assert Web(seeded, "staff_mrc").get(f"/requests/{mine}").status_code == 404  # not assigned yet
    walk_pages(seeded, mine, "MRC", until="assigned")
    assert Web(seeded, "staff_mrc").get(f"/requests/{mine}").status_code == 200
    assert Web(seeded, "staff_ics").get(f"/requests/{mine}").status_code == 404


def test_requester_cancels_with_a_reason_while_allowed(seeded, rita):
    rid = rita.new_request()
    page = rita.text(f"/requests/{rid}")
    assert "Cancel request" in page and "I found the strain elsewhere" in page  # in the requester's words
    res = rita.fire(rid, "cancel", reason="")
    assert res.status_code == 422 and "cancellation reason is required" in res.get_data(as_text=True)
    rita.go(rid, "cancel", reason="sourced_elsewhere", comment="Found it at MMRRC")
    page = rita.text(f"/requests/{rid}")
    assert "Cancelled" in page and "Reason: I found the strain elsewhere" in page and "Found it at MMRRC" in page
    assert "Cancel request" not in page and "Cancelled: this request is closed." in page
    assert "Estimated completion" not in page


def test_requester_cannot_cancel_once_accepted(seeded, rita):
    rid = rita.new_request()
    walk_pages(seeded, rid, "MRC", until="accepted")
    assert "Cancel request" not in rita.text(f"/requests/{rid}")
    res = rita.fire(rid, "cancel", reason="other")
    assert res.status_code == 403 and "coordinator" in res.get_data(as_text=True)


def test_timeline_says_who_when_and_why(seeded, rita):
    rid = rita.new_request()
    coord = Web(seeded, "coordinator")
    coord.go(rid, "approve")
    coord.go(rid, "hold", comment="Waiting for the MTA template")
    page = rita.text(f"/requests/{rid}")
    for text in (
        "Request submitted",
        "Approved by EMMA",
        "Put on hold",
        "Cora Coordinator",
        "Rita Requester",
        "Waiting for the MTA template",
        "UTC",
        "Submitted → Approved",
    ):
        assert text in page, text
    assert page.index("Request submitted") < page.index("Approved by EMMA") < page.index("Put on hold")


def test_eta_from_typical_durations_then_from_similar_completed_requests(seeded, rita):
    first = rita.new_request("EM:05402", "c")
    page = rita.text(f"/requests/{first}")
    assert "Estimated completion" in page
    assert "typical durations (the request is not assigned to a node yet)" in page
    walk_pages(seeded, first, "MRC", until="accepted")
    page = rita.text(f"/requests/{first}")
    assert "no completed request with the same plan (Flp) at MRC yet" in page
    walk_pages(seeded, first, "MRC", requester=rita)
    assert "Estimated completion" not in rita.text(f"/requests/{first}")
    second = rita.new_request("EM:05894", "c")
    walk_pages(seeded, second, "MRC", until="assigned")
    assert "based on 1 completed request with the same plan (Flp) at MRC" in rita.text(f"/requests/{second}")
    third = rita.new_request("EM:05894", "b")  # a Cre plan: nothing similar completed yet
    walk_pages(seeded, third, "MRC", until="assigned")
    assert "no completed request with the same plan (Cre) at MRC yet" in rita.text(f"/requests/{third}")


def test_every_form_needs_its_csrf_token(seeded, rita):
    rid = rita.new_request()
    walk_pages(seeded, rid, "MRC", until="accepted")
    staff = Web(seeded, "staff_mrc")
    posts = [
        (
            rita,
            "/strains/EM:05402/request",
            {"target": "c", "deliverable": "frozen_sperm", **BILLING, "action": "confirm"},
        ),
        (rita, f"/requests/{rid}/events", {"trigger": "cancel", "a-cancel-reason": "other"}),
        (staff, f"/requests/{rid}/events", {"trigger": "decline", "a-decline-comment": "No room"}),
        (staff, "/requests/bulk", {"ids": [str(rid)], "trigger": "hold", "comment": "x"}),
        (staff, f"/requests/{rid}/paperwork", {"paper-po_reference": "PO-9"}),
        (staff, f"/requests/{rid}/matings", {"mating-set_up_on": "2026-03-01", "mating-generation": "1"}),
        (staff, f"/requests/{rid}/animals", {"animals-lines": "P1, m, tm1c, -"}),
        (staff, f"/requests/{rid}/qc", {"qc-assay": "tm1c PCR", "qc-result": "pass"}),
        (staff, f"/requests/{rid}/cryo", {"cryo-material": "sperm", "cryo-count": "3", "cryo-location": "T1"}),
    ]
    for web, path, data in posts:
        res = web.client.post(path, data=data)
        assert res.status_code == 400, (path, res.status_code)
        assert "The form expired" in res.get_data(as_text=True), path
        res = web.client.post(path, data={**data, "csrf_token": "forged"})
        assert res.status_code == 400, (path, res.status_code)
    from conversion.extensions import db
    from conversion.lab.models import Paperwork
    from conversion.requests.models import ConversionRequest

    db.session.expire_all()
    assert db.session.get(ConversionRequest, rid).status == "accepted"
    assert db.session.get(Paperwork, rid) is None
    assert _count_requests() == 1
