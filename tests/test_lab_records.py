"""Lab records that can be trusted (contract, "Lab records"): every refusal on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from flows import BILLING_DE, Api, walk


@pytest.fixture
def api(seeded, client):
    return Api(client)


def patch(api, who, path, body):
    return api.client.patch(f"/api/v1{path}", json=body, headers=api.headers(who))


def _at(api, state, target="c", node="MRC"):
    # EM:05402 first; a strain like it once its product is being made or archived (no duplicate work)
    first = api.post(
        "requester",
        "/requests",
        {"strain": "EM:05402", "target": target, "deliverable": "frozen_sperm", "billing": BILLING_DE},
    )
    rid = first.get_json()["id"] if first.status_code == 201 else api.submit(None, target)["id"]
    return rid, walk(api, rid, state, node=node)


def test_animal_labels_are_unique_per_request(api):
    rid, _ = _at(api, "breeding")  # walk recorded founder F0-1
    res = api.post(
        "staff_mrc",
        f"/requests/{rid}/animals",
        {"label": "F0-1", "sex": "female", "allele": "wt", "deleter_transgene": "negative"},
    )
    assert res.status_code == 409 and "F0-1" in res.get_json()["error"]
    res = api.post(
        "staff_mrc",
        f"/requests/{rid}/animals/batch",
        {
            "animals": [
                {"label": "P1", "sex": "male", "allele": "tm1c", "deleter_transgene": "negative"},
                {"label": "P1", "sex": "female", "allele": "wt", "deleter_transgene": "negative"},
            ]
        },
    )
    assert res.status_code == 409 and "P1" in res.get_json()["error"]
    animals = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]["animals"]
    assert [a["label"] for a in animals] == ["F0-1"]  # nothing of the refused batch
    created = api.ok(
        "staff_mrc",
        f"/requests/{rid}/animals",
        {"label": "P1", "sex": "male", "allele": "tm1c", "deleter_transgene": "negative"},
        status=201,
    )
    assert created["id"] and created["label"] == "P1" and created["corrections"] == []
    # the same label on another request is fine
    other, _ = _at(api, "breeding")
    assert (
        api.post(
            "staff_mrc",
            f"/requests/{other}/animals",
            {"label": "P1", "sex": "male", "allele": "tm1c", "deleter_transgene": "negative"},
        ).status_code
        == 201
    )


def test_a_correction_keeps_the_old_value_who_when_and_why(api):
    rid, _ = _at(api, "breeding")
    animal = api.ok(
        "staff_mrc",
        f"/requests/{rid}/animals",
        {"label": "P1", "sex": "male", "allele": "tm1c", "deleter_transgene": "negative"},
        status=201,
    )
    path = f"/requests/{rid}/animals/{animal['id']}"
    res = patch(api, "staff_mrc", path, {"sex": "female"})
    assert res.status_code == 422 and "reason" in res.get_json()["error"]
    res = patch(api, "staff_mrc", path, {"sex": "female", "reason": "  "})
    assert res.status_code == 422
    res = patch(api, "staff_mrc", path, {"sex": "female", "reason": "Typo: P1 is a female", "version": 1})
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert body["sex"] == "female" and body["version"] == 2
    [fix] = body["corrections"]
    assert fix["by"] == "staff.mrc@emma.example" and fix["reason"] == "Typo: P1 is a female"
    assert fix["changes"] == {"sex": ["male", "female"]} and fix["at"].endswith("Z")
    # bad values, unknown fields, nothing changed: 422 and nothing stored
    assert patch(api, "staff_mrc", path, {"sex": "alien", "reason": "x"}).status_code == 422
    assert patch(api, "staff_mrc", path, {"colour": "black", "reason": "x"}).status_code == 422
    assert patch(api, "staff_mrc", path, {"sex": "female", "reason": "again"}).status_code == 422
    assert patch(api, "staff_mrc", path, {"label": "F0-1", "reason": "x"}).status_code == 409  # taken
    detail = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]["animals"][-1]
    assert detail["sex"] == "female" and len(detail["corrections"]) == 1
    # who may: other node's staff 404, requester 403, unknown kind or record 404
    assert patch(api, "staff_ics", path, {"sex": "male", "reason": "x"}).status_code == 404
    assert patch(api, "requester", path, {"sex": "male", "reason": "x"}).status_code == 403
    assert (
        patch(api, "staff_mrc", f"/requests/{rid}/mice/{animal['id']}", {"sex": "male", "reason": "x"}).status_code
        == 404
    )
    assert patch(api, "staff_mrc", f"/requests/{rid}/animals/999999", {"sex": "male", "reason": "x"}).status_code == 404


def test_the_second_of_two_concurrent_corrections_gets_409(api):
    rid, _ = _at(api, "breeding")
    animal = api.ok(
        "staff_mrc",
        f"/requests/{rid}/animals",
        {"label": "P1", "sex": "male", "allele": "tm1c", "deleter_transgene": "negative"},
        status=201,
    )
    path = f"/requests/{rid}/animals/{animal['id']}"
    read_by_both = animal["version"]
    first = patch(api, "staff_mrc", path, {"allele": "wt", "reason": "PCR re-run", "version": read_by_both})
    second = patch(api, "staff_mrc", path, {"fate": "culled", "reason": "culled", "version": read_by_both})
    assert first.status_code == 200 and second.status_code == 409
    assert "changed by someone else" in second.get_json()["error"]
    now = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]["animals"][-1]
    assert now["allele"] == "wt" and now["fate"] == "alive" and now["version"] == 2


def test_a_voided_record_stays_and_counts_nowhere(api):
    rid, _ = _at(api, "rederivation")
    founder = api.ok(
        "staff_mrc", f"/requests/{rid}/animals", {"label": "F0-1", "sex": "male", "allele": "tm1a"}, status=201
    )
    path = f"/requests/{rid}/animals/{founder['id']}/void"
    assert api.post("staff_mrc", path, {}).status_code == 422  # a reason is required
    res = api.post("staff_mrc", path, {"reason": "Mislabelled cage card"})
    assert res.status_code == 200 and res.get_json()["voided"] is True
    assert res.get_json()["void"]["reason"] == "Mislabelled cage card"
    assert api.post("staff_mrc", path, {"reason": "again"}).status_code == 409
    refused = api.fire("staff_mrc", rid, "start_breeding")  # the guard does not count it
    assert refused.status_code == 409 and "founder" in refused.get_json()["error"]
    animals = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]["animals"]
    assert animals[0]["label"] == "F0-1" and animals[0]["voided"]  # still there
    assert (
        patch(
            api, "staff_mrc", f"/requests/{rid}/animals/{founder['id']}", {"sex": "female", "reason": "x"}
        ).status_code
        == 409
    )  # a voided record is not corrected


def test_qc_names_a_recorded_animal(api):
    rid, req = _at(api, "qc")
    res = api.post("staff_mrc", f"/requests/{rid}/qc", {"assay": "tm1c PCR", "result": "pass", "animal": "P99"})
    assert res.status_code == 422 and "P99" in res.get_json()["error"]
    pup = next(a for a in req["records"]["animals"] if a["allele"] == "tm1c")
    api.ok("staff_mrc", f"/requests/{rid}/animals/{pup['id']}/void", {"reason": "wrong ear tag"}, status=200)
    res = api.post("staff_mrc", f"/requests/{rid}/qc", {"assay": "tm1c PCR", "result": "pass", "animal": pup["label"]})
    assert res.status_code == 422 and pup["label"] in res.get_json()["error"] and "voided" in res.get_json()["error"]
    api.ok(
        "staff_mrc",
        f"/requests/{rid}/animals",
        {"label": "P2", "sex": "female", "allele": "tm1c", "deleter_transgene": "negative"},
        status=201,
    )
    qc = api.ok("staff_mrc", f"/requests/{rid}/qc", {"assay": "tm1c PCR", "result": "pass", "animal": "P2"}, status=201)
    assert qc["id"] and qc["animal"] == "P2"
    # a voided QC result does not count for pass_qc
    api.ok("staff_mrc", f"/requests/{rid}/qc/{qc['id']}/void", {"reason": "sample swap"}, status=200)
    refused = api.fire("staff_mrc", rid, "pass_qc")
    assert refused.status_code == 409 and "No passing QC assay" in refused.get_json()["error"]


def test_test_thaws_are_recorded_against_the_session(api):
    rid, _ = _at(api, "cryopreservation")
    session = api.ok(
        "staff_mrc",
        f"/requests/{rid}/cryo",
        {"material": "sperm", "count": 20, "location": "Tank 3 / canister 2 / position 14"},
        status=201,
    )
    assert session["id"] and session["test_thaw"] is None
    refused = api.fire("staff_mrc", rid, "complete_cryopreservation")
    assert refused.status_code == 409 and "test thaw" in refused.get_json()["error"]
    thaws = f"/requests/{rid}/cryo/{session['id']}/thaws"
    assert api.post("staff_mrc", thaws, {"thawed_on": "2026-05-02", "result": "maybe"}).status_code == 422
    assert (
        api.post(
            "staff_mrc", f"/requests/{rid}/cryo/999999/thaws", {"thawed_on": "2026-05-02", "result": "pass"}
        ).status_code
        == 404
    )
    assert api.post("staff_mrc", thaws, {"thawed_on": "2026-05-02", "result": "fail"}).status_code == 201
    assert api.fire("staff_mrc", rid, "complete_cryopreservation").status_code == 409
    thaw = api.ok("staff_mrc", thaws, {"thawed_on": "2026-05-03", "result": "pass", "note": "motile"}, status=201)
    assert thaw["id"] and thaw["result"] == "pass"
    cryo = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]["cryo"]
    assert len(cryo) == 1 and [t["result"] for t in cryo[0]["thaws"]] == ["fail", "pass"]  # one session
    api.go("staff_mrc", rid, "complete_cryopreservation")


def test_shipments_take_from_the_stock_and_ship_needs_one(api):
    rid, _ = _at(api, "ready")  # walk froze 20 straws and thawed one
    refused = api.fire("staff_mrc", rid, "ship")
    assert refused.status_code == 409 and "shipment" in refused.get_json()["error"]
    body = {"courier": "World Courier", "tracking": "WC123", "shipped_on": "2026-06-01", "material": "sperm"}
    res = api.post("staff_mrc", f"/requests/{rid}/shipments", {**body, "quantity": 21})
    assert res.status_code == 422 and "Only 20 sperm" in res.get_json()["error"]
    res = api.post("staff_mrc", f"/requests/{rid}/shipments", {**body, "material": "embryos", "quantity": 1})
    assert res.status_code == 422
    shipped = api.ok("staff_mrc", f"/requests/{rid}/shipments", {**body, "quantity": 4}, status=201)
    assert shipped["id"] and shipped["tracking"] == "WC123"
    stock = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]["stock"]
    assert stock["sperm"] == {"stored": 20, "thawed": 1, "shipped": 4, "left": 16}
    assert (
        patch(
            api, "staff_mrc", f"/requests/{rid}/shipments/{shipped['id']}", {"quantity": 21, "reason": "counted again"}
        ).status_code
        == 422
    )  # more than stored
    api.go("staff_mrc", rid, "ship")
    # the requester sees courier and tracking, never the storage position
    mine = api.get("requester", f"/requests/{rid}").get_json()
    assert mine["records"] == {
        "shipments": [
            {
                "id": shipped["id"],
                "courier": "World Courier",
                "tracking": "WC123",
                "shipped_on": "2026-06-01",
                "material": "sperm",
                "quantity": 4,
            }
        ]
    }
    assert "Tank 3" not in str(mine)
    assert api.get("staff_ics", f"/requests/{rid}").status_code == 404


def test_records_of_a_finished_request_are_frozen(api):
    rid, req = _at(api, "completed")
    animal = req["records"]["animals"][0] if "records" in req and "animals" in req["records"] else None
    animal = animal or api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]["animals"][0]
    res = patch(api, "staff_mrc", f"/requests/{rid}/animals/{animal['id']}", {"sex": "female", "reason": "late"})
    assert res.status_code == 409 and "frozen" in res.get_json()["error"]
    res = api.post("staff_mrc", f"/requests/{rid}/animals/{animal['id']}/void", {"reason": "late"})
    assert res.status_code == 409
    res = api.post(
        "staff_mrc",
        f"/requests/{rid}/shipments",
        {"courier": "DHL", "tracking": "1", "shipped_on": "2026-06-01", "material": "sperm", "quantity": 1},
    )
    assert res.status_code == 409
    cancelled = api.submit(None, "c")["id"]
    walk(api, cancelled, "breeding")
    api.go("coordinator", cancelled, "cancel", reason="no_response")
    founder = api.get("staff_mrc", f"/requests/{cancelled}").get_json()["records"]["animals"][0]
    assert (
        patch(
            api, "staff_mrc", f"/requests/{cancelled}/animals/{founder['id']}", {"sex": "female", "reason": "x"}
        ).status_code
        == 409
    )


def test_matings_are_numbered_per_request_with_parents_and_litters(api):
    rid, _ = _at(api, "breeding")  # walk: founder F0-1 (male)
    first = api.ok(
        "staff_mrc",
        f"/requests/{rid}/matings",
        {"deleter": "B6.Cg-Tg(ACTFLPe)9205Dym/H", "set_up_on": "2026-03-01", "generation": 1, "sire": "F0-1"},
        status=201,
    )
    assert first["number"] == "M1" and first["sire"] == "F0-1" and first["dam"] is None
    res = api.post(
        "staff_mrc",
        f"/requests/{rid}/matings",
        {"deleter": "B6.Cg-Tg(ACTFLPe)9205Dym/H", "set_up_on": "2026-03-01", "generation": 1, "dam": "F0-1"},
    )
    assert res.status_code == 422 and "male" in res.get_json()["error"]  # a male as dam
    res = api.post(
        "staff_mrc",
        f"/requests/{rid}/matings",
        {"deleter": "B6.Cg-Tg(ACTFLPe)9205Dym/H", "set_up_on": "2026-03-01", "generation": 1, "sire": "X9"},
    )
    assert res.status_code == 422 and "X9" in res.get_json()["error"]
    litter = api.ok(
        "staff_mrc",
        f"/requests/{rid}/litters",
        {
            "mating": "M1",
            "born_on": "2026-03-22",
            "pups": [
                {"label": "P1", "sex": "female", "allele": "tm1c", "deleter_transgene": "negative"},
                {"label": "P2", "sex": "male", "allele": "wt", "deleter_transgene": "positive"},
            ],
        },
        status=201,
    )
    assert (
        litter["mating"] == "M1" and litter["pups_born"] == 2 and [p["label"] for p in litter["pups"]] == ["P1", "P2"]
    )
    res = api.post(
        "staff_mrc",
        f"/requests/{rid}/litters",
        {"mating": "M7", "pups": [{"label": "P3", "sex": "female", "allele": "tm1c", "deleter_transgene": "negative"}]},
    )
    assert res.status_code == 422 and "M7" in res.get_json()["error"]
    second = api.ok(
        "staff_mrc",
        f"/requests/{rid}/matings",
        {"deleter": "B6.Cg-Tg(ACTFLPe)9205Dym/H", "set_up_on": "2026-04-01", "generation": 2, "dam": "P1"},
        status=201,
    )
    assert second["number"] == "M2"
    fixed = patch(
        api,
        "staff_mrc",
        f"/requests/{rid}/matings/{first['id']}",
        {"successful": True, "reason": "litter genotyped: product carriers"},
    )
    assert fixed.status_code == 200 and fixed.get_json()["successful"] is True
    pups = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]["animals"]
    assert [a["mating"] for a in pups if a["label"] in ("P1", "P2")] == ["M1", "M1"]
    other, _ = _at(api, "breeding")
    assert (
        api.ok(
            "staff_mrc",
            f"/requests/{other}/matings",
            {"deleter": "B6.Cg-Tg(ACTFLPe)9205Dym/H", "set_up_on": "2026-03-01", "generation": 1},
            status=201,
        )["number"]
        == "M1"
    )


def test_genotype_import_reports_every_bad_line_and_saves_nothing(api):
    rid, _ = _at(api, "breeding")
    text = "label,sex,allele,deleter transgene\nP1,f,tm1c,-\nP2,x,tm1c,+\nP3;m;tm9;-\nF0-1,m,wt,-\nP1,m,wt,-\n"
    res = api.post("staff_mrc", f"/requests/{rid}/animals/import", {"text": text})
    error = res.get_json()["error"]
    assert res.status_code == 422 and "Nothing was saved" in error
    for line in ("Line 3", "Line 4", "Line 5", "Line 6"):
        assert line in error
    assert "Line 2" not in error
    labels = [a["label"] for a in api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]["animals"]]
    assert labels == ["F0-1"]
    saved = api.ok("staff_mrc", f"/requests/{rid}/animals/import", {"text": "P1\tf\ttm1c\t-\nP2;m;wt;+"}, status=201)
    assert [a["label"] for a in saved["items"]] == ["P1", "P2"]


def test_documents_use_the_records_in_force_once(app, api):
    from flows import BILLING_DE

    rid = api.submit("EM:05402", "c", billing=BILLING_DE)["id"]
    req = walk(api, rid, "cryopreservation", node="MRC")
    ghost = api.ok(
        "staff_mrc", f"/requests/{rid}/cryo", {"material": "sperm", "count": 99, "location": "T9"}, status=201
    )
    api.ok("staff_mrc", f"/requests/{rid}/cryo/{ghost['id']}/void", {"reason": "entered twice"}, status=200)
    walk(api, rid, "completed", node="MRC")
    draft = api.ok("staff_mrc", f"/requests/{rid}/invoices", {"draft": True}, status=201)
    from conversion.extensions import db
    from conversion.invoices.models import Invoice

    invoice = db.session.get(Invoice, draft["id"])
    cryo_lines = [ln.description for ln in invoice.lines if ln.service == "cryopreservation"]
    assert cryo_lines == ["Cryopreservation of Cdk5rap2<tm1c(EUCOMM)Wtsi>: sperm (20 samples), with test thaw"]
    from invoice_helpers import pdf_text

    text = pdf_text(api.get("requester", f"/requests/{rid}/certificate.pdf").data)
    assert "99" not in text and text.count("tm1c PCR") == 1 and req["records"]["animals"][-1]["label"] in text


def test_workspace_pages_refuse_stale_or_unexplained_corrections(seeded):
    from webflows import Web, flashes, token

    api = Api(seeded.test_client())
    rid, req = _at(api, "ready")
    sue, rita = Web(seeded, "staff_mrc"), Web(seeded, "requester")
    session = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]["cryo"][0]
    url = f"/requests/{rid}/cryo/{session['id']}/correct"

    def post(**fields):
        data = {"fix-csrf_token": token(sue.client, f"/requests/{rid}"), "was-count": "20", **fields}
        return sue.client.post(url, data=data)

    res = post(**{"set-count": "25", "fix-version": "1"})  # no reason
    assert res.status_code == 422 and "Say why" in " ".join(flashes(res.get_data(as_text=True)))
    assert post(**{"set-count": "25", "fix-reason": "recount", "fix-version": "1"}).status_code == 302
    res = post(**{"set-count": "30", "fix-reason": "recount again", "fix-version": "1"})  # a stale page
    assert res.status_code == 409 and "changed by someone else" in " ".join(flashes(res.get_data(as_text=True)))
    cryo = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]["cryo"][0]
    assert cryo["count"] == 25 and [c["changes"] for c in cryo["corrections"]] == [{"count": [20, 25]}]
    page = sue.text(f"/requests/{rid}")
    assert "recount" in page and "Tank 3" in page
    api.ok(
        "staff_mrc",
        f"/requests/{rid}/shipments",
        {
            "courier": "World Courier",
            "tracking": "WC77",
            "shipped_on": "2026-06-01",
            "material": "sperm",
            "quantity": 3,
        },
        status=201,
    )
    mine = rita.text(f"/requests/{rid}")
    assert "WC77" in mine and "World Courier" in mine and "Tank 3" not in mine and "Correct" not in mine


def test_the_qc_form_offers_the_plans_own_assays_named_after_the_serial(seeded, api):
    """A tm2a line converted to tm2b: the page's assay list starts with the plan's assays (tm2b PCR)."""
    from webflows import Web

    from conversion.catalogue.models import Strain
    from conversion.extensions import db

    model = db.session.get(Strain, db.session.scalar(db.select(Strain.id).where(Strain.emma_id == "EM:05402")))
    symbol = model.allele_symbol.replace("tm1a", "tm2a")
    db.session.add(
        Strain(
            emma_id="EM:39001",
            strain_name=model.strain_name.replace(model.allele_symbol, symbol),
            allele_symbol=symbol,
            gene=model.gene,
            holder_node_id=model.holder_node_id,
            material=model.material,
            access=model.access,
        )
    )
    db.session.commit()
    res = api.post(
        "requester",
        "/requests",
        {"strain": "EM:39001", "target": "b", "deliverable": "frozen_sperm", "billing": BILLING_DE},
    )
    assert res.status_code == 201, res.get_json()
    rid = res.get_json()["id"]
    walk(api, rid, "breeding", node="MRC")
    page = Web(seeded, "staff_mrc").client.get(f"/requests/{rid}").get_data(as_text=True)
    select = page[page.index('name="qc-assay"') :]
    select = select[: select.index("</select>")]
    assert "tm2b PCR" in select and "tm1b PCR" in select  # the plan's own, then the usual list
    assert select.index("tm2b PCR") < select.index("tm1b PCR")


# ---- litters and test thaws: records of their own -------------------------------------------
def _litter(api, rid):
    api.ok(
        "staff_mrc",
        f"/requests/{rid}/matings",
        {"deleter": "B6.Cg-Tg(ACTFLPe)9205Dym/H", "set_up_on": "2026-03-01", "generation": 1, "sire": "F0-1"},
        status=201,
    )
    return api.ok(
        "staff_mrc",
        f"/requests/{rid}/litters",
        {
            "mating": "M1",
            "born_on": "2026-03-22",
            "pups": [
                {"label": "P1", "sex": "female", "allele": "tm1c", "deleter_transgene": "negative"},
                {"label": "P2", "sex": "male", "allele": "wt", "deleter_transgene": "positive"},
            ],
        },
        status=201,
    )


def _litters(api, rid):
    return api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]["matings"][0]["litters"]


def test_a_litter_is_corrected_with_a_reason_and_voided_on_its_own(api):
    rid, _ = _at(api, "breeding")  # walk: founder F0-1 (male)
    litter = _litter(api, rid)
    assert litter["version"] == 1 and litter["corrections"] == [] and litter["voided"] is False
    path = f"/requests/{rid}/litters/{litter['id']}"
    refusals = [
        ({"pups_weaned": 2}, 422, "reason"),  # no reason
        ({"pups_weaned": 3, "reason": "counted"}, 422, "More pups weaned (3) than born (2)"),
        ({"pups_born": 1, "reason": "counted"}, 422, "2 pups of this litter are recorded"),
        ({"weaned_on": "2026-03-01", "reason": "typo"}, 422, "weaned_on is before born_on"),
        ({"born_on": "2099-01-01", "reason": "typo"}, 422, "future"),
        ({"mating": "M2", "reason": "wrong mating"}, 422, "cannot be corrected"),
        ({"pups_weaned": 2, "reason": "weaned", "version": 7}, 409, "changed by someone else"),
    ]
    for body, status, words in refusals:
        res = patch(api, "staff_mrc", path, body)
        assert res.status_code == status and words in res.get_json()["error"], (body, res.get_json())
    assert _litters(api, rid)[0]["version"] == 1 and _litters(api, rid)[0]["corrections"] == []  # nothing changed
    assert patch(api, "staff_ics", path, {"pups_weaned": 2, "reason": "x"}).status_code == 404
    assert patch(api, "requester", path, {"pups_weaned": 2, "reason": "x"}).status_code == 403
    res = patch(
        api,
        "staff_mrc",
        path,
        {"pups_born": 6, "pups_weaned": 5, "weaned_on": "2026-04-12", "reason": "cage card read again", "version": 1},
    )
    assert res.status_code == 200, res.get_json()
    fixed = res.get_json()
    assert (fixed["pups_born"], fixed["pups_weaned"], fixed["weaned_on"], fixed["version"]) == (6, 5, "2026-04-12", 2)
    [fix] = fixed["corrections"]
    assert fix["reason"] == "cage card read again" and fix["by"] == "staff.mrc@emma.example"
    assert fix["changes"] == {"pups_born": [2, 6], "pups_weaned": [None, 5], "weaned_on": [None, "2026-04-12"]}
    assert _litters(api, rid)[0]["corrections"] == [fix]  # shown within its mating
    # void: a reason is required; the litter stays, marked; its pups stay recorded
    void = f"{path}/void"
    assert api.post("staff_mrc", void, {}).status_code == 422
    assert api.post("staff_mrc", void, {"reason": "x", "version": 1}).status_code == 409  # stale
    assert api.post("staff_ics", void, {"reason": "x"}).status_code == 404
    res = api.post("staff_mrc", void, {"reason": "recorded against the wrong cage", "version": 2})
    assert res.status_code == 200 and res.get_json()["voided"] is True
    assert res.get_json()["void"]["reason"] == "recorded against the wrong cage"
    assert api.post("staff_mrc", void, {"reason": "again"}).status_code == 409
    assert patch(api, "staff_mrc", path, {"pups_weaned": 4, "reason": "x"}).status_code == 409  # voided
    records = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]
    [shown] = records["matings"][0]["litters"]
    assert shown["voided"] and shown["pups_born"] == 6  # listed, marked voided
    assert [a["label"] for a in records["animals"] if not a["voided"]] == ["F0-1", "P1", "P2"]
    # a litter of another request is not reached through this one
    other, _ = _at(api, "breeding")
    assert (
        patch(
            api, "staff_mrc", f"/requests/{other}/litters/{litter['id']}", {"pups_born": 3, "reason": "x"}
        ).status_code
        == 404
    )


def test_a_voided_or_corrected_test_thaw_counts_nowhere(app, api):
    rid, _ = _at(api, "cryopreservation")
    session = api.ok(
        "staff_mrc",
        f"/requests/{rid}/cryo",
        {"material": "sperm", "count": 20, "location": "Tank 3 / canister 2 / position 14"},
        status=201,
    )
    thaws = f"/requests/{rid}/cryo/{session['id']}/thaws"
    wrong = api.ok("staff_mrc", thaws, {"thawed_on": "2026-05-02", "result": "pass"}, status=201)
    assert wrong["version"] == 1 and wrong["corrections"] == [] and wrong["voided"] is False
    path = f"/requests/{rid}/thaws/{wrong['id']}"
    for body, status, words in [
        ({"result": "fail"}, 422, "reason"),
        ({"result": "maybe", "reason": "x"}, 422, "result must be one of"),
        ({"thawed_on": "2099-01-01", "reason": "x"}, 422, "future"),
        ({"cryo_id": 1, "reason": "x"}, 422, "cannot be corrected"),
        ({"result": "fail", "reason": "x", "version": 3}, 409, "changed by someone else"),
    ]:
        res = patch(api, "staff_mrc", path, body)
        assert res.status_code == status and words in res.get_json()["error"], (body, res.get_json())
    assert patch(api, "staff_ics", path, {"result": "fail", "reason": "x"}).status_code == 404
    assert api.post("staff_mrc", f"{path}/void", {}).status_code == 422

    def cryo():
        return api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]

    assert cryo()["cryo"][0]["test_thaw"] == "pass" and cryo()["stock"]["sperm"]["thawed"] == 1
    voided = api.ok("staff_mrc", f"{path}/void", {"reason": "the other session's straw", "version": 1}, status=200)
    assert voided["voided"] is True and voided["void"]["reason"] == "the other session's straw"
    assert api.post("staff_mrc", f"{path}/void", {"reason": "again"}).status_code == 409
    assert patch(api, "staff_mrc", path, {"result": "fail", "reason": "x"}).status_code == 409
    records = cryo()
    assert records["cryo"][0]["test_thaw"] is None and records["stock"]["sperm"]["thawed"] == 0
    assert [t["voided"] for t in records["cryo"][0]["thaws"]] == [True]  # listed, marked
    refused = api.fire("staff_mrc", rid, "complete_cryopreservation")  # the guard does not count it
    assert refused.status_code == 409 and "No passing test thaw" in refused.get_json()["error"]
    # a failed thaw corrected to a pass (with a reason) lets it through
    typo = api.ok("staff_mrc", thaws, {"thawed_on": "2026-05-04", "result": "fail"}, status=201)
    assert api.fire("staff_mrc", rid, "complete_cryopreservation").status_code == 409
    res = patch(
        api, "staff_mrc", f"/requests/{rid}/thaws/{typo['id']}", {"result": "pass", "reason": "motility misread"}
    )
    assert res.status_code == 200 and res.get_json()["corrections"][0]["changes"] == {"result": ["fail", "pass"]}
    api.go("staff_mrc", rid, "complete_cryopreservation")
    walk(api, rid, "completed")
    from invoice_helpers import pdf_text

    text = pdf_text(api.get("requester", f"/requests/{rid}/certificate.pdf").data)
    assert "2026-05-04 pass" in text and "2026-05-02" not in text  # the voided thaw is not on it
    assert (
        patch(api, "staff_mrc", f"/requests/{rid}/thaws/{typo['id']}", {"note": "late", "reason": "x"}).status_code
        == 409
    )


# ---- start_qc: not while every mating of the step is marked unsuccessful -------------------
def test_start_qc_refused_while_every_mating_of_the_step_is_marked_unsuccessful(api):
    rid, _ = _at(api, "breeding")
    litter = _litter(api, rid)  # M1, not judged yet; P1 carries tm1c, deleter-negative
    m1 = litter["mating_id"]

    def start_qc_refused(why: str):
        res = api.fire("staff_mrc", rid, "start_qc")
        assert res.status_code == 409, res.get_json()
        assert why in res.get_json()["error"] and "successful" in res.get_json()["error"], res.get_json()
        assert api.get("staff_mrc", f"/requests/{rid}").get_json()["status"] == "breeding"

    # M1 judged unsuccessful (a correction, with its reason): no mating of step 1 can have given P1
    res = patch(api, "staff_mrc", f"/requests/{rid}/matings/{m1}", {"successful": False, "reason": "No carriers"})
    assert res.status_code == 200 and res.get_json()["successful"] is False
    start_qc_refused("Every mating of step 1 is marked unsuccessful")
    # a successful mating that is voided counts nowhere
    m2 = api.ok(
        "staff_mrc",
        f"/requests/{rid}/matings",
        {"deleter": "B6.Cg-Tg(ACTFLPe)9205Dym/H", "set_up_on": "2026-03-05", "generation": 1, "successful": True},
        status=201,
    )
    api.ok("staff_mrc", f"/requests/{rid}/matings/{m2['id']}/void", {"reason": "set up in the wrong cage"}, status=200)
    start_qc_refused("Every mating of step 1 is marked unsuccessful")
    # marking M1 successful is a correction: a reason is required
    assert patch(api, "staff_mrc", f"/requests/{rid}/matings/{m1}", {"successful": True}).status_code == 422
    start_qc_refused("Every mating of step 1 is marked unsuccessful")
    res = patch(
        api,
        "staff_mrc",
        f"/requests/{rid}/matings/{m1}",
        {"successful": True, "reason": "P1 carries tm1c", "version": 2},
    )
    assert res.status_code == 200 and res.get_json()["successful"] is True
    assert [c["changes"] for c in res.get_json()["corrections"]] == [
        {"successful": [None, False]},
        {"successful": [False, True]},
    ]
    assert api.go("staff_mrc", rid, "start_qc")["status"] == "qc"


def test_a_mating_not_judged_yet_does_not_hold_qc_back(api):
    """The contract's matings carry no success flag: a mating not judged yet may be the one."""
    rid, _ = _at(api, "breeding")
    _litter(api, rid)  # M1, not judged
    assert api.go("staff_mrc", rid, "start_qc")["status"] == "qc"


