"""Node staff pages: the work queue, action buttons, lab forms, bulk actions."""

from __future__ import annotations

import pytest
from webflows import Web, flashes, walk_pages


@pytest.fixture
def rita(seeded):
    return Web(seeded, "requester")


@pytest.fixture
def sue(seeded):
    return Web(seeded, "staff_mrc")


def _status(rid):
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    db.session.expire_all()
    return db.session.get(ConversionRequest, rid).status


def _mating(rid, number):
    from sqlalchemy import select

    from conversion.extensions import db
    from conversion.lab.models import Mating

    return db.session.scalar(select(Mating.id).where(Mating.request_id == rid, Mating.number == number))


def test_work_queue_shows_the_nodes_requests_filtered_and_searched(seeded, rita, sue):
    a = rita.new_request("EM:05402", "c")
    b = rita.new_request("EM:06377", "b")
    c = rita.new_request("EM:05894", "c")
    for rid in (a, b):
        walk_pages(seeded, rid, "MRC", until="assigned")
    walk_pages(seeded, c, "ICS", until="assigned")
    sue.go(a, "accept")
    queue = sue.text("/requests")
    assert "Work queue" in queue and "Cdk5rap2" in queue and "Fbxo7" in queue and "Nxn" not in queue
    assert "Showing 1–2 of 2 requests" in queue
    accepted = sue.text("/requests?status=accepted")
    assert "Cdk5rap2" in accepted and "Fbxo7" not in accepted
    found = sue.text("/requests?q=fbxo7")
    assert "Fbxo7" in found and "Cdk5rap2" not in found
    assert "Nothing matches" in sue.text("/requests?q=nxn")
    bad = sue.get("/requests?status=flying")
    assert bad.status_code == 200 and "Unknown status" in bad.get_data(as_text=True)
    oldest = sue.text("/requests?sort=oldest")
    assert oldest.index("Cdk5rap2") < oldest.index("Fbxo7")
    newest = sue.text("/requests")
    assert newest.index("Fbxo7") < newest.index("Cdk5rap2")


def test_only_the_triggers_staff_may_fire_now_are_buttons(seeded, rita, sue):
    rid = rita.new_request()
    walk_pages(seeded, rid, "MRC", until="assigned")
    page = sue.text(f"/requests/{rid}")
    assert ">Accept</button>" in page and ">Decline</button>" in page and ">Put on hold</button>" in page
    assert ">Approve</button>" not in page and "Cancel request" not in page and ">Start QC</button>" not in page
    res = sue.fire(rid, "decline")
    assert res.status_code == 422 and "A comment is required" in res.get_data(as_text=True)
    res = sue.fire(rid, "approve")
    assert res.status_code == 409 and _status(rid) == "assigned"
    sue.go(rid, "accept")
    page = sue.text(f"/requests/{rid}")
    assert "disabled" in page and "Paperwork incomplete: MTA signature date and purchase order" in page
    assert "Record paperwork" in page and "Record a mating" not in page


