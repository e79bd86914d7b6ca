"""Walk requests through the lifecycle over the JSON API (shared by many tests)."""

from __future__ import annotations

from conftest import api_token

BILLING_DE = {
    "organisation": "Universität Heidelberg",
    "address": "Im Neuenheimer Feld 234, 69120 Heidelberg",
    "country": "DE",
    "vat_number": "DE123456788",
    "sector": "academic",
}


class Api:
    """A tiny API client holding one bearer token per demo user."""

    def __init__(self, client):
        self.client = client
        self.tokens: dict[str, str] = {}

    def headers(self, who: str | None) -> dict:
        if who is None:
            return {}
        if who not in self.tokens:
            self.tokens[who] = api_token(self.client, who)
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who, path, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.headers(who), **kw)

    def post(self, who, path, body=None):
        return self.client.post(f"/api/v1{path}", json=body or {}, headers=self.headers(who))

    def ok(self, who, path, body=None, status=(200, 201)):
        res = self.post(who, path, body)
        assert res.status_code in ((status,) if isinstance(status, int) else status), (
            path,
            body,
            res.status_code,
            res.get_json(),
        )
        return res.get_json()

    def fire(self, who, rid, trigger, **body):
        return self.post(who, f"/requests/{rid}/events", {"trigger": trigger, **body})

    def go(self, who, rid, trigger, **body):
        res = self.fire(who, rid, trigger, **body)
        assert res.status_code == 200, (trigger, res.status_code, res.get_json())
        return res.get_json()

    def submit(self, strain="EM:05402", target="c", who="requester", billing=None, **extra):
        """Submit a request. `strain=None`: a fresh strain like EM:05402 (fresh_strain()), for tests
        needing several requests: a product an open request is already making is refused (409)."""
        strain = strain or fresh_strain()
        body = {
            "strain": strain,
            "target": target,
            "deliverable": "frozen_sperm",
            "billing": billing or BILLING_DE,
            **extra,
        }
        return self.ok(who, "/requests", body, status=201)


def fresh_strain(like: str = "EM:05402") -> str:
    """A new public catalogue strain like `like` but of its own gene (Tst1, Tst2 ...), so that each
    request for it makes a different product. Returns its EMMA id (EM:3xxxx)."""
    from sqlalchemy import func, select

    from conversion.catalogue.models import Strain
    from conversion.extensions import db

    model = db.session.scalar(select(Strain).where(Strain.emma_id == like))
    n = (db.session.scalar(select(func.count()).select_from(Strain).where(Strain.gene.like("Tst%"))) or 0) + 1
    symbol = model.allele_symbol.replace(f"{model.gene}<", f"Tst{n}<", 1)
    db.session.add(
        Strain(
            emma_id=f"EM:3{n:04d}",
            strain_name=model.strain_name.replace(model.allele_symbol, symbol),
            allele_symbol=symbol,
            gene=f"Tst{n}",
            holder_node_id=model.holder_node_id,
            material=model.material,
            access=model.access,
        )
    )
    db.session.commit()
    return f"EM:3{n:04d}"


STAFF = {"ICS": "staff_ics", "MRC": "staff_mrc", "HMGU": "staff_hmgu", "UNIOULU": "staff_oulu"}

# Deleter strains known to each demo node, by recombinase (seed data).
DELETER = {
    ("MRC", "Cre"): "C57BL/6NTac-Tg(ACTB-cre)3Mrt/H",
    ("MRC", "Flp"): "B6.Cg-Tg(ACTFLPe)9205Dym/H",
    ("ICS", "Cre"): "Gt(ROSA)26Sor<tm1(ACTB-cre,-EGFP)Ics>",
    ("ICS", "Flp"): "Gt(Rosa)26Sor(CAG-Flpo,-EYFP)Ics",
    ("UNIOULU", "Cre"): "EM:05414",
    ("UNIOULU", "Flp"): "Tg(CAG-Flpo)1Afst",
    ("HMGU", "Cre"): "Gt(ROSA)26Sor<tm16(cre)Arte>",
    ("HMGU", "Flp"): "C57BL/6N-Gt(ROSA)26Sor<tm1(FLP1)Dym>",
}