def test_a_successful_mating_of_step_one_does_not_open_qc_of_step_two(api):
    rid, req = _at(api, "qc", target="d")  # walk: M1 of step 1 (Flp) marked successful
    api.ok("staff_mrc", f"/requests/{rid}/qc", {"assay": "tm1c PCR", "result": "pass", "animal": "G2-1"})
    assert api.go("staff_mrc", rid, "pass_qc")["step"]["number"] == 2
    api.ok(
        "staff_mrc",
        f"/requests/{rid}/animals",
        {"label": "G3-1", "sex": "male", "allele": "tm1d", "deleter_transgene": "negative"},
        status=201,
    )
    cre = {"deleter": "C57BL/6NTac-Tg(ACTB-cre)3Mrt/H", "set_up_on": "2026-05-01", "generation": 1}
    api.ok("staff_mrc", f"/requests/{rid}/matings", {**cre, "successful": False}, status=201)
    res = api.fire("staff_mrc", rid, "start_qc")
    assert res.status_code == 409 and "Every mating of step 2 is marked unsuccessful" in res.get_json()["error"]
    api.ok("staff_mrc", f"/requests/{rid}/matings", {**cre, "successful": True}, status=201)
    assert api.go("staff_mrc", rid, "start_qc")["status"] == "qc"


