"""The request lifecycle over the JSON API: walks, refusals, visibility, history, concurrency."""

import threading
from datetime import datetime

import pytest
from flows import BILLING_DE, Api, walk


@pytest.fixture
def api(seeded, client):
    return Api(client)


def test_one_step_request_walks_to_completed_with_full_history(api):
    req = api.submit("EM:05402", "c")
    assert req["status"] == "submitted" and req["reference"].startswith(f"AC-{datetime.now().year}-")
    assert req["product_symbol"] == "Cdk5rap2<tm1c(EUCOMM)Wtsi>"
    assert req["step"] == {"number": 1, "of": 1, "recombinase": "Flp", "from": "tm1a", "to": "tm1c", "tat_cre": False}
    done = walk(api, req["id"], "completed", node="MRC")
    assert done["status"] == "completed"
    # converted by the node that already holds it: the lab code is not repeated
    assert done["product_strain_name"] == "C57BL/6N-Cdk5rap2<tm1c(EUCOMM)Wtsi>/H"
    history = done["history"]
    assert [h["trigger"] for h in history] == [
        "submit",
        "approve",
        "assign",
        "accept",
        "start_rederivation",
        "start_breeding",
        "start_qc",
        "pass_qc",
        "complete_cryopreservation",
        "ship",
        "confirm_delivery",
    ]
    assert history[0]["from"] is None and history[0]["to"] == "submitted"
    assert history[0]["by"] == "requester@example.org"
    assert history[1]["by"] == "coordinator@emma.example" and history[3]["by"] == "staff.mrc@emma.example"
    for prev, cur in zip(history, history[1:]):
        assert cur["from"] == prev["to"]
        assert cur["at"].endswith("Z") and cur["at"] >= prev["at"]
    assert done["available_triggers"] == []


def test_two_step_plan_returns_to_breeding_for_step_two(api):
    req = api.submit("EM:05402", "d")
    assert [s["recombinase"] for s in req["plan"]["step_details"]] == ["Flp", "Cre"]
    rid = req["id"]
    at_qc = walk(api, rid, "qc", node="ICS")
    assert at_qc["step"]["number"] == 1 and at_qc["step"]["to"] == "tm1c"
    api.ok("staff_ics", f"/requests/{rid}/qc", {"assay": "tm1c PCR", "result": "pass"})
    back = api.go("staff_ics", rid, "pass_qc")
    assert back["status"] == "breeding"
    assert back["step"] == {"number": 2, "of": 2, "recombinase": "Cre", "from": "tm1c", "to": "tm1d", "tat_cre": False}
    # passing assays of step 1 do not count for step 2
    api.ok(
        "staff_ics",
        f"/requests/{rid}/matings",
        {
            "deleter": "Gt(ROSA)26Sor<tm1(ACTB-cre,-EGFP)Ics>",
            "set_up_on": "2026-05-01",
            "generation": 1,
            "successful": True,
        },
    )
    api.ok(
        "staff_ics",
        f"/requests/{rid}/animals",
        {"label": "G2-9", "sex": "male", "allele": "tm1d", "deleter_transgene": "negative"},
    )
    api.go("staff_ics", rid, "start_qc")
    refused = api.fire("staff_ics", rid, "pass_qc")
    assert refused.status_code == 409 and "step 2" in refused.get_json()["error"]
    done = walk(api, rid, "completed", node="ICS")
    assert done["status"] == "completed"
    assert done["product_symbol"] == "Cdk5rap2<tm1d(EUCOMM)Wtsi>"
    assert done["product_strain_name"] == "C57BL/6N-Cdk5rap2<tm1d(EUCOMM)Wtsi>/HIcs"


