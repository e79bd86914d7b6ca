"""The archive loop (contract: "The archive loop"): a finished conversion becomes a catalogue strain,
duplicate work is refused (422 archived, 409 in progress, with a way to be told), imports store
canonical symbols, the MGI report, superscript alleles. Each refusal on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import csrf_token, sign_in
from flows import Api, walk
from sqlalchemy import select


@pytest.fixture
def api(seeded, client):
    return Api(client)


def _strain(emma_id):
    from conversion.catalogue.models import Strain
    from conversion.extensions import db

    db.session.expire_all()
    return db.session.scalar(select(Strain).where(Strain.emma_id == emma_id))


def _outbox(recipient):
    from conversion.extensions import db
    from conversion.notifications.models import OutboxMessage

    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient).order_by(OutboxMessage.id))
    )


# ---- derivatives become strains ----------------------------------------------------------
def test_complete_cryopreservation_archives_the_product(api, client):
    rid = api.submit("EM:05402", "b")["id"]
    req = walk(api, rid, "ready", node="ICS")
    assert req["status"] == "ready" and req["archived_strain"] == "EM:90001"
    assert req["history"][-1]["data"]["archived_strain"] == "EM:90001"
    strain = api.get("requester", "/strains/EM:90001").get_json()
    assert strain["allele_symbol"] == "Cdk5rap2<tm1b(EUCOMM)Wtsi>"
    assert strain["strain_name"] == "C57BL/6N-Cdk5rap2<tm1b(EUCOMM)Wtsi>/HIcs"  # the node's lab code appended
    assert (strain["holder_node"], strain["material"], strain["access"]) == ("ICS", "frozen_sperm", "public")
    assert (strain["derived_from"], strain["derived_by"]) == ("EM:05402", req["reference"])
    assert _strain("EM:90001").stock_count == 20
    # the strain page links both ways
    derived = client.get("/strains/EM:90001").get_data(as_text=True)
    assert "Derived from" in derived and 'href="/strains/EM:05402"' in derived and req["reference"] in derived
    parent = client.get("/strains/EM:05402").get_data(as_text=True)
    assert "Derivatives archived" in parent and 'href="/strains/EM:90001"' in parent
    # the next scientist wanting it is sent to the frozen material
    res = api.post(
        "requester",
        "/requests",
        {"strain": "EM:05402", "target": "b", "deliverable": "frozen_sperm", "billing": _billing()},
    )
    assert res.status_code == 422 and "EM:90001" in res.get_json()["error"]
    # a second derivative gets the next id of the block
    rid2 = api.submit("EM:05519", "c")["id"]
    assert walk(api, rid2, "ready", node="MRC")["archived_strain"] == "EM:90002"


def test_derived_ids_never_collide_with_imported_ones(seeded, tmp_path):
    from conversion.catalogue.operations import next_derived_emma_id

    path = tmp_path / "s.csv"
    path.write_text(
        "emma_id,strain_name,allele_symbol,holder_node,material,access\n"
        "EM:90001,C57BL/6N-Ano5<tm1a(EUCOMM)Wtsi>/Wtsi,Ano5<tm1a(EUCOMM)Wtsi>,SANG,frozen_sperm,public\n"
    )
    res = seeded.test_cli_runner().invoke(args=["strains", "import", str(path)])
    assert res.exit_code != 0 and "line 2" in res.output and "EM:90001 is in the block" in res.output
    assert _strain("EM:90001") is None and next_derived_emma_id() == "EM:90001"


def test_archived_spelled_with_sup_is_found(api):
    """Regression: an exact-string comparison missed `<sup>` spellings of an archived product."""
    from conversion.catalogue.models import Access, Material, Node, Strain
    from conversion.extensions import db

    node = db.session.scalar(select(Node).where(Node.code == "ICS"))
    db.session.add(
        Strain(
            emma_id="EM:21000",
            strain_name="C57BL/6N-Ptpn11<sup>tm1c(EUCOMM)Wtsi</sup>/Ics",
            allele_symbol="Ptpn11<sup>tm1c(EUCOMM)Wtsi</sup>",
            gene="Ptpn11",
            holder_node=node,
            material=Material.frozen_sperm,
            access=Access.public,
        )
    )
    db.session.commit()
    res = api.post(
        "requester",
        "/requests",
        {"strain": "EM:05608", "target": "c", "deliverable": "frozen_sperm", "billing": _billing()},
    )
    assert res.status_code == 422 and "already archived at EMMA as EM:21000" in res.get_json()["error"]


# ---- no duplicate work -------------------------------------------------------------------------
def test_a_product_in_progress_is_refused_naming_the_request(api):
    first = api.submit("EM:05402", "c")
    res = api.post(
        "industry",
        "/requests",
        {
            "strain": "EM:05402",
            "target": "tm1c",
            "deliverable": "live_animals",
            "billing": {**_billing(), "sector": "industry"},
        },
    )
    assert res.status_code == 409 and first["reference"] in res.get_json()["error"]
    # another target of the same strain is another product
    assert (
        api.post(
            "industry",
            "/requests",
            {"strain": "EM:05402", "target": "b", "deliverable": "live_animals", "billing": _billing()},
        ).status_code
        == 201
    )
    # once the first request is cancelled, the product can be requested again
    api.go("coordinator", first["id"], "cancel", reason="other")
    assert (
        api.post(
            "industry",
            "/requests",
            {"strain": "EM:05402", "target": "c", "deliverable": "live_animals", "billing": _billing()},
        ).status_code
        == 201
    )


def test_ask_to_be_told_and_get_the_email_when_archived(api):
    first = api.submit("EM:05402", "b")
    assert api.post("industry", "/archive-watches", {"strain": "EM:05402", "target": "b"}).status_code == 201
    again = api.post("industry", "/archive-watches", {"strain": "EM:05402", "target": "b"})
    assert again.status_code == 201  # asking twice answers the same watch
    listed = api.get("industry", "/archive-watches").get_json()["items"]
    assert len(listed) == 1 and listed[0]["product_symbol"] == "Cdk5rap2<tm1b(EUCOMM)Wtsi>"
    assert listed[0]["notified_at"] is None
    # nothing to wait for: no open request makes tm1c, and an unknown strain
    res = api.post("industry", "/archive-watches", {"strain": "EM:05402", "target": "c"})
    assert res.status_code == 422 and "No open request is making" in res.get_json()["error"]
    assert api.post("industry", "/archive-watches", {"strain": "EM:99999", "target": "b"}).status_code == 422
    assert api.post(None, "/archive-watches", {"strain": "EM:05402", "target": "b"}).status_code == 401
    walk(api, first["id"], "ready", node="MRC")
    mails = [m for m in _outbox("industry@biotech.example") if m.category == "archive_watch"]
    assert len(mails) == 1 and "EM:90001" in mails[0].subject
    assert "EM:90001" in mails[0].body_text and "<sup>tm1b(EUCOMM)Wtsi</sup>" in mails[0].body_html
    assert "white-space:nowrap" in mails[0].body_html
    watch = api.get("industry", "/archive-watches").get_json()["items"][0]
    assert watch["archived_strain"] == "EM:90001" and watch["notified_at"]
    # now it is archived: the watch is refused naming the strain
    res = api.post("industry", "/archive-watches", {"strain": "EM:05402", "target": "b"})
    assert res.status_code == 422 and "EM:90001" in res.get_json()["error"]


def test_the_request_page_offers_to_be_told(api, client):
    first = api.submit("EM:05402", "d")
    sign_in(client, "industry")
    token = csrf_token(client, "/strains/EM:05402/request")
    form = {
        "csrf_token": token,
        "target": "d",
        "deliverable": "frozen_sperm",
        "organisation": "Biotech Example GmbH",
        "address": "Somewhere 1, Berlin",
        "country": "DE",
        "sector": "industry",
        "vat_number": "",
        "comment": "",
    }
    page = client.post("/strains/EM:05402/request", data={**form, "action": "review"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and first["reference"] in html and "Email me when it is archived" in html
    assert 'value="confirm"' not in html  # no submit button for duplicate work
    refused = client.post("/strains/EM:05402/request", data={**form, "action": "confirm"})
    assert refused.status_code == 409 and "Email me when it is archived" in refused.get_data(as_text=True)
    res = client.post(
        "/archive-watches", data={"csrf_token": token, "strain": "EM:05402", "target": "d"}, follow_redirects=True
    )
    assert res.status_code == 200 and "We will email you" in res.get_data(as_text=True)
    no_csrf = client.post("/archive-watches", data={"strain": "EM:05402", "target": "d"})
    assert no_csrf.status_code == 400


# ---- imports -------------------------------------------------------------------------------------
IMPORT_HEADER = "emma_id,strain_name,allele_symbol,holder_node,material,access,design,mgi_id\n"


def _import(app, tmp_path, rows: str):
    path = tmp_path / "strains.csv"
    path.write_text(IMPORT_HEADER + rows)
    return app.test_cli_runner().invoke(args=["strains", "import", str(path)])


def test_import_stores_canonical_symbols_design_and_mgi_id(seeded, tmp_path, client):
    res = _import(
        seeded,
        tmp_path,
        "EM:20001,C57BL/6N-Ano5<sup>tm1a(EUCOMM)Wtsi</sup>/Wtsi,Ano5<sup>tm1a(EUCOMM)Wtsi</sup>,SANG,"
        "frozen_sperm,public,,MGI:3576659\n"
        "EM:20002,C57BL/6NTac-Tyr‹em2(IMPC)H›/H,Tyr ‹em2(IMPC)H›,MRC,live,public,conditional,\n",
    )
    assert res.exit_code == 0, res.output
    ano5, tyr = _strain("EM:20001"), _strain("EM:20002")
    assert (ano5.allele_symbol, ano5.strain_name) == ("Ano5<tm1a(EUCOMM)Wtsi>", "C57BL/6N-Ano5<tm1a(EUCOMM)Wtsi>/Wtsi")
    assert ano5.mgi_id == "MGI:3576659" and ano5.design is None
    assert (tyr.allele_symbol, tyr.design) == ("Tyr<em2(IMPC)H>", "conditional")
    page = client.get("/strains/EM:20001").get_data(as_text=True)
    assert 'href="https://www.informatics.jax.org/marker/MGI:3576659"' in page
    assert "Ano5</a><sup>tm1a(EUCOMM)Wtsi</sup>" in page and 'class="allele-symbol"' in page
    em = client.get("/strains/EM:20002").get_data(as_text=True)
    assert "Tyr<sup>em2.1(IMPC)H</sup>" in em  # a declared conditional em allele converts with Cre


@pytest.mark.parametrize(
    "row, message",
    [
        (
            "EM:20003,C57BL/6N-Nxn<tm1a(KOMP)Wtsi>/H,Ano5<tm1a(EUCOMM)Wtsi>,SANG,frozen_sperm,public,,\n",
            "does not carry its allele Ano5<tm1a(EUCOMM)Wtsi>",
        ),
        (
            "EM:20003,C57BL/6N-Ano5<tm1b(EUCOMM)Wtsi>/H,Ano5<tm1a(EUCOMM)Wtsi>,SANG,frozen_sperm,public,,\n",
            "does not carry its allele",
        ),
        (
            "EM:20003,C57BL/6N-Ano5<tm1a(EUCOMM)wtsi>/H,Ano5<tm1a(EUCOMM)wtsi>,SANG,frozen_sperm,public,,\n",
            "must start with a capital letter",
        ),
        (
            "EM:20003,C57BL/6N-Ano5<tm1a(EUCOMM)Wtsi>/H,Ano5<tm1a(<b>EUCOMM</b>)Wtsi>,SANG,frozen_sperm,public,,\n",
            "markup inside the symbol",
        ),
        (
            "EM:20003,C57BL/6N-Ano5<tm1a(EUCOMM)Wtsi>/H,Ano5<tm1a(EUCOMM)Wtsi>,SANG,frozen_sperm,public,conditional,\n",
            "design 'conditional' is for CRISPR em alleles",
        ),
        (
            "EM:20003,C57BL/6N-Ano5<tm1a(EUCOMM)Wtsi>/H,Ano5<tm1a(EUCOMM)Wtsi>,SANG,frozen_sperm,public,,12345\n",
            "mgi_id '12345' must look like MGI:1234567",
        ),
    ],
)
def test_import_refuses_bad_rows_by_line(seeded, tmp_path, row, message):
    ok = "EM:20004,C57BL/6N-Ano6<tm1a(EUCOMM)Wtsi>/H,Ano6<tm1a(EUCOMM)Wtsi>,SANG,frozen_sperm,public,,\n"
    res = _import(seeded, tmp_path, ok + row)
    assert res.exit_code != 0 and "line 3" in res.output and message in res.output, res.output
    assert _strain("EM:20004") is None and _strain("EM:20003") is None  # nothing of that file


def test_sup_strain_names_give_correct_product_strain_names(api):
    """Regression: product_strain_name mangled `<sup>` names (and assign then failed with a 500)."""
    from conversion.catalogue.models import Access, Material, Node, Strain
    from conversion.extensions import db

    node = db.session.scalar(select(Node).where(Node.code == "SANG"))
    db.session.add(
        Strain(
            emma_id="EM:21001",
            strain_name="C57BL/6N-Ano5<sup>tm1a(EUCOMM)Wtsi</sup>/Wtsi",
            allele_symbol="Ano5<sup>tm1a(EUCOMM)Wtsi</sup>",
            gene="Ano5",
            holder_node=node,
            material=Material.frozen_sperm,
            access=Access.public,
        )
    )
    db.session.commit()
    rid = api.submit("EM:21001", "b")["id"]
    req = walk(api, rid, "assigned", node="HMGU")
    assert req["product_strain_name"] == "C57BL/6N-Ano5<tm1b(EUCOMM)Wtsi>/WtsiIeg"


# ---- the lifecycle asks the engine ---------------------------------------------------------------
def test_failed_three_prime_loxp_rules_out_tm1b(api):
    """Regression: tm1b needs the floxed exon too; without the 3' loxP, Cre gives tm1e.1."""
    rid = api.submit("EM:05402", "b")["id"]
    walk(api, rid, "qc", node="MRC")
    api.ok("staff_mrc", f"/requests/{rid}/qc", {"assay": "3' loxP PCR", "result": "fail"})
    api.ok("staff_mrc", f"/requests/{rid}/qc", {"assay": "tm1b PCR", "result": "pass"})
    res = api.fire("staff_mrc", rid, "pass_qc")
    assert res.status_code == 409 and "Cre gives tm1e.1 instead" in res.get_json()["error"]
    assert api.get("staff_mrc", f"/requests/{rid}").get_json()["status"] == "qc"


