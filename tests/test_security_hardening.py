"""Hardening, round two (issue 18, docs/security.md): no 5xx for over-long integers, lone
surrogates, huge decimal exponents, ids past 32 bits, unicode digits, CR/LF in `next`; 503 when
the database is down; a committed decline answers 200; spreadsheet-safe CSV for `,` and `;`
locales; sign-out that ends the session on the server; import column sizes; NFKC emails and
look-alikes; strict dates; price lists from tomorrow; retracted strains flagged; idempotent
parallel submits."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from conftest import DEMO, csrf_token, sign_in
from flows import BILLING_DE, Api, walk
from test_security_input import row_counts
from webflows import session_token

FORMULA = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def api(seeded):
    return Api(seeded.test_client())


def _post_raw(client, path, text, headers=None):
    return client.post(f"/api/v1{path}", data=text, content_type="application/json", headers=headers or {})


# ---- JSON bodies: parsed and bounded in one place -------------------------------------------------
BIG = "9" * 5000
CASES = [  # (who, path, JSON text, expected status, words of the message)
    (None, "/tokens", '{"email": %s, "password": "x"}' % BIG, 400, "too long"),
    (None, "/tokens", '{"email": "\\ud800@example.org", "password": "x"}', 400, "lone surrogate"),
    (None, "/feasibility", '{"allele": "Cdk5rap2<tm1a(EUCOMM)Wtsi>", "target": "c", "x": -%s}' % BIG, 400, "too long"),
    ("requester", "/requests", '{"strain": "\\udc00", "target": "c"}', 400, "lone surrogate"),
    (
        "requester",
        "/requests",
        '{"strain": "EM:05402", "target": "c", "deliverable": "live_animals", '
        '"comment": "ok \\ud83d", "billing": {"organisation": "a", "address": "b", '
        '"country": "DE", "sector": "academic"}}',
        400,
        "lone surrogate",
    ),
    ("staff_mrc", "/requests/{rid}/events", '{"trigger": %s}' % BIG, 400, "too long"),
    ("staff_mrc", "/requests/{rid}/events", '{"trigger": "hold", "comment": "\\udfff"}', 400, "lone surrogate"),
    ("staff_mrc", "/requests/{rid}/paperwork", '{"po_reference": "\\ud800"}', 400, "lone surrogate"),
    ("staff_mrc", "/requests/{rid}/paperwork", '{"mta_signed_on": "20260101"}', 422, "YYYY-MM-DD"),
    ("staff_mrc", "/requests/{rid}/paperwork", '{"mta_signed_on": "2026-W01-1"}', 422, "YYYY-MM-DD"),
    (
        "staff_mrc",
        "/requests/{rid}/matings",
        '{"set_up_on": "2026-01-01", "generation": 4294967296}',
        422,
        "out of range",
    ),
    (
        "staff_mrc",
        "/requests/{rid}/invoices",
        '{"lines": [{"description": "x", "unit_price": "1E+999999999"}]}',
        422,
        "must be a number",
    ),
    (
        "staff_mrc",
        "/requests/{rid}/invoices",
        '{"lines": [{"description": "x", "unit_price": 1E+999999999}]}',
        422,
        "out of range",
    ),
    (
        "staff_mrc",
        "/requests/{rid}/invoices",
        '{"lines": [{"description": "x", "unit_price": "1e-999999999"}]}',
        422,
        "must be a number",
    ),
    (
        "staff_mrc",
        "/requests/{rid}/invoices",
        '{"lines": [{"description": "x", "unit_price": 1, "quantity": %s}]}' % ("1" * 4000),
        400,
        "too long",
    ),
    (
        "staff_mrc",
        "/requests/{rid}/invoices",
        '{"lines": [{"description": "x", "unit_price": NaN}]}',
        400,
        "not a JSON number",
    ),
]


def test_bad_numbers_and_strings_in_json_bodies_are_4xx_and_change_nothing(seeded, api):
    rid = api.submit()["id"]
    walk(api, rid, "accepted", node="MRC")
    client = seeded.test_client()
    for who, path, text, status, words in CASES:
        before = row_counts()
        res = _post_raw(client, path.format(rid=rid), text, api.headers(who))
        assert res.status_code == status and words in res.get_json()["error"], (path, text[:80], res.get_json())
        assert row_counts() == before, path


def test_ids_past_32_bits_are_404_or_ignored(seeded, api, login):
    rid = api.submit()["id"]
    for path in (f"/requests/{2**31}", f"/requests/{2**40}/events", f"/invoices/{2**63}"):
        res = api.get("coordinator", path) if "events" not in path else api.post("coordinator", path, {"trigger": "x"})
        assert res.status_code in (404, 405) and res.is_json, path
    assert api.get("coordinator", f"/invoices?before={2**40}").status_code == 422
    browser = seeded.test_client()
    login(browser, "coordinator")
    for path in (f"/invoices?before={2**40}", f"/admin/security-events?before={2**63}", "/invoices?before=١٢"):
        assert browser.get(path).status_code == 200, path
    token = csrf_token(browser, "/requests")
    res = browser.post(
        "/requests/bulk",
        data={"csrf_token": token, "trigger": "approve", "ids": [str(rid), str(2**40)]},
        follow_redirects=True,
    )
    assert res.status_code == 200 and "Nothing was changed" in res.get_data(as_text=True)
    assert api.get("coordinator", f"/requests/{rid}").get_json()["status"] == "submitted"


def test_crlf_in_next_is_not_followed_after_a_committed_action(seeded, api, login):
    rid = api.submit()["id"]
    browser = seeded.test_client()
    login(browser, "coordinator")
    token = csrf_token(browser, f"/requests/{rid}")
    res = browser.post(
        f"/requests/{rid}/events",
        data={
            "a-approve-csrf_token": token,
            "csrf_token": token,
            "trigger": "approve",
            "next": "/requests\r\nX-Injected: yes",
        },
    )
    assert res.status_code == 302 and "X-Injected" not in res.headers
    assert res.headers["Location"].endswith(f"/requests/{rid}")
    assert api.get("coordinator", f"/requests/{rid}").get_json()["status"] == "approved"
    # and after sign-in
    client = seeded.test_client()
    email, password = DEMO["requester"]
    res = client.post(
        "/login?next=/requests%0d%0aSet-Cookie:%20x=1",
        data={"email": email, "password": password, "csrf_token": csrf_token(client, "/login")},
    )
    assert res.status_code == 302 and res.headers["Location"] == "/" and "x=1" not in res.headers.get("Set-Cookie", "")


# ---- a committed transition answers 200 -----------------------------------------------------------
def test_staff_decline_answers_200_although_the_request_leaves_their_view(seeded, api, login):
    rid = api.submit()["id"]
    walk(api, rid, "assigned", node="MRC")
    res = api.fire("staff_mrc", rid, "decline", comment="No room in the animal house")
    assert res.status_code == 200, res.get_json()
    assert res.get_json()["status"] == "approved" and res.get_json()["node"] is None
    assert api.get("staff_mrc", f"/requests/{rid}").status_code == 404  # and now out of view
    walk(api, rid, "assigned", node="MRC")
    browser = seeded.test_client()
    login(browser, "staff_mrc")
    token = csrf_token(browser, f"/requests/{rid}")
    res = browser.post(
        f"/requests/{rid}/events",
        data={
            "csrf_token": token,
            "a-decline-csrf_token": token,
            "trigger": "decline",
            "a-decline-comment": "Still no room",
        },
        follow_redirects=True,
    )
    assert res.status_code == 200 and "It has left your queue" in res.get_data(as_text=True)


# ---- spreadsheet-safe CSV ---------------------------------------------------------------------------
NASTY = "ACME;=1+1;=cmd|' /C calc'!A0,@SUM(A1),\t=2"
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _spreadsheet_cells(text: str):
    """Every cell a spreadsheet could make of the file: quoted CSV with , or ;, and the same text
    split naively on , ; tab and line ends (importers that ignore quotes)."""
    for delimiter in (",", ";"):
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            yield from row
    for piece in re.split(r"[,;\t\r\n]", text):
        yield piece.strip(' "')


def test_csv_exports_are_safe_with_comma_and_semicolon_separators(seeded, app):
    from invoice_helpers import accepted, invoice

    api = Api(app.test_client())
    rid = accepted(api, {**BILLING_DE, "organisation": NASTY, "address": "-2+3;=1"}, node="ICS")
    invoice(api, rid)
    client = app.test_client()
    sign_in(client, "coordinator")
    checked = 0
    for path in ("/requests.csv", "/invoices.csv"):
        text = client.get(path).get_data(as_text=True)
        if path == "/invoices.csv":  # the customer's organisation
            assert "ACME;'=1+1;'=cmd|' /C calc'!A0,'@SUM(A1)," in text
        for cell in _spreadsheet_cells(text):
            checked += 1
            assert not cell.lstrip(" ").startswith(FORMULA) or NUMBER.fullmatch(cell.strip()), (path, cell)
        assert all(line.startswith('"') for line in text.splitlines() if line), path  # every cell quoted
    assert checked > 50


def test_csv_cell_neutralises_every_piece():
    from conversion.exports import csv_cell

    assert csv_cell("ACME;=1+1;=cmd|' /C calc'!A0") == "ACME;'=1+1;'=cmd|' /C calc'!A0"
    assert csv_cell("a, =1") == "a, '=1" and csv_cell("=1") == "'=1" and csv_cell("\t=1") == "'\t'=1"
    assert csv_cell(Decimal("-1500.00")) == "-1500.00" and csv_cell("-1500.00") == "'-1500.00"
    assert csv_cell("-1+2") == "'-1+2" and csv_cell(None) == ""


# ---- sign-out ends the session on the server ------------------------------------------------------
def test_sign_out_is_post_only_with_csrf_and_a_copied_cookie_stops_working(seeded, app):
    owner, thief = app.test_client(), app.test_client()
    sign_in(owner, "requester")
    other_device = app.test_client()
    sign_in(other_device, "requester")
    cookie = owner.get_cookie("session")
    thief.set_cookie("session", cookie.value)
    assert thief.get("/account").status_code == 200  # the copy works while the session is open
    assert owner.get("/logout").status_code == 405
    assert owner.post("/logout").status_code == 400  # no CSRF token
    assert owner.get("/account").status_code == 200
    res = owner.post("/logout", data={"csrf_token": session_token(owner)})
    assert res.status_code == 302
    res = thief.get("/account")
    assert res.status_code == 302 and "/login" in res.headers["Location"]
    assert other_device.get("/account").status_code == 200  # only that session ended
    from conversion.accounts.models import SecurityEvent
    from conversion.extensions import db

    assert db.session.query(SecurityEvent).filter_by(kind="sign_out").count() == 1


# ---- input rules -------------------------------------------------------------------------------------
def test_import_of_a_150_character_gene_reports_the_line(seeded, tmp_path):
    from conversion.catalogue.models import Strain
    from conversion.extensions import db

    gene = "G" + "x" * 149
    path = tmp_path / "strains.csv"
    path.write_text(
        "emma_id,strain_name,allele_symbol,holder_node,material,access\n"
        "EM:20001,C57BL/6N-Abcd1<tm1a(EUCOMM)Wtsi>/H,Abcd1<tm1a(EUCOMM)Wtsi>,MRC,frozen_sperm,public\n"
        f"EM:20002,C57BL/6N-{gene}<tm1a(EUCOMM)Wtsi>/H,{gene}<tm1a(EUCOMM)Wtsi>,MRC,frozen_sperm,public\n"
        f"EM:20003,C57BL/6N-Abcd2<tm1a(EUCOMM)Wtsi>/H,Abcd2<tm1a(EUCOMM)Wtsi{'x' * 180}>,MRC,live,public\n"
    )
    before = db.session.query(Strain).count()
    res = seeded.test_cli_runner().invoke(args=["strains", "import", str(path)])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "line 3: gene symbol is longer than 100 characters" in res.output, res.output
    assert "line 4: allele_symbol is longer than 180 characters" in res.output, res.output
    assert db.session.query(Strain).count() == before


def test_emails_are_nfkc_normalised_and_look_alikes_refused(seeded, client):
    from conversion.accounts.operations import AccountError, create_user

    user = create_user("ＮＥＷ.Person@Example.org", "a-Good-password-1", "requester")
    assert user.email == "new.person@example.org"
    res = client.post("/api/v1/tokens", json={"email": "ｎｅｗ.person@example.org", "password": "a-Good-password-1"})
    assert res.status_code == 201
    for look_alike in (
        "requester@examp1e.org",
        "r\u0435quester@example.org",
        "requester+x@example.org",
        "Requ.ester@example.org",
        "requester@exampIe.org".replace("I", "l").replace("l", "1"),
        "new.person@xn--exmple-cua.org",
    ):
        with pytest.raises(AccountError, match="looks too much like"):
            create_user(look_alike, "a-Good-password-1", "requester")
    with pytest.raises(AccountError, match="already exists"):
        create_user("NEW.PERSON@example.org", "a-Good-password-1", "requester")


def test_a_new_price_list_starts_tomorrow_at_the_earliest(seeded):
    from conversion.accounts.operations import find_user
    from conversion.errors import Invalid
    from conversion.invoices import operations as ops
    from conversion.invoices.models import Service
    from conversion.requests.models import Sector

    prices = {(s.value, t.value): "100.00" for s in Service for t in Sector}
    coordinator = find_user(DEMO["coordinator"][0])
    with pytest.raises(Invalid, match="tomorrow at the earliest"):
        ops.save_price_list(coordinator, "ICS", valid_from=ops.today(), prices=prices)
    for bad_days in ("٤٥", "４５", "45 ", True, 2**40):
        with pytest.raises(Invalid, match="payment_days"):
            ops.save_price_list(
                coordinator,
                "ICS",
                valid_from=ops.today() + timedelta(days=1),
                prices=prices,
                payment_days=bad_days if bad_days != "45 " else "4 5",
            )
    plist = ops.save_price_list(
        coordinator, "ICS", valid_from=ops.today() + timedelta(days=1), prices=prices, payment_days="45"
    )
    assert plist.payment_days == 45


def test_strict_dates_on_the_lab_forms(seeded, api, login):
    rid = api.submit()["id"]
    walk(api, rid, "accepted", node="MRC")
    browser = seeded.test_client()
    login(browser, "staff_mrc")
    token = csrf_token(browser, f"/requests/{rid}")
    for day in ("2026-1-5", "20260105", "2026-01-05T10:00"):
        res = browser.post(
            f"/requests/{rid}/paperwork",
            data={"paper-csrf_token": token, "paper-mta_signed_on": day, "paper-po_reference": "PO-1"},
            follow_redirects=True,
        )
        assert "YYYY-MM-DD" in res.get_data(as_text=True), day
    paperwork = api.get("staff_mrc", f"/requests/{rid}").get_json()["records"].get("paperwork")
    assert not paperwork or not paperwork.get("mta_signed_on")


def test_requests_on_a_strain_retracted_after_submission_are_flagged_to_coordinators(seeded, api, login):
    from conversion.catalogue.models import Access, Strain
    from conversion.extensions import db

    rid = api.submit()["id"]
    reference = api.get("requester", f"/requests/{rid}").get_json()["reference"]
    assert api.get("coordinator", f"/requests/{rid}").get_json()["strain_retracted"] is False
    db.session.query(Strain).filter_by(emma_id="EM:05402").update({"access": Access.retracted})
    db.session.commit()
    assert api.get("coordinator", f"/requests/{rid}").get_json()["strain_retracted"] is True
    assert "strain_retracted" not in api.get("requester", f"/requests/{rid}").get_json()
    browser = seeded.test_client()
    login(browser, "coordinator")
    page = browser.get("/review").get_data(as_text=True)
    assert "Strain retracted after submission" in page and reference in page
    assert "was retracted from the catalogue after this request" in browser.get(f"/requests/{rid}").get_data(
        as_text=True
    )


# ---- Idempotency-Key ----------------------------------------------------------------------------------
SUBMIT = {"strain": "EM:05402", "target": "c", "deliverable": "frozen_sperm", "billing": BILLING_DE}


def test_a_retry_with_the_same_idempotency_key_answers_the_first_request(seeded, api):
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    headers = {**api.headers("requester"), "Idempotency-Key": "submit-1"}
    first = api.client.post("/api/v1/requests", json=SUBMIT, headers=headers)
    again = api.client.post("/api/v1/requests", json=SUBMIT, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert db.session.query(ConversionRequest).count() == 1
    other = api.client.post("/api/v1/requests", json={**SUBMIT, "target": "d"}, headers=headers)
    assert other.status_code == 409 and first.get_json()["reference"] in other.get_json()["error"]
    bad = api.client.post("/api/v1/requests", json=SUBMIT, headers={**headers, "Idempotency-Key": "x" * 101})
    assert bad.status_code == 422
    # without the key, the same submission is duplicate work (409 naming the first); another product is not
    again = api.client.post("/api/v1/requests", json=SUBMIT, headers=api.headers("requester"))
    assert again.status_code == 409 and first.get_json()["reference"] in again.get_json()["error"]
    assert (
        api.client.post(
            "/api/v1/requests", json={**SUBMIT, "target": "b"}, headers=api.headers("requester")
        ).status_code
        == 201
    )
    assert db.session.query(ConversionRequest).count() == 2


def test_eight_parallel_submits_with_one_idempotency_key_make_one_request(seeded, live_server, api):
    if seeded.config["BACKEND"] != "postgresql":
        pytest.skip("PostgreSQL: parallel writers (SQLite serialises them)")
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    token = api.tokens.get("requester") or api.headers("requester")["Authorization"].split()[1]
    barrier, results = threading.Barrier(8), [None] * 8

    def submit(i):
        req = urllib.request.Request(
            f"{live_server}/api/v1/requests",
            data=json.dumps(SUBMIT).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": "parallel-1",
            },
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                results[i] = (res.status, json.loads(res.read()))
        except urllib.error.HTTPError as exc:
            results[i] = (exc.code, json.loads(exc.read()))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [status for status, _ in results] == [201] * 8, results
    assert len({body["id"] for _, body in results}) == 1
    db.session.expire_all()
    assert db.session.query(ConversionRequest).count() == 1


# ---- the database is down -----------------------------------------------------------------------------
def test_database_outage_answers_503_json_for_the_api_and_a_page_elsewhere():
    from conversion import create_app

    app = create_app(
        {
            "APP_CONFIG": "testing",
            "LOG_REQUESTS": False,
            "READ_CACHE_SECONDS": 0,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2",
        }
    )
    client = app.test_client()
    res = client.get("/api/v1/strains?q=Cdk")
    assert res.status_code == 503 and "not available" in res.get_json()["error"] and res.headers["Retry-After"]
    res = client.post("/api/v1/tokens", json={"email": "a@example.org", "password": "x"})
    assert res.status_code == 503 and res.is_json
    res = client.get("/strains")
    assert res.status_code == 503 and "Service unavailable" in res.get_data(as_text=True)
    assert res.mimetype == "text/html"