def walk(api: Api, rid: int, to: str, node: str = "MRC") -> dict:
    """Drive request `rid` from submitted to state `to` recording the lab work each guard needs."""
    staff = STAFF[node]
    order = [
        "approved",
        "assigned",
        "accepted",
        "rederivation",
        "breeding",
        "qc",
        "cryopreservation",
        "ready",
        "shipped",
        "completed",
    ]
    req = api.get("coordinator", f"/requests/{rid}").get_json()
    for state in order[order.index(req["status"]) + 1 if req["status"] in order else 0 :]:
        if state == "approved":
            req = api.go("coordinator", rid, "approve")
        elif state == "assigned":
            req = api.go("coordinator", rid, "assign", node=node)
        elif state == "accepted":
            req = api.go(staff, rid, "accept")
        elif state == "rederivation":
            api.ok(staff, f"/requests/{rid}/paperwork", {"mta_signed_on": "2026-01-15", "po_reference": "PO-1"})
            req = api.go(staff, rid, "start_rederivation")
        elif state == "breeding":
            api.ok(
                staff,
                f"/requests/{rid}/animals",
                {"label": "F0-1", "born_on": "2026-02-01", "sex": "male", "allele": req["source_class"]},
            )
            req = api.go(staff, rid, "start_breeding")
        elif state == "qc":
            req = _breed_step(api, staff, rid, node, req)
        elif state == "cryopreservation":
            while True:
                step = req["step"]
                api.ok(
                    staff,
                    f"/requests/{rid}/qc",
                    {"assay": step_assay(step), "result": "pass", "animal": tested_animal(req)},
                )
                req = api.go(staff, rid, "pass_qc")
                if req["status"] == "cryopreservation":
                    break
                req = _breed_step(api, staff, rid, node, req)
        elif state == "ready":
            api.ok(
                staff,
                f"/requests/{rid}/cryo",
                {
                    "material": "sperm",
                    "count": 20,
                    "location": "Tank 3 / canister 2 / position 14",
                    "test_thaw": "pass",
                },
            )
            req = api.go(staff, rid, "complete_cryopreservation")
        elif state == "shipped":
            api.ok(
                staff,
                f"/requests/{rid}/shipments",
                {
                    "courier": "World Courier",
                    "tracking": "WC-1",
                    "shipped_on": "2026-06-01",
                    "material": "sperm",
                    "quantity": 4,
                },
                status=201,
            )
            req = api.go(staff, rid, "ship")
        elif state == "completed":
            req = api.go("requester", rid, "confirm_delivery")
        if state == to:
            return req
    return req


def tested_animal(req: dict) -> str | None:
    """The label of the latest recorded, not voided animal carrying the step's product."""
    animals = [
        a for a in (req.get("records") or {}).get("animals", []) if not a["voided"] and a["allele"] == req["step"]["to"]
    ]
    return animals[-1]["label"] if animals else None


def step_assay(step: dict) -> str:
    return {"tm1b": "tm1b PCR", "tm1c": "tm1c PCR", "tm1d": "tm1d PCR"}.get(step["to"], "LoA qPCR")


def _breed_step(api: Api, staff: str, rid: int, node: str, req: dict) -> dict:
    step = req["step"]
    api.ok(
        staff,
        f"/requests/{rid}/matings",
        # start_qc needs a mating of the step marked successful (the peers gate excision on one)
        {
            "deleter": DELETER[(node, step["recombinase"])],
            "set_up_on": "2026-03-01",
            "generation": 1,
            "successful": True,
        },
    )
    api.ok(
        staff,
        f"/requests/{rid}/animals",
        {
            "label": f"G2-{step['number']}",
            "born_on": "2026-04-20",
            "sex": "female",
            "allele": step["to"],
            "deleter_transgene": "negative",
        },
    )
    return api.go(staff, rid, "start_qc")