@pytest.mark.parametrize(
    "strain, target, who, billing, fragment",
    [
        ("EM:07243", "c", "requester", None, "critical exon"),  # tm1b -> conditional
        ("EM:13101", "b", "requester", None, "CRISPR"),  # em1
        ("EM:05519", "b", "requester", None, "EM:07243"),  # tm1b already archived
        ("EM:12177", "c", "industry", {**BILLING_DE, "sector": "industry", "vat_number": None}, "genOway"),
        ("EM:99999", "c", "requester", None, "No strain"),
        ("EM:13377", "c", "requester", None, "No strain"),  # confidential: hidden
        ("EM:05402", "z", "requester", None, "target"),
        ("EM:05402", "c", "requester", {**BILLING_DE, "vat_number": "DE123"}, "not a valid DE VAT"),
        ("EM:05402", "c", "requester", {**BILLING_DE, "country": "Germany"}, "Germany is DE"),
        (
            "EM:05402",
            "c",
            "requester",
            {**BILLING_DE, "country": "XX", "vat_number": None},
            "'XX' is not an ISO 3166-1",
        ),
        ("EM:05402", "c", "requester", {**BILLING_DE, "country": "GE"}, "VAT number of Germany"),
    ],
)
def test_submission_refusals_are_422_with_reason(api, strain, target, who, billing, fragment):
    body = {"strain": strain, "target": target, "deliverable": "frozen_sperm", "billing": billing or BILLING_DE}
    res = api.post(who, "/requests", body)
    assert res.status_code == 422, res.get_json()
    assert fragment.lower() in res.get_json()["error"].lower()
    assert api.get("coordinator", "/requests").get_json()["items"] == []


def test_only_signed_in_requesters_submit(api):
    body = {"strain": "EM:05402", "target": "c", "deliverable": "frozen_sperm", "billing": BILLING_DE}
    assert api.post(None, "/requests", body).status_code == 401
    assert api.post("staff_mrc", "/requests", body).status_code == 403
    assert api.post("coordinator", "/requests", body).status_code == 403


def test_refusals_of_triggers(api):
    rid = api.submit("EM:05402", "c")["id"]
    res = api.fire("coordinator", rid, "ship")
    assert res.status_code == 409 and "submitted" in res.get_json()["error"]
    assert api.fire("requester", rid, "approve").status_code == 403
    assert api.fire("coordinator", rid, "fly").status_code == 422
    res = api.fire("coordinator", rid, "reject")
    assert res.status_code == 422 and "comment" in res.get_json()["error"].lower()
    api.go("coordinator", rid, "approve")
    res = api.fire("coordinator", rid, "assign", node="SANG")
    assert res.status_code == 409 and "does not offer" in res.get_json()["error"]
    assert api.fire("coordinator", rid, "assign", node="NOPE").status_code == 422
    assert api.fire("coordinator", rid, "assign").status_code == 422
    api.go("coordinator", rid, "assign", node="MRC")
    assert api.fire("staff_ics", rid, "accept").status_code == 404  # not their node's request
    api.go("staff_mrc", rid, "accept")
    res = api.fire("staff_mrc", rid, "start_rederivation")
    assert res.status_code == 409
    assert "Paperwork incomplete" in res.get_json()["error"] and "MTA" in res.get_json()["error"]
    api.ok("staff_mrc", f"/requests/{rid}/paperwork", {"mta_signed_on": "2026-01-10"})
    res = api.fire("staff_mrc", rid, "start_rederivation")
    assert res.status_code == 409 and "purchase order" in res.get_json()["error"]
    api.ok("staff_mrc", f"/requests/{rid}/paperwork", {"po_reference": "PO-77"})
    api.go("staff_mrc", rid, "start_rederivation")
    res = api.fire("staff_mrc", rid, "start_breeding")
    assert res.status_code == 409 and "founder" in res.get_json()["error"]
    history = api.get("coordinator", f"/requests/{rid}").get_json()["history"]
    assert [h["trigger"] for h in history] == ["submit", "approve", "assign", "accept", "start_rederivation"]