def test_tat_cre_plans_have_no_cre_pcr(api):
    req = api.submit("EM:05402", "b", use_tat_cre=True)
    assert req["plan"]["step_details"][0]["qc_assays"] == ["tm1b PCR", "lacZ qPCR", "neo qPCR", "LoA qPCR"]
    plain = api.submit("EM:05608", "b")
    assert "Cre PCR" in plain["plan"]["step_details"][0]["qc_assays"]


# ---- the MGI report ------------------------------------------------------------------------------
def test_derived_alleles_report(api, client):
    rid = api.submit("EM:05402", "d")["id"]
    walk(api, rid, "ready", node="UNIOULU")
    res = api.get("coordinator", "/reports/derived-alleles")
    assert res.status_code == 200 and res.mimetype == "text/tab-separated-values"
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True)), delimiter="\t"))
    assert rows[0] == [
        "parent_allele",
        "derived_allele",
        "excision",
        "deleter",
        "tat_cre",
        "colony",
        "background",
        "node",
        "completed_on",
    ]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1]))
    assert (
        row["parent_allele"] == "Cdk5rap2<tm1a(EUCOMM)Wtsi>" and row["derived_allele"] == "Cdk5rap2<tm1d(EUCOMM)Wtsi>"
    )
    assert row["excision"] == "Flp then Cre" and row["tat_cre"] == "no"
    assert row["deleter"] == "Tg(CAG-Flpo)1Afst; C57BL/6N-Hprt<tm1(CMV-cre)Wtsi>/WtsiOulu (EM:05414)"
    assert (row["background"], row["node"]) == ("C57BL/6N", "UNIOULU") and row["colony"].startswith("AC-")
    assert len(row["completed_on"]) == 10
    for who, status in (("requester", 403), ("staff_oulu", 403), (None, 401)):
        assert api.get(who, "/reports/derived-alleles").status_code == status
    sign_in(client, "coordinator")
    assert "/api/v1/reports/derived-alleles" in client.get("/").get_data(as_text=True)


