"""The authorization matrix: every role x every page and API endpoint, one table.

Every (method, rule) of app.url_map must have a row: a new endpoint fails this test until its
expected answers are written down here. Objects that are not the caller's are 404 (never 403),
so ids cannot be probed; 403 only says "your role may never do this", whatever the id.

The objects: request R of `requester`, assigned to MRC and accepted, with an issued MRC invoice.
Writes send bodies that pass validation of the shape but are refused by the operation (or harmless),
so an answer of 409/422 means "authorized, and then refused on the merits".
"""

from __future__ import annotations

import io

import pytest
from conftest import api_token, sign_in
from flows import Api, walk
from webflows import session_token

ROLES = ("anonymous", "requester", "other_requester", "node_staff", "other_staff", "coordinator")
DEMO_USER = {
    "requester": "requester",
    "other_requester": "industry",
    "node_staff": "staff_mrc",
    "other_staff": "staff_ics",
    "coordinator": "coordinator",
}
LOGIN = "login"  # a redirect to the sign-in page
A, R, OR, NS, OS, C = ROLES  # noqa: E741  (column order of the table)

# (method, rule): answers for (anonymous, requester, other requester, node staff, other staff, coordinator)
MATRIX: dict[tuple[str, str], tuple] = {
    # ---- public pages
    ("GET", "/"): (200, 200, 200, 200, 200, 200),
    ("GET", "/workflow"): (200, 200, 200, 200, 200, 200),
    ("GET", "/workflow.svg"): (200, 200, 200, 200, 200, 200),
    ("GET", "/healthz"): (200, 200, 200, 200, 200, 200),
    ("GET", "/static/<path:filename>"): (200, 200, 200, 200, 200, 200),
    ("GET", "/strains"): (200, 200, 200, 200, 200, 200),
    ("GET", "/strains/<emma_id>"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/docs"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/openapi.json"): (200, 200, 200, 200, 200, 200),
    # ---- accounts
    ("GET", "/login"): (200, 302, 302, 302, 302, 302),
    ("POST", "/login"): (401, 302, 302, 302, 302, 302),
    ("POST", "/logout"): (302, 302, 302, 302, 302, 302),
    ("GET", "/register"): (200, 302, 302, 302, 302, 302),
    ("POST", "/register"): (400, 302, 302, 302, 302, 302),
    ("GET", "/register/verify/<token>"): (404, 404, 404, 404, 404, 404),
    ("GET", "/reset-password"): (200, 200, 200, 200, 200, 200),
    ("POST", "/reset-password"): (400, 400, 400, 400, 400, 400),
    ("GET", "/reset-password/<token>"): (404, 404, 404, 404, 404, 404),
    ("POST", "/reset-password/<token>"): (404, 404, 404, 404, 404, 404),
    ("GET", "/admin/accounts"): (LOGIN, 403, 403, 403, 403, 200),
    ("POST", "/admin/accounts/<int:request_id>"): (LOGIN, 403, 403, 403, 403, 404),
    ("GET", "/account"): (LOGIN, 200, 200, 200, 200, 200),
    ("POST", "/account"): (LOGIN, 422, 422, 422, 422, 422),
    ("POST", "/account/sign-out-everywhere"): (LOGIN, 302, 302, 302, 302, 302),
    ("GET", "/admin/users"): (LOGIN, 403, 403, 403, 403, 200),
    ("POST", "/admin/users/<int:user_id>"): (LOGIN, 403, 403, 403, 403, 302),
    ("GET", "/admin/security-events"): (LOGIN, 403, 403, 403, 403, 200),
    ("GET", "/settings/notifications"): (LOGIN, 200, 200, 200, 200, 200),
    ("POST", "/settings/notifications"): (LOGIN, 302, 302, 302, 302, 302),
    ("POST", "/archive-watches"): (LOGIN, 302, 302, 302, 302, 302),
    # ---- request pages
    ("GET", "/strains/<emma_id>/request"): (LOGIN, 200, 200, 403, 403, 403),
    ("POST", "/strains/<emma_id>/request"): (LOGIN, 422, 422, 403, 403, 403),
    ("GET", "/requests"): (LOGIN, 200, 200, 200, 200, 200),
    ("GET", "/requests.csv"): (LOGIN, 200, 200, 200, 200, 200),
    ("POST", "/requests/bulk"): (LOGIN, 302, 302, 302, 302, 302),
    ("GET", "/review"): (LOGIN, 403, 403, 403, 403, 200),
    ("GET", "/requests/<int:request_id>"): (LOGIN, 200, 404, 200, 404, 200),
    ("POST", "/requests/<int:request_id>/events"): (LOGIN, 302, 404, 302, 404, 302),
    ("POST", "/requests/<int:request_id>/paperwork"): (LOGIN, 403, 404, 422, 404, 422),
    ("POST", "/requests/<int:request_id>/matings"): (LOGIN, 403, 404, 422, 404, 403),
    ("POST", "/requests/<int:request_id>/animals"): (LOGIN, 403, 404, 422, 404, 403),
    ("POST", "/requests/<int:request_id>/animals/import"): (LOGIN, 403, 404, 409, 404, 403),
    ("POST", "/requests/<int:request_id>/qc"): (LOGIN, 403, 404, 422, 404, 403),
    ("POST", "/requests/<int:request_id>/cryo"): (LOGIN, 403, 404, 422, 404, 403),
    ("POST", "/requests/<int:request_id>/thaws"): (LOGIN, 403, 404, 422, 404, 403),
    ("POST", "/requests/<int:request_id>/shipments"): (LOGIN, 403, 404, 422, 404, 403),
    ("POST", "/requests/<int:request_id>/<kind>/<int:record_id>/correct"): (LOGIN, 403, 404, 422, 404, 403),
    ("POST", "/requests/<int:request_id>/<kind>/<int:record_id>/void"): (LOGIN, 403, 404, 422, 404, 403),
    # ---- dashboards
    ("GET", "/dashboard"): (LOGIN, 403, 403, 200, 200, 200),
    ("GET", "/dashboard/throughput.svg"): (LOGIN, 403, 403, 200, 200, 200),
    ("GET", "/dashboard/time-in-state.svg"): (LOGIN, 403, 403, 200, 200, 200),
    # ---- invoice pages
    ("GET", "/invoices"): (LOGIN, 200, 200, 200, 200, 200),
    ("GET", "/invoices.csv"): (LOGIN, 200, 200, 200, 200, 200),
    ("GET", "/invoices/<int:invoice_id>"): (LOGIN, 200, 404, 200, 404, 200),
    ("POST", "/invoices/<int:invoice_id>/lines"): (LOGIN, 403, 403, 302, 404, 403),
    ("POST", "/invoices/<int:invoice_id>/issue"): (LOGIN, 403, 403, 302, 404, 403),
    ("POST", "/invoices/<int:invoice_id>/delete"): (LOGIN, 403, 403, 302, 404, 403),
    ("POST", "/invoices/<int:invoice_id>/credit-note"): (LOGIN, 403, 403, 302, 404, 302),
    ("POST", "/invoices/<int:invoice_id>/confirm"): (LOGIN, 403, 403, 302, 404, 403),
    ("GET", "/invoices/request/<int:request_id>"): (LOGIN, 200, 404, 200, 404, 200),
    ("GET", "/quotes/new"): (LOGIN, 404, 404, 403, 403, 403),  # without ?strain=
    ("POST", "/quotes/new"): (LOGIN, 404, 404, 403, 403, 403),
    ("GET", "/quotes/<int:quote_id>"): (LOGIN, 200, 404, 200, 404, 200),
    ("POST", "/requests/<int:request_id>/documents"): (LOGIN, 302, 404, 302, 404, 302),
    ("POST", "/requests/<int:request_id>/messages"): (LOGIN, 422, 404, 422, 404, 422),
    ("POST", "/invoices/request/<int:request_id>"): (LOGIN, 302, 404, 302, 404, 302),
    ("GET", "/prices"): (LOGIN, 403, 403, 200, 200, 200),
    ("POST", "/prices"): (LOGIN, 403, 403, 403, 403, 302),
    # ---- API: public
    ("POST", "/api/v1/tokens"): (201, 201, 201, 201, 201, 201),
    ("POST", "/api/v1/feasibility"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/strains"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/strains/<emma_id>"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/reports/derived-alleles"): (401, 403, 403, 403, 403, 200),
    ("POST", "/api/v1/archive-watches"): (401, 422, 422, 422, 422, 422),
    ("GET", "/api/v1/archive-watches"): (401, 200, 200, 200, 200, 200),
    # ---- API: signed in
    ("GET", "/api/v1/me"): (401, 200, 200, 200, 200, 200),
    ("DELETE", "/api/v1/tokens/current"): (401, 204, 204, 204, 204, 204),
    ("POST", "/api/v1/requests"): (401, 422, 422, 403, 403, 403),
    ("GET", "/api/v1/requests"): (401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/requests/<int:request_id>"): (401, 200, 404, 200, 404, 200),
    ("POST", "/api/v1/requests/<int:request_id>/events"): (401, 403, 404, 409, 404, 403),
    ("GET", "/api/v1/requests/<int:request_id>/node-suggestions"): (401, 403, 403, 403, 403, 200),
    ("POST", "/api/v1/requests/<int:request_id>/paperwork"): (401, 403, 404, 422, 404, 422),
    ("POST", "/api/v1/requests/<int:request_id>/matings"): (401, 403, 404, 409, 404, 403),
    ("POST", "/api/v1/requests/<int:request_id>/animals"): (401, 403, 404, 409, 404, 403),
    ("POST", "/api/v1/requests/<int:request_id>/animals/batch"): (401, 403, 404, 409, 404, 403),
    ("POST", "/api/v1/requests/<int:request_id>/qc"): (401, 403, 404, 409, 404, 403),
    ("POST", "/api/v1/requests/<int:request_id>/cryo"): (401, 403, 404, 409, 404, 403),
    ("POST", "/api/v1/requests/<int:request_id>/animals/import"): (401, 403, 404, 409, 404, 403),
    ("POST", "/api/v1/requests/<int:request_id>/litters"): (401, 403, 404, 409, 404, 403),
    ("POST", "/api/v1/requests/<int:request_id>/cryo/<int:cryo_id>/thaws"): (401, 403, 404, 409, 404, 403),
    ("POST", "/api/v1/requests/<int:request_id>/shipments"): (401, 403, 404, 409, 404, 403),
    ("PATCH", "/api/v1/requests/<int:request_id>/<kind>/<int:record_id>"): (401, 403, 404, 404, 404, 403),
    ("POST", "/api/v1/requests/<int:request_id>/<kind>/<int:record_id>/void"): (401, 403, 404, 404, 404, 403),
    ("GET", "/api/v1/requests/<int:request_id>/invoices"): (401, 200, 404, 200, 404, 200),
    ("POST", "/api/v1/requests/<int:request_id>/invoices"): (401, 403, 404, 422, 404, 403),
    ("GET", "/api/v1/requests/<int:request_id>/certificate.pdf"): (401, 409, 404, 409, 404, 409),
    ("POST", "/api/v1/quotes"): (401, 422, 422, 403, 403, 403),
    ("GET", "/api/v1/quotes/<int:quote_id>"): (401, 200, 404, 200, 404, 200),
    ("GET", "/api/v1/quotes/<int:quote_id>.pdf"): (401, 200, 404, 200, 404, 200),
    ("GET", "/api/v1/requests/<int:request_id>/documents"): (401, 200, 404, 200, 404, 200),
    ("POST", "/api/v1/requests/<int:request_id>/documents"): (401, 422, 404, 422, 404, 422),
    ("GET", "/api/v1/requests/<int:request_id>/documents/<int:document_id>"): (401, 200, 404, 200, 404, 200),
    ("GET", "/api/v1/requests/<int:request_id>/messages"): (401, 200, 404, 200, 404, 200),
    ("POST", "/api/v1/requests/<int:request_id>/messages"): (401, 422, 404, 422, 404, 422),
    ("GET", "/api/v1/invoices"): (401, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/invoices/<int:invoice_id>"): (401, 200, 404, 200, 404, 200),
    ("PATCH", "/api/v1/invoices/<int:invoice_id>"): (401, 403, 404, 409, 404, 403),
    ("PUT", "/api/v1/invoices/<int:invoice_id>"): (401, 403, 404, 409, 404, 403),
    ("DELETE", "/api/v1/invoices/<int:invoice_id>"): (401, 403, 404, 409, 404, 403),
    ("POST", "/api/v1/invoices/<int:invoice_id>/issue"): (401, 403, 404, 409, 404, 403),
    ("POST", "/api/v1/invoices/<int:invoice_id>/credit-note"): (401, 403, 404, 422, 404, 422),
    ("GET", "/api/v1/invoices/<int:invoice_id>.pdf"): (401, 200, 404, 200, 404, 200),
}

# Bodies: JSON for the API, form fields for pages (the CSRF token is added). Chosen to be refused
# on the merits (or harmless) once authorized, so that the table does not change the objects.
LINE = {"description": "Extra genotyping", "unit_price": "not-a-number"}
BODIES = {
    ("POST", "/login"): {"email": "nobody@example.org", "password": "wrong-password-1"},
    ("POST", "/account"): {"current": "not-my-password", "new": "Another-pass-1", "repeat": "Another-pass-2"},
    ("POST", "/admin/users/<int:user_id>"): {"role": "staff", "node": ""},  # staff need a node
    ("POST", "/admin/accounts/<int:request_id>"): {"decision": "approve"},  # no such account request
    ("POST", "/settings/notifications"): {},
    ("POST", "/archive-watches"): {"strain": "EM:99999", "target": "c"},
    ("POST", "/api/v1/archive-watches"): {"strain": "EM:99999", "target": "c"},
    ("POST", "/strains/<emma_id>/request"): {"target": "zz", "action": "review"},
    ("POST", "/requests/bulk"): {"trigger": "approve", "ids": "{rid}"},
    ("POST", "/requests/<int:request_id>/events"): {"trigger": "no-such-trigger"},
    ("POST", "/requests/<int:request_id>/paperwork"): {"paper-mta_signed_on": "2999-01-01"},
    ("POST", "/invoices/<int:invoice_id>/lines"): {"description_1": "x", "unit_price_1": "1"},
    ("POST", "/invoices/<int:invoice_id>/credit-note"): {"reason": "", "amount": "-5"},
    ("POST", "/prices"): {"node": "MRC", "valid_from": "not-a-date"},
    ("POST", "/requests/<int:request_id>/documents"): {"kind": "mta"},  # no file
    ("POST", "/requests/<int:request_id>/messages"): {"body": "   "},
    ("POST", "/quotes/new"): {"target": "c", "sector": "academic", "country": "DE"},
    ("POST", "/invoices/<int:invoice_id>/confirm"): {"description_1": "x", "unit_price_1": "1"},
    ("POST", "/api/v1/quotes"): {"strain": "EM:99999", "target": "c", "sector": "academic", "country": "DE"},
    ("POST", "/api/v1/requests/<int:request_id>/messages"): {"body": "   "},
    ("POST", "/api/v1/tokens"): {"email": "requester@example.org", "password": "requester-demo"},
    ("POST", "/api/v1/feasibility"): {"allele": "Cdk5rap2<tm1a(EUCOMM)Wtsi>", "target": "c"},
    ("POST", "/api/v1/requests"): {
        "strain": "EM:99999",
        "target": "c",
        "deliverable": "frozen_sperm",
        "billing": {"organisation": "X", "address": "Y", "country": "DE", "sector": "academic"},
    },
    ("POST", "/api/v1/requests/<int:request_id>/events"): {"trigger": "start_rederivation"},  # no paperwork
    ("POST", "/api/v1/requests/<int:request_id>/paperwork"): {"mta_signed_on": "2999-01-01"},
    ("POST", "/api/v1/requests/<int:request_id>/matings"): {"set_up_on": "2026-01-01", "generation": 1},
    ("POST", "/api/v1/requests/<int:request_id>/animals"): {"label": "A1", "sex": "alien", "allele": "tm1a"},
    ("POST", "/api/v1/requests/<int:request_id>/animals/batch"): {
        "animals": [{"label": "A1", "sex": "alien", "allele": "tm1a"}]
    },
    ("POST", "/api/v1/requests/<int:request_id>/qc"): {"assay": "Cre PCR", "result": "pass"},
    ("POST", "/api/v1/requests/<int:request_id>/cryo"): {"material": "sperm", "count": 1, "location": "T1"},
    ("POST", "/api/v1/requests/<int:request_id>/animals/import"): {"text": "A1,alien,tm1a"},
    ("POST", "/api/v1/requests/<int:request_id>/litters"): {
        "mating": "M1",
        "pups": [{"label": "A1", "sex": "alien", "allele": "tm1a"}],
    },
    ("POST", "/api/v1/requests/<int:request_id>/cryo/<int:cryo_id>/thaws"): {
        "thawed_on": "2026-01-01",
        "result": "pass",
    },
    ("POST", "/api/v1/requests/<int:request_id>/shipments"): {
        "courier": "DHL",
        "tracking": "1",
        "material": "sperm",
        "shipped_on": "2026-01-01",
        "quantity": 1,
    },
    ("PATCH", "/api/v1/requests/<int:request_id>/<kind>/<int:record_id>"): {"sex": "alien", "reason": "Matrix"},
    ("POST", "/api/v1/requests/<int:request_id>/<kind>/<int:record_id>/void"): {"reason": "Matrix"},
    ("POST", "/api/v1/requests/<int:request_id>/invoices"): {"lines": [LINE]},
    ("PATCH", "/api/v1/invoices/<int:invoice_id>"): {"lines": [LINE]},
    ("PUT", "/api/v1/invoices/<int:invoice_id>"): {"lines": [LINE]},
    ("POST", "/api/v1/invoices/<int:invoice_id>/credit-note"): {"reason": "Matrix", "lines": [LINE]},
}

# Rows that sign the caller out or revoke its token: run with fresh credentials.
FRESH = {("POST", "/logout"), ("POST", "/account/sign-out-everywhere"), ("DELETE", "/api/v1/tokens/current")}


def app_endpoints(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}


@pytest.fixture
def world(seeded):
    """R: requester's request, accepted by MRC, with an issued MRC invoice."""
    from conversion.accounts.operations import find_user

    api = Api(seeded.test_client())
    rid = api.submit("EM:05402", "c")["id"]
    walk(api, rid, "accepted", node="MRC")
    invoice = api.ok("staff_mrc", f"/requests/{rid}/invoices", status=201)
    from conversion.extensions import db
    from conversion.invoices.models import Quote

    quote = db.session.query(Quote).filter_by(request_id=rid).one()  # attached at submission (MRC's)
    doc = api.client.post(
        f"/api/v1/requests/{rid}/documents",
        headers=api.headers("requester"),
        data={"kind": "mta", "file": (io.BytesIO(b"%PDF-1.4 matrix"), "m.pdf")},
        content_type="multipart/form-data",
    ).get_json()
    return {
        "request_id": rid,
        "invoice_id": invoice["id"],
        "emma_id": "EM:05402",
        "user_id": find_user("industry@biotech.example").id,
        "filename": "app.css",
        "token": "not-a-valid-token",
        "kind": "animals",
        "record_id": 999999,
        "cryo_id": 999999,
        "quote_id": quote.id,
        "document_id": doc["id"],
    }


class Caller:
    """One role: a signed-in browser session for pages and a bearer token for the API."""

    def __init__(self, app, role: str):
        self.app, self.role = app, role
        self.client = app.test_client()
        self.token = None
        if role != "anonymous":
            assert sign_in(self.client, DEMO_USER[role]).status_code == 302
            self.token = api_token(app.test_client(), DEMO_USER[role])

    def call(self, method: str, path: str, body: dict | None):
        if path.startswith("/api/"):
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            if method in ("GET", "DELETE"):
                return self.client.open(path, method=method, headers=headers)
            return self.client.open(path, method=method, json=body or {}, headers=headers)
        if method == "GET":
            return self.client.get(path)
        data = dict(body or {})
        data["csrf_token"] = session_token(self.client)
        for key in [k for k in data if k.endswith("-csrf_token")]:
            data.pop(key)
        return self.client.open(path, method=method, data=data)


def answer(res) -> int | str:
    if res.status_code == 302 and "/login" in res.headers.get("Location", ""):
        return LOGIN
    return res.status_code


def _path(rule: str, world: dict) -> str:
    for name, value in world.items():
        for conv in ("int:", "path:", ""):
            rule = rule.replace(f"<{conv}{name}>", str(value))
    return rule


def _body(key, world):
    body = BODIES.get(key)
    if body is None:
        return None
    return {k: (v.format(rid=world["request_id"]) if isinstance(v, str) and "{" in v else v) for k, v in body.items()}


def _observe(app, world, keys) -> dict:
    callers = {role: Caller(app, role) for role in ROLES}
    seen = {}
    for key in sorted(keys, key=lambda k: (k in FRESH, k[1], k[0])):
        method, rule = key
        row = []
        for role in ROLES:
            caller = Caller(app, role) if key in FRESH else callers[role]
            res = caller.call(method, _path(rule, world), _body(key, world))
            assert res.status_code < 500, (key, role, res.status_code, res.get_data(as_text=True)[:500])
            row.append(answer(res))
        seen[key] = tuple(row)
    return seen


def test_every_endpoint_is_in_the_matrix(app):
    """New routes must be added to MATRIX with their expected answer for every role."""
    have = app_endpoints(app)
    missing = sorted(have - set(MATRIX), key=lambda k: (k[1], k[0]))
    stale = sorted(set(MATRIX) - have, key=lambda k: (k[1], k[0]))
    message = []
    if missing:
        message.append(
            "Endpoints missing from MATRIX in tests/test_security_matrix.py (add a row "
            "with the answer for "
            + ", ".join(ROLES)
            + "):\n"
            + "\n".join(f"    ({m!r}, {r!r}): (...)," for m, r in missing)
        )
    if stale:
        message.append(
            "Rows of MATRIX for endpoints that no longer exist:\n" + "\n".join(f"    ({m!r}, {r!r})" for m, r in stale)
        )
    assert not message, "\n\n".join(message)


def test_authorization_matrix(world, app):
    """Every role gets the expected answer from every listed page and endpoint."""
    keys = set(MATRIX) & app_endpoints(app)
    seen = _observe(app, world, keys)
    wrong = [
        f"    {key!r}: expected {MATRIX[key]}, got {seen[key]}"
        for key in sorted(keys, key=str)
        if seen[key] != MATRIX[key]
    ]
    assert not wrong, f"columns: {ROLES}\n" + "\n".join(wrong)
    # the bodies are refused on the merits: R and its invoice are as they were
    from conversion.extensions import db
    from conversion.invoices.models import Invoice
    from conversion.requests.models import ConversionRequest

    db.session.expire_all()
    assert db.session.get(ConversionRequest, world["request_id"]).status == "accepted"
    issued = [(i.id, i.kind) for i in db.session.query(Invoice) if i.status == "issued"]
    assert issued == [(world["invoice_id"], "invoice")]  # node staff may have drafted one more