def test_lab_records_validation(api):
    rid = api.submit("EM:05402", "c")["id"]
    walk(api, rid, "breeding", node="MRC")
    res = api.post(
        "staff_mrc",
        f"/requests/{rid}/matings",
        {"deleter": "C57BL/6NTac-Tg(ACTB-cre)3Mrt/H", "set_up_on": "2026-03-01", "generation": 1},
    )
    assert res.status_code == 422 and "needs a Flp deleter" in res.get_json()["error"]
    res = api.post(
        "staff_mrc", f"/requests/{rid}/matings", {"deleter": "EM:05414", "set_up_on": "2026-03-01", "generation": 1}
    )
    assert res.status_code == 422 and "has no deleter strain" in res.get_json()["error"]
    res = api.post(
        "staff_mrc",
        f"/requests/{rid}/matings",
        {"deleter": "B6.Cg-Tg(ACTFLPe)9205Dym/H", "set_up_on": "2026-03-01", "generation": 0},
    )
    assert res.status_code == 422 and "generation" in res.get_json()["error"]
    res = api.post(
        "staff_mrc",
        f"/requests/{rid}/matings",
        {"deleter": "B6.Cg-Tg(ACTFLPe)9205Dym/H", "set_up_on": "2026-13-01", "generation": 1},
    )
    assert res.status_code == 422 and "YYYY-MM-DD" in res.get_json()["error"]
    res = api.post(
        "staff_mrc",
        f"/requests/{rid}/animals",
        {"label": "P1", "sex": "male", "allele": "tm9z", "deleter_transgene": "negative"},
    )
    assert res.status_code == 422 and "allele" in res.get_json()["error"]
    res = api.post("staff_mrc", f"/requests/{rid}/cryo", {"material": "sperm", "count": 3, "location": "T1"})
    assert res.status_code == 409 and "breeding" in res.get_json()["error"]
    res = api.post("staff_mrc", f"/requests/{rid}/qc", {"assay": "PCR of something", "result": "pass"})
    assert res.status_code == 422
    assert api.post("staff_ics", f"/requests/{rid}/qc", {"assay": "tm1c PCR", "result": "pass"}).status_code == 404
    assert api.post("requester", f"/requests/{rid}/qc", {"assay": "tm1c PCR", "result": "pass"}).status_code == 403
    res = api.post(
        "staff_mrc",
        f"/requests/{rid}/animals",
        {"label": "P1", "sex": "male", "allele": "tm1c", "deleter_transgene": "positive"},
    )
    assert res.status_code == 201
    res = api.fire("staff_mrc", rid, "start_qc")
    assert res.status_code == 409 and "tm1c" in res.get_json()["error"]
    records = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]
    assert [a["label"] for a in records["animals"]] == ["F0-1", "P1"] and records["matings"] == []


def test_failed_three_prime_loxp_means_tm1e(api):
    rid = api.submit("EM:05402", "c")["id"]
    walk(api, rid, "qc", node="MRC")
    api.ok("staff_mrc", f"/requests/{rid}/qc", {"assay": "3' LOXP pcr", "result": "fail"})
    api.ok("staff_mrc", f"/requests/{rid}/qc", {"assay": "tm1c PCR", "result": "pass"})
    res = api.fire("staff_mrc", rid, "pass_qc")
    assert res.status_code == 409 and "tm1e" in res.get_json()["error"]
    failed = api.go("staff_mrc", rid, "fail_qc", comment="3' loxP missing")
    assert failed["status"] == "breeding"
    assert "tm1e" in failed["history"][-1]["data"]["notice"]
    cancelled = api.go("coordinator", rid, "cancel", reason="QC FAILED")
    assert cancelled["status"] == "cancelled"
    assert cancelled["history"][-1]["data"] == {"reason": "qc_failed"}


def test_hold_and_resume_return_to_the_held_state(api):
    rid = api.submit("EM:05402", "c")["id"]
    walk(api, rid, "rederivation", node="MRC")
    assert api.fire("staff_mrc", rid, "hold").status_code == 422
    held = api.go("staff_mrc", rid, "hold", comment="Animal facility closed for renovation")
    assert held["status"] == "on_hold" and held["held_status"] == "rederivation"
    assert api.fire("staff_mrc", rid, "start_breeding").status_code == 409
    resumed = api.go("coordinator", rid, "resume", comment="Facility open again")
    assert resumed["status"] == "rederivation" and resumed["held_status"] is None


def test_requester_cancels_only_before_accepted(api):
    first = api.submit("EM:05402", "c")["id"]
    api.go("coordinator", first, "approve")
    res = api.fire("requester", first, "cancel", reason="nonsense")
    assert res.status_code == 422
    done = api.go("requester", first, "cancel", reason="Stock sourced elsewhere", comment="Found it")
    assert done["status"] == "cancelled" and done["history"][-1]["data"] == {"reason": "sourced_elsewhere"}
    second = api.submit("EM:05402", "b")["id"]
    walk(api, second, "accepted", node="MRC")
    assert api.fire("requester", second, "cancel", reason="other").status_code == 403
    assert api.go("coordinator", second, "cancel", reason="other")["status"] == "cancelled"
    assert api.fire("coordinator", second, "approve").status_code == 409