# ---- feasibility -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body, status, check",
    [
        (
            {"allele": "Tyr<em1(IMPC)J>", "target": ".1", "design": "conditional"},
            200,
            lambda j: j["feasible"] and j["product_symbol"] == "Tyr<em1.1(IMPC)J>" and j["steps"] == ["Cre"],
        ),
        (
            {"allele": "Tyr<em1(IMPC)J>", "target": ".1"},
            200,
            lambda j: not j["feasible"] and "declared conditional" in j["reason"],
        ),
        (
            {"allele": "Ptprd<tm1e(EUCOMM)Wtsi>", "target": "e.1"},
            200,
            lambda j: j["feasible"] and any("assumed to be promoter-driven" in w for w in j["warnings"]),
        ),
        (
            {"allele": "Atp8a1<tm1(KOMP)Wtsi>", "target": ".1"},
            200,
            lambda j: any("KOMP-CSD deletion" in w for w in j["warnings"]),
        ),
        (
            {"allele": "Zfp462<tm1a(EUCOMMTools)Hmgu>", "target": "tm2b"},
            422,
            lambda j: "keeps the allele's type and serial number" in j["error"],
        ),
        (
            {"allele": "Zfp462<tm2a(EUCOMMTools)Hmgu>", "target": "tm2b"},
            200,
            lambda j: j["step_details"][0]["qc_assays"][:2] == ["Cre PCR", "tm2b PCR"],
        ),
        ({"allele": "Cdk5rap2<tm1a(EUCOMM)wtsi>", "target": "b"}, 422, lambda j: "capital letter" in j["error"]),
        ({"allele": "Cdk5rap2<tm1a(EU<i>COMM</i>)Wtsi>", "target": "b"}, 422, lambda j: "markup" in j["error"]),
        (
            {"allele": "Cdk5rap2<tm1a(EUCOMM)Wtsi>", "target": "b", "design": "conditional"},
            422,
            lambda j: "CRISPR em alleles" in j["error"],
        ),
        (
            {"allele": "Cdk5rap2<sup>tm1a(EUCOMM)Wtsi</sup>", "target": "b"},
            200,
            lambda j: j["product_symbol"] == "Cdk5rap2<tm1b(EUCOMM)Wtsi>",
        ),
    ],
)
def test_feasibility_design_warnings_and_refusals(client, app, body, status, check):
    res = client.post("/api/v1/feasibility", json=body)
    assert res.status_code == status and check(res.get_json()), res.get_json()


