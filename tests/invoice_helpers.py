"""Shared bits of the invoice tests: billing addresses, PDF text, a request at `accepted`."""

from __future__ import annotations

import subprocess
import tempfile
from datetime import UTC, datetime

from flows import BILLING_DE, fresh_strain, walk

YEAR = datetime.now(UTC).year

BILLING_FR = {
    "organisation": "Institut Pasteur",
    "address": "25-28 rue du Docteur Roux, 75015 Paris",
    "country": "FR",
    "vat_number": None,
    "sector": "academic",
}
BILLING_GB = {
    "organisation": "University of Cambridge",
    "address": "Tennis Court Road, Cambridge CB2 1QJ",
    "country": "GB",
    "vat_number": None,
    "sector": "academic",
}
BILLING_DE_NO_VAT = {**BILLING_DE, "vat_number": None}

# ICS 2026 academic prices (seed): rederivation 1800, conversion step 2200, cryo 1500, frozen shipping 350
ICS_ACADEMIC_TM1C = "5850.00"


def pdf_text(data: bytes) -> str:
    assert data[:5] == b"%PDF-", data[:40]
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        return subprocess.run(["pdftotext", "-layout", f.name, "-"], check=True, capture_output=True, text=True).stdout


def accepted(api, billing=None, node="ICS", strain="EM:05402", target="c", who="requester", **extra) -> int:
    """An accepted request for `strain` (for a strain like it when an open request is already making
    that product: EMMA does not run the same conversion twice)."""
    body = {
        "strain": strain,
        "target": target,
        "deliverable": "frozen_sperm",
        "billing": billing or BILLING_DE,
        **extra,
    }
    res = api.post(who, "/requests", body)
    if res.status_code == 409:
        res = api.post(who, "/requests", {**body, "strain": fresh_strain(strain)})
    assert res.status_code == 201, res.get_json()
    rid = res.get_json()["id"]
    walk(api, rid, "accepted", node=node)
    return rid


def invoice(api, rid, who="staff_ics", body=None, status=201) -> dict:
    res = api.post(who, f"/requests/{rid}/invoices", body)
    assert res.status_code == status, res.get_json()
    return res.get_json()


def pdf_of(api, inv: dict, who="staff_ics") -> bytes:
    res = api.get(who, inv["pdf_url"].removeprefix("/api/v1"))
    assert res.status_code == 200 and res.mimetype == "application/pdf", res.status_code
    return res.data