def test_lab_forms_walk_a_two_step_request_to_ready(seeded, rita, sue):
    rid = rita.new_request("EM:05402", "d", use_tat_cre="y")
    walk_pages(seeded, rid, "MRC", until="accepted")
    res = sue.record(rid, "paperwork")
    assert res.status_code == 422 and "Give at least one of" in res.get_data(as_text=True)
    sue.ok(rid, "paperwork", mta_signed_on="2026-01-15")
    sue.ok(rid, "paperwork", po_reference="PO-42")
    sue.go(rid, "start_rederivation")
    res = sue.record(rid, "animals/import", lines="F0-1, m, tm1a\nF0-2; x; wt")
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "Line 2" in html and "sex must be male, female or unknown" in html
    assert "F0-2; x; wt" in html  # the typed lines are kept
    assert "F0-1" not in html.split("Lab work")[1].split("Import genotyping")[0]  # nothing half-saved
    sue.ok(rid, "animals/import", lines="F0-1, m, tm1a\nF0-2\tf\twt\n\n")
    sue.go(rid, "start_breeding")
    page = sue.text(f"/requests/{rid}")
    assert "B6.Cg-Tg(ACTFLPe)9205Dym/H" in page and "C57BL/6NTac-Tg(ACTB-cre)3Mrt/H" not in page  # Flp step
    assert "TAT-Cre protein on IVF embryos" not in page
    res = sue.record(rid, "matings", deleter="B6.Cg-Tg(ACTFLPe)9205Dym/H", generation="1")
    assert res.status_code == 422 and "Give the date the mating was set up." in res.get_data(as_text=True)
    sue.ok(rid, "matings", deleter="B6.Cg-Tg(ACTFLPe)9205Dym/H", set_up_on="2026-03-01", generation="1", sire="F0-1")
    res = sue.record(
        rid,
        "animals",
        mating="M1",
        **{
            "0-label": "P1",
            "0-sex": "female",
            "0-allele": "tm1c",
            "0-transgene": "negative",
            "1-label": "P2",
            "1-sex": "male",
            "1-allele": "tm9z",
            "1-transgene": "positive",
        },
    )
    html = res.get_data(as_text=True)
    assert res.status_code == 422 and "pup 2: allele must be one of" in html
    assert 'value="P2"' in html  # the table keeps what was typed
    rows = {
        "0-label": "P1",
        "0-sex": "female",
        "0-allele": "tm1c",
        "0-transgene": "negative",
        "1-label": "P2",
        "1-sex": "male",
        "1-allele": "tm1c",
        "1-transgene": "positive",
        "2-label": "P3",
        "2-sex": "female",
        "2-allele": "wt",
        "2-transgene": "negative",
    }
    sue.ok(rid, "animals", born_on="2026-04-20", mating="M1", **rows)
    page = sue.text(f"/requests/{rid}")
    assert "M1" in page and "F0-1 · tm1a" in page  # numbered per request; parents from the animals
    # M1 judged unsuccessful: start_qc waits for a mating marked successful, and the reason links to
    # M1's row ("Mark successful")
    m1 = _mating(rid, 1)
    assert "Mark M1 successful" in page
    res = sue.correct(rid, "matings", m1, "No carriers genotyped yet", successful="no")
    assert res.status_code == 302, flashes(res.get_data(as_text=True))
    page = sue.text(f"/requests/{rid}")
    assert f'<a href="#matings-{m1}" class="fix-link">' in page and "Mark M1 successful" in page
    assert "Every mating of step 1 is marked unsuccessful" in page
    res = sue.fire(rid, "start_qc")
    assert res.status_code == 409 and "Every mating of step 1 is marked unsuccessful" in res.get_data(as_text=True)
    res = sue.correct(rid, "matings", m1, "", successful="yes")
    assert res.status_code == 422 and _status(rid) == "breeding"  # a reason is required
    res = sue.correct(rid, "matings", m1, "P1 carries tm1c, deleter-negative", successful="yes")
    assert res.status_code == 302, flashes(res.get_data(as_text=True))
    assert "Mark M1 successful" not in sue.text(f"/requests/{rid}")
    sue.go(rid, "start_qc")
    page = sue.text(f"/requests/{rid}")
    assert '<option value="3&#39; loxP PCR">' in page and "Record a QC result (step 1: expect tm1c)" in page
    assert "lacZ lost" in page  # the expected result of each planned assay
    sue.ok(rid, "qc", assay="tm1c PCR", result="pass", animal="P1")
    sue.go(rid, "pass_qc")
    assert _status(rid) == "breeding"
    page = sue.text(f"/requests/{rid}")
    assert "C57BL/6NTac-Tg(ACTB-cre)3Mrt/H" in page and "TAT-Cre protein on IVF embryos" in page  # Cre step
    sue.ok(rid, "matings", deleter="tat_cre", set_up_on="2026-05-01", generation="1", successful="yes")
    sue.ok(rid, "animals", **{"0-label": "P9", "0-sex": "male", "0-allele": "tm1d", "0-transgene": "negative"})
    sue.go(rid, "start_qc")
    sue.ok(rid, "qc", assay="tm1d PCR", result="pass", animal="P9")
    sue.go(rid, "pass_qc")
    assert _status(rid) == "cryopreservation"
    res = sue.record(rid, "cryo", material="sperm", count="0", location="")
    assert res.status_code == 422 and "Give the tank / canister / position." in res.get_data(as_text=True)
    sue.ok(rid, "cryo", material="sperm", count="20", location="Tank 3 / canister 2", test_thaw="pass")
    sue.go(rid, "complete_cryopreservation")
    page = sue.text(f"/requests/{rid}")
    assert _status(rid) == "ready" and "TAT-Cre" in page and "Tank 3 / canister 2" in page
    assert page.count('<tr id="animals-') == 6  # founders and pups in the animals table


def _ids(model, rid):
    from sqlalchemy import select

    from conversion.extensions import db

    return list(db.session.scalars(select(model.id).where(model.request_id == rid).order_by(model.id)))