def test_visibility_is_scoped_and_other_objects_are_404(api, client):
    from conftest import DEMO

    rid = api.submit("EM:05402", "c")["id"]
    DEMO["other"] = ("other@example.org", "other-password-1")
    try:
        from conversion.accounts.operations import create_user

        create_user("other@example.org", "other-password-1", "requester")
        assert api.get("other", f"/requests/{rid}").status_code == 404
        assert api.get("other", "/requests").get_json()["items"] == []
        assert api.fire("other", rid, "cancel", reason="other").status_code == 404
        assert api.get("staff_mrc", f"/requests/{rid}").status_code == 404
        walk(api, rid, "assigned", node="MRC")
        assert api.get("staff_mrc", f"/requests/{rid}").status_code == 200
        assert api.get("staff_ics", f"/requests/{rid}").status_code == 404
        assert [r["id"] for r in api.get("staff_mrc", "/requests").get_json()["items"]] == [rid]
        assert api.get("staff_ics", "/requests").get_json()["items"] == []
        assert api.get("requester", f"/requests/{rid}").status_code == 200
        assert api.get(None, f"/requests/{rid}").status_code == 401
    finally:
        DEMO.pop("other")


def test_list_filters_and_pagination(api):
    ids = [api.submit("EM:05402", t)["id"] for t in ("b", "c", "d")]
    ids.append(api.submit("EM:06377", "b")["id"])
    api.go("coordinator", ids[0], "approve")
    listing = api.get("coordinator", "/requests?limit=2").get_json()
    assert [r["id"] for r in listing["items"]] == ids[::-1][:2]
    assert listing["next"]
    rest = api.client.get(listing["next"], headers=api.headers("coordinator")).get_json()
    assert [r["id"] for r in rest["items"]] == ids[::-1][2:] and rest["next"] is None
    approved = api.get("coordinator", "/requests?status=approved").get_json()["items"]
    assert [r["id"] for r in approved] == [ids[0]]
    fbxo7 = api.get("coordinator", "/requests?q=fbxo7").get_json()["items"]
    assert [r["id"] for r in fbxo7] == [ids[3]]
    # a search by reference pages as the whole list does; one matching nothing is an empty page
    by_reference = api.get("coordinator", "/requests?q=AC-&limit=3").get_json()
    assert [r["id"] for r in by_reference["items"]] == ids[::-1][:3] and "q=AC-" in by_reference["next"]
    rest = api.client.get(by_reference["next"], headers=api.headers("coordinator")).get_json()
    assert [r["id"] for r in rest["items"]] == ids[:1] and rest["next"] is None
    assert api.get("coordinator", "/requests?q=no-such-thing").get_json() == {"items": [], "next": None}
    assert api.get("coordinator", "/requests?status=flying").status_code == 422
    assert api.get("coordinator", "/requests?node=ICS").get_json()["items"] == []
    # a node code is read as written in any case; an unknown one is refused, naming it
    assert api.get("coordinator", "/requests?node=%20ics").get_json() == {"items": [], "next": None}
    unknown = api.get("coordinator", "/requests?node=nope")
    assert unknown.status_code == 422 and "Unknown node 'nope'" in unknown.get_data(as_text=True)


def test_list_arguments_and_times(api):
    ids = [api.submit("EM:05402", t)["id"] for t in ("b", "c", "d")]
    one = api.get("coordinator", f"/requests/{ids[0]}").get_json()
    listed = {r["id"]: r for r in api.get("coordinator", "/requests").get_json()["items"]}
    # the list shows what the request's own page shows, times in UTC with a Z
    assert {k: listed[ids[0]][k] for k in ("created_at", "updated_at", "reference", "requester")} == {
        k: one[k] for k in ("created_at", "updated_at", "reference", "requester")
    }
    assert one["created_at"].endswith("Z")
    # arguments as written: leading zeros, unknown ones ignored, a repeated one read once
    assert len(api.get("coordinator", "/requests?limit=02&colour=red").get_json()["items"]) == 2
    assert len(api.get("coordinator", "/requests?limit=1&limit=3").get_json()["items"]) == 1
    # out of range, not a number or too long: 422 naming the argument, as before
    for query, name in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=abc", "cursor"),
        ("node=" + "x" * 21, "node"),
    ]:
        res = api.get("coordinator", f"/requests?{query}")
        assert res.status_code == 422 and name in res.get_data(as_text=True), query