# ---- two staff correcting the same record at once ------------------------------------------
@pytest.mark.parametrize("kind", ["animals", "litters"])
def test_two_staff_correcting_the_same_record_at_once_one_wins_the_other_gets_409(seeded, api, kind):
    """Two clients PATCH the same record from the same version at the same moment: one 200, one
    409; the record's version advances once and one correction is kept (no lost update)."""
    import threading

    from conftest import api_token

    rid, _ = _at(api, "breeding")
    if kind == "animals":
        record = api.ok(
            "staff_mrc",
            f"/requests/{rid}/animals",
            {"label": "P1", "sex": "male", "allele": "tm1c", "deleter_transgene": "negative"},
            status=201,
        )
        changes = [{"allele": "wt"}, {"fate": "culled"}]
    else:
        record = _litter(api, rid)
        changes = [{"pups_weaned": 1}, {"pups_weaned": 2}]
    tokens = [api_token(seeded.test_client(), "staff_mrc") for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def worker(i: int) -> None:
        client = seeded.test_client()
        barrier.wait()
        res = client.patch(
            f"/api/v1/requests/{rid}/{kind}/{record['id']}",
            json={**changes[i], "reason": f"staff {i}", "version": record["version"]},
            headers={"Authorization": f"Bearer {tokens[i]}"},
        )
        results[i] = (res.status_code, res.get_json())

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(code for code, _ in results)
    assert codes == [200, 409], results
    winner = next(i for i, (code, _) in enumerate(results) if code == 200)
    loser = results[1 - winner][1]["error"]
    assert "reload" in loser, loser
    records = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]
    now = records["animals"][-1] if kind == "animals" else records["matings"][0]["litters"][0]
    assert now["version"] == record["version"] + 1
    assert [c["reason"] for c in now["corrections"]] == [f"staff {winner}"]
    for field, value in changes[winner].items():
        assert now[field] == value
    for field, value in changes[1 - winner].items():
        assert now[field] != value