def test_litters_and_test_thaws_are_corrected_and_voided_from_their_rows(seeded, rita, sue):
    from conversion.lab.models import CryoThaw, Litter

    rid = rita.new_request()
    walk_pages(seeded, rid, "MRC", until="breeding")
    sue.ok(rid, "matings", deleter="B6.Cg-Tg(ACTFLPe)9205Dym/H", set_up_on="2026-03-01", generation="1")
    sue.ok(
        rid,
        "animals",
        mating="M1",
        born_on="2026-04-20",
        **{"0-label": "P1", "0-sex": "female", "0-allele": "tm1c", "0-transgene": "negative"},
    )
    [litter] = _ids(Litter, rid)
    page = sue.text(f"/requests/{rid}")
    assert f'id="litters-{litter}"' in page
    assert f'action="/requests/{rid}/litters/{litter}/correct"' in page
    assert f'action="/requests/{rid}/litters/{litter}/void"' in page
    res = sue.correct(rid, "litters", litter, "", pups_born="4")
    assert res.status_code == 422 and "Say why" in " ".join(flashes(res.get_data(as_text=True)))
    res = sue.correct(rid, "litters", litter, "counted", pups_born="4", pups_weaned="6")
    assert res.status_code == 422 and "More pups weaned (6) than born (4)" in " ".join(
        flashes(res.get_data(as_text=True))
    )
    res = sue.correct(rid, "litters", litter, "cage card read again", version=1, pups_born="4")
    assert res.status_code == 302, flashes(res.get_data(as_text=True))
    res = sue.void(rid, "litters", litter, "wrong cage", version=1)  # a stale page
    assert res.status_code == 409 and "changed by someone else" in " ".join(flashes(res.get_data(as_text=True)))
    assert sue.void(rid, "litters", litter, "recorded twice", version=2).status_code == 302
    page = sue.text(f"/requests/{rid}")
    assert f'<div class="sub-record voided" id="litters-{litter}">' in page and "recorded twice" in page
    assert "cage card read again" in page and f'action="/requests/{rid}/litters/{litter}/void"' not in page

    walk_pages(seeded, rid, "MRC", until="cryopreservation")
    sue.ok(rid, "cryo", material="sperm", count="20", location="Tank 3 / canister 2", test_thaw="pass")
    [thaw] = _ids(CryoThaw, rid)
    page = sue.text(f"/requests/{rid}")
    assert f'id="thaws-{thaw}"' in page and f'action="/requests/{rid}/thaws/{thaw}/correct"' in page
    res = sue.correct(rid, "thaws", thaw, "misread", result="maybe")
    assert res.status_code == 422 and "result must be one of" in " ".join(flashes(res.get_data(as_text=True)))
    assert sue.correct(rid, "thaws", thaw, "motility misread", result="fail").status_code == 302
    res = sue.fire(rid, "complete_cryopreservation")
    assert res.status_code == 409 and "No passing test thaw" in res.get_data(as_text=True)
    assert sue.void(rid, "thaws", thaw, "").status_code == 422
    assert sue.void(rid, "thaws", thaw, "the straw of another line").status_code == 302
    page = sue.text(f"/requests/{rid}")
    assert f'<div class="sub-record voided" id="thaws-{thaw}">' in page and "the straw of another line" in page
    assert _status(rid) == "cryopreservation"


def test_lab_forms_are_refused_to_others(seeded, rita, sue):
    rid = rita.new_request()
    walk_pages(seeded, rid, "MRC", until="breeding")
    assert rita.record(rid, "qc", assay="tm1c PCR", result="pass").status_code == 403
    assert Web(seeded, "staff_ics").record(rid, "qc", assay="tm1c PCR", result="pass").status_code == 404
    res = sue.record(rid, "cryo", material="sperm", count="3", location="T1")
    assert res.status_code == 409 and "cannot be recorded while the request is breeding" in " ".join(
        flashes(res.get_data(as_text=True))
    )


def test_bulk_action_is_all_or_nothing(seeded, rita, sue):
    ids = [rita.new_request("EM:05402", t) for t in ("b", "c", "d")]
    for rid in ids:
        walk_pages(seeded, rid, "MRC", until="assigned")
    sue.go(ids[2], "accept")
    queue = sue.text("/requests")
    assert 'id="bulk-trigger"' in queue and '<option value="accept">Accept</option>' in queue
    html = sue.bulk(ids, "accept").get_data(as_text=True)
    message = " ".join(flashes(html))
    assert "Nothing was changed" in message and "1 of the 3" in message
    ref = [line for line in message.split(";") if "Cannot 'accept'" in line]
    assert ref and "accepted" in ref[0]
    assert [_status(r) for r in ids] == ["assigned", "assigned", "accepted"]
    html = sue.bulk(ids[:2], "hold").get_data(as_text=True)
    assert "A comment is required" in " ".join(flashes(html))
    html = sue.bulk(ids[:2], "accept").get_data(as_text=True)
    assert "Accept: done for 2 requests" in " ".join(flashes(html))
    assert [_status(r) for r in ids] == ["accepted"] * 3
    html = sue.bulk(ids, "hold", comment="Facility closed for a week").get_data(as_text=True)
    assert "done for 3 requests" in " ".join(flashes(html))
    assert [_status(r) for r in ids] == ["on_hold"] * 3
    theirs = rita.new_request("EM:05894", "c")
    walk_pages(seeded, theirs, "ICS", until="assigned")
    html = Web(seeded, "staff_ics").bulk([theirs] + ids, "hold", comment="x").get_data(as_text=True)
    assert f"#{ids[0]}: not found" in " ".join(flashes(html)) and _status(theirs) == "assigned"
    assert "Select at least one request." in " ".join(
        flashes(sue.bulk([], "resume", comment="x").get_data(as_text=True))
    )