def test_warnings_show_on_the_strain_page(seeded, client):
    page = client.get("/strains/EM:06890").get_data(as_text=True)  # Ptprd tm1e
    assert "assumed to be promoter-driven" in page


def test_requests_of_a_conditional_em_strain_convert_to_em1_1(api, seeded, tmp_path):
    _import(seeded, tmp_path, "EM:20010,C57BL/6NTac-Tyr<em3(IMPC)H>/H,Tyr<em3(IMPC)H>,MRC,live,public,conditional,\n")
    req = api.submit("EM:20010", ".1")
    assert req["product_symbol"] == "Tyr<em3.1(IMPC)H>" and req["plan"]["steps"] == ["Cre"]
    done = walk(api, req["id"], "ready", node="MRC")  # founders em3, pups em3.1: recorded as such
    assert done["archived_strain"] == "EM:90001"
    assert [a["allele"] for a in done["records"]["animals"]] == ["em3", "em3.1"]
    strain = api.get("requester", "/strains/EM:90001").get_json()
    assert (strain["allele_symbol"], strain["design"]) == ("Tyr<em3.1(IMPC)H>", None)  # floxed no more
    res = api.post(
        "requester",
        "/requests",
        {"strain": "EM:13101", "target": ".1", "deliverable": "frozen_sperm", "billing": _billing()},
    )
    assert res.status_code == 422 and "declared conditional" in res.get_json()["error"]


def _billing():
    from flows import BILLING_DE

    return BILLING_DE


def test_a_legacy_strain_name_without_its_allele_no_longer_breaks_assign(api, client):
    """Regression: such a row imported, and the request then failed at assign with a 500."""
    from conversion.catalogue.models import Access, Material, Node, Strain
    from conversion.extensions import db

    node = db.session.scalar(select(Node).where(Node.code == "SANG"))
    db.session.add(
        Strain(
            emma_id="EM:21002",
            strain_name="C57BL/6N/Wtsi",
            allele_symbol="Ano7<tm1a(EUCOMM)Wtsi>",
            gene="Ano7",
            holder_node=node,
            material=Material.frozen_sperm,
            access=Access.public,
        )
    )
    db.session.commit()
    rid = api.submit("EM:21002", "b")["id"]
    req = walk(api, rid, "assigned", node="ICS")
    assert req["status"] == "assigned" and req["product_strain_name"] == "Ano7<tm1b(EUCOMM)Wtsi>/Ics"
    found = api.get(None, "/strains?q=Ano7<sup>tm1a").get_json()["items"]
    assert [s["emma_id"] for s in found] == ["EM:21002"]