def test_node_suggestions_rank_able_nodes_first(api):
    rid = api.submit("EM:10021", "c")["id"]  # held by UNIOULU
    items = api.get("coordinator", f"/requests/{rid}/node-suggestions").get_json()["items"]
    assert items[0]["node"] == "UNIOULU" and items[0]["holds_stock"] and items[0]["ok"]
    assert [i["node"] for i in items if i["ok"]][1:] == ["HMGU", "ICS", "MRC"]
    assert all(not i["ok"] and i["problem"] for i in items[4:])
    assert api.get("requester", f"/requests/{rid}/node-suggestions").status_code == 403


def test_tat_cre_route(api):
    req = api.submit("EM:05402", "b", use_tat_cre=True)
    assert req["step"]["tat_cre"] is True
    rid = req["id"]
    walk(api, rid, "breeding", node="MRC")
    api.ok("staff_mrc", f"/requests/{rid}/matings", {"method": "tat_cre", "set_up_on": "2026-03-02", "generation": 1})
    records = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"]
    assert records["matings"][0]["method"] == "tat_cre" and records["matings"][0]["deleter"] is None
    flp = api.post(
        "requester",
        "/requests",
        {
            "strain": "EM:05402",
            "target": "c",
            "use_tat_cre": True,
            "deliverable": "frozen_sperm",
            "billing": BILLING_DE,
        },
    )
    assert flp.status_code == 422 and "TAT-Cre" in flp.get_json()["error"]  # a Flp-only plan


def _fire_concurrently(app, rid, trigger, who, n, **body):
    from conftest import api_token

    tokens = [api_token(app.test_client(), who) for _ in range(n)]
    barrier = threading.Barrier(n)
    codes = []

    def worker(token):
        client = app.test_client()
        barrier.wait()
        res = client.post(
            f"/api/v1/requests/{rid}/events",
            json={"trigger": trigger, **body},
            headers={"Authorization": f"Bearer {token}"},
        )
        codes.append(res.status_code)

    threads = [threading.Thread(target=worker, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(codes)


def test_same_trigger_fired_at_once_exactly_one_wins(api, seeded):
    rid = api.submit("EM:05402", "c")["id"]
    codes = _fire_concurrently(seeded, rid, "approve", "coordinator", 8)
    assert codes.count(200) == 1 and codes.count(409) == 7, codes
    history = api.get("coordinator", f"/requests/{rid}").get_json()["history"]
    assert [h["trigger"] for h in history] == ["submit", "approve"]


def test_conflicting_triggers_at_once_exactly_one_wins(api, seeded):
    rid = api.submit("EM:05402", "c")["id"]
    from conftest import api_token

    token = api_token(seeded.test_client(), "coordinator")
    barrier = threading.Barrier(2)
    codes = {}

    def worker(name, body):
        barrier.wait()
        res = seeded.test_client().post(
            f"/api/v1/requests/{rid}/events", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        codes[name] = res.status_code

    threads = [
        threading.Thread(target=worker, args=("approve", {"trigger": "approve"})),
        threading.Thread(target=worker, args=("reject", {"trigger": "reject", "comment": "Out of scope"})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(codes.values()) == [200, 409], codes
    req = api.get("coordinator", f"/requests/{rid}").get_json()
    winner = next(name for name, code in codes.items() if code == 200)
    assert [h["trigger"] for h in req["history"]] == ["submit", winner]
    assert req["status"] == {"approve": "approved", "reject": "rejected"}[winner]


def test_the_lists_quick_argument_path_knows_every_argument_of_its_schema():
    """ListQuery.load answers plain arguments without marshmallow (_plain_list_args): an argument
    added to the schema must be added there too, or it would be missing from what it loads."""
    from conversion.api.requests import _LIST_INTS, _LIST_TEXT, ListQuery

    assert set(ListQuery().fields) == set(_LIST_TEXT) | set(_LIST_INTS)
