"""Drive the HTML pages with a Flask test client (CSRF tokens read from the pages, as a browser)."""

from __future__ import annotations

import re

from conftest import sign_in

TOKEN_RE = re.compile(r'name="([^"]*csrf_token)"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="([^"]*csrf_token)"')

# Form prefixes of the lab forms on the request page.
PREFIX = {
    "paperwork": "paper",
    "matings": "mating",
    "animals": "animals",
    "qc": "qc",
    "cryo": "cryo",
    "shipments": "ship",
    "thaws": "thaw",
    "animals/import": "import",
}

BILLING = {
    "organisation": "Universität Heidelberg",
    "address": "Im Neuenheimer Feld 234\n69120 Heidelberg",
    "country": "DE",
    "vat_number": "DE123456788",
    "sector": "academic",
}


def token(client, path: str, *fallbacks: str) -> str:
    """The CSRF token of the form on `path` (or, when that page is not ours, on a fallback page)."""
    for where in (path, *fallbacks):
        page = client.get(where)
        match = TOKEN_RE.search(page.get_data(as_text=True)) if page.status_code == 200 else None
        if match:
            return match.group(2) or match.group(3)
    if fallbacks:  # no form anywhere for this user: sign the session's token as Flask-WTF does
        return session_token(client)
    raise AssertionError(f"no CSRF token on {path} ({page.status_code})")


def session_token(client) -> str:
    import hashlib
    import os

    from flask import current_app
    from itsdangerous import URLSafeTimedSerializer

    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
    return URLSafeTimedSerializer(current_app.secret_key, salt="wtf-csrf-token").dumps(raw)


# Pages with a form for every role: the request form (requesters), the lists (staff, coordinators).
ANY_FORM = ("/strains/EM:05402/request", "/requests", "/review")