def test_records_show_after_the_request_steps_back_or_is_held(api):
    """Lab records are read only for the kinds the request's states can have (issue 20): a founder
    recorded in rederivation still shows once rederivation failed (back to accepted) and while the
    request is held there; a request before lab work shows none."""
    rid, _ = _at(api, "rederivation")
    api.ok(
        "staff_mrc",
        f"/requests/{rid}/animals",
        {"label": "F0-7", "born_on": "2026-02-01", "sex": "female", "allele": "tm1a"},
    )
    api.go("staff_mrc", rid, "rederivation_failed", comment="No founder carried the allele")
    for step in ("accepted", "on_hold"):
        for who in ("coordinator", "staff_mrc"):
            shown = api.get(who, f"/requests/{rid}").get_json()
            assert shown["status"] == step
            assert [a["label"] for a in shown["records"]["animals"]] == ["F0-7"], (who, step)
            assert shown["records"]["paperwork"]["po_reference"] == "PO-1"
            assert shown["records"]["matings"] == [] and shown["records"]["shipments"] == []
        if step == "accepted":
            api.go("coordinator", rid, "hold", comment="Waiting for the client")
    assert api.get("requester", f"/requests/{rid}").get_json()["records"] == {"shipments": []}
    fresh = api.submit(None, "c")["id"]
    assert api.get("coordinator", f"/requests/{fresh}").get_json()["records"]["animals"] == []