class Web:
    """One signed-in browser-like client."""

    def __init__(self, app, who: str):
        self.client = app.test_client()
        self.who = who
        res = sign_in(self.client, who)
        assert res.status_code == 302, res.get_data(as_text=True)

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def text(self, path: str) -> str:
        res = self.client.get(path)
        assert res.status_code == 200, (path, res.status_code)
        return res.get_data(as_text=True)

    def submit(self, strain="EM:05402", target="c", action="confirm", **fields):
        data = {
            "target": target,
            "deliverable": "frozen_sperm",
            **BILLING,
            "action": action,
            "csrf_token": token(self.client, f"/strains/{strain}/request"),
            **fields,
        }
        return self.client.post(f"/strains/{strain}/request", data=data)

    def new_request(self, strain="EM:05402", target="c", **fields) -> int:
        res = self.submit(strain, target, **fields)
        assert res.status_code == 302, res.get_data(as_text=True)[:2000]
        return int(res.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    def fire(self, rid: int, trigger: str, comment: str = "", next: str | None = None, **fields):
        p = f"a-{trigger}-"
        data = {
            "trigger": trigger,
            p + "csrf_token": token(self.client, f"/requests/{rid}", *ANY_FORM),
            p + "comment": comment,
            **{p + k: v for k, v in fields.items()},
        }
        if next:
            data["next"] = next
        return self.client.post(f"/requests/{rid}/events", data=data)

    def go(self, rid: int, trigger: str, **kw):
        res = self.fire(rid, trigger, **kw)
        assert res.status_code == 302, (trigger, res.status_code, flashes(res.get_data(as_text=True)))
        return res

    def record(self, rid: int, kind: str, **fields):
        p = PREFIX[kind] + "-"
        data = {
            p + "csrf_token": token(self.client, f"/requests/{rid}", *ANY_FORM),
            **{p + k: v for k, v in fields.items()},
        }
        return self.client.post(f"/requests/{rid}/{kind}", data=data)

    def ok(self, rid: int, kind: str, **fields):
        res = self.record(rid, kind, **fields)
        assert res.status_code == 302, (kind, res.status_code, flashes(res.get_data(as_text=True)))
        return res

    def correct(self, rid: int, kind: str, record_id: int, reason: str, version=None, **changes):
        """The record row's correction form (as "Mark successful" or "Correct" post it)."""
        data = {
            "fix-csrf_token": token(self.client, f"/requests/{rid}", *ANY_FORM),
            "fix-reason": reason,
            "fix-version": "" if version is None else str(version),
            **{f"set-{k}": v for k, v in changes.items()},
        }
        return self.client.post(f"/requests/{rid}/{kind}/{record_id}/correct", data=data)

    def void(self, rid: int, kind: str, record_id: int, reason: str, version=None):
        data = {
            "void-csrf_token": token(self.client, f"/requests/{rid}", *ANY_FORM),
            "void-reason": reason,
            "void-version": "" if version is None else str(version),
        }
        return self.client.post(f"/requests/{rid}/{kind}/{record_id}/void", data=data)

    def bulk(self, ids: list[int], trigger: str, **fields):
        data = {
            "csrf_token": token(self.client, "/requests", *ANY_FORM),
            "ids": [str(i) for i in ids],
            "trigger": trigger,
            **fields,
        }
        return self.client.post("/requests/bulk", data=data, follow_redirects=True)


FLASH_RE = re.compile(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', re.S)


def flashes(html: str) -> list[str]:
    import html as h

    return [h.unescape(m.strip()) for m in FLASH_RE.findall(html)]


STAFF = {"ICS": "staff_ics", "MRC": "staff_mrc", "HMGU": "staff_hmgu", "UNIOULU": "staff_oulu"}
DELETER = {
    ("MRC", "Cre"): "C57BL/6NTac-Tg(ACTB-cre)3Mrt/H",
    ("MRC", "Flp"): "B6.Cg-Tg(ACTFLPe)9205Dym/H",
    ("ICS", "Cre"): "Gt(ROSA)26Sor<tm1(ACTB-cre,-EGFP)Ics>",
    ("ICS", "Flp"): "Gt(Rosa)26Sor(CAG-Flpo,-EYFP)Ics",
}
ASSAY = {"tm1b": "tm1b PCR", "tm1c": "tm1c PCR", "tm1d": "tm1d PCR"}


def walk_pages(app, rid: int, node: str = "MRC", until: str = "completed", requester: Web | None = None) -> None:
    """Drive request `rid` from submitted to `until` through the pages (as coordinator, staff, requester)."""
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    def req():
        db.session.expire_all()
        return db.session.get(ConversionRequest, rid)

    coord = Web(app, "coordinator")
    staff = Web(app, STAFF[node])
    steps = [
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
    for state in steps[steps.index(req().status) + 1 if req().status in steps else 0 :]:
        if state == "approved":
            coord.go(rid, "approve")
        elif state == "assigned":
            coord.go(rid, "assign", node=node)
        elif state == "accepted":
            staff.go(rid, "accept")
        elif state == "rederivation":
            staff.ok(rid, "paperwork", mta_signed_on="2026-01-15", po_reference="PO-1")
            staff.go(rid, "start_rederivation")
        elif state == "breeding":
            staff.ok(rid, "animals", **{"0-label": "F0-1", "0-sex": "male", "0-allele": req().source_class})
            staff.go(rid, "start_breeding")
        elif state == "qc":
            _breed(staff, rid, node, req())
        elif state == "cryopreservation":
            while True:
                r = req()
                staff.ok(
                    rid,
                    "qc",
                    assay=ASSAY.get(r.step_product_label, "LoA qPCR"),
                    result="pass",
                    animal=f"G2-{r.current_step}",
                )
                staff.go(rid, "pass_qc")
                if req().status == "cryopreservation":
                    break
                _breed(staff, rid, node, req())
        elif state == "ready":
            staff.ok(rid, "cryo", material="sperm", count="20", location="Tank 3 / canister 2", test_thaw="pass")
            staff.go(rid, "complete_cryopreservation")
        elif state == "shipped":
            staff.ok(
                rid,
                "shipments",
                courier="World Courier",
                tracking="WC-1",
                shipped_on="2026-06-01",
                material="sperm",
                quantity="4",
            )
            staff.go(rid, "ship")
        elif state == "completed":
            (requester or Web(app, "requester")).go(rid, "confirm_delivery")
        if state == until:
            return


def _breed(staff: Web, rid: int, node: str, r) -> None:
    staff.ok(
        rid,
        "matings",
        deleter=DELETER[(node, r.step_recombinase)],
        set_up_on="2026-03-01",
        generation="1",
        successful="yes",  # start_qc needs a successful mating of the step
    )
    staff.ok(
        rid,
        "animals",
        born_on="2026-04-20",
        **{
            "0-label": f"G2-{r.current_step}",
            "0-sex": "female",
            "0-allele": r.step_product_label,
            "0-transgene": "negative",
        },
    )
    staff.go(rid, "start_qc")
