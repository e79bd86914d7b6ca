"""Request documents (uploads judged by content, 10 MB, SHA-256, files outside the database),
messages with internal notes and their emails, and cancellation reasons worded for requesters."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from conftest import csrf_token
from flows import Api, walk
from invoice_helpers import BILLING_FR, accepted

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture
def api(seeded, client):
    return Api(client)


def upload(api, who, rid, data, name="signed-mta.pdf", kind="mta"):
    return api.client.post(
        f"/api/v1/requests/{rid}/documents",
        headers=api.headers(who),
        data={"kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_upload_list_and_download_unchanged(app, api):
    rid = api.submit("EM:05402", "c")["id"]
    res = upload(api, "requester", rid, PDF, name="MTA signed.pdf")
    assert res.status_code == 201, res.get_json()
    doc = res.get_json()
    assert (doc["name"], doc["kind"], doc["size"]) == ("MTA signed.pdf", "mta", len(PDF))
    assert doc["sha256"] == hashlib.sha256(PDF).hexdigest() and doc["content_type"] == "application/pdf"
    for data, kind in ((PNG, "import_permit"), (JPEG, "health_report")):
        assert upload(api, "requester", rid, data, name="scan.bin", kind=kind).status_code == 201
    items = api.get("coordinator", f"/requests/{rid}/documents").get_json()["items"]
    assert [(i["kind"], i["content_type"]) for i in items] == [
        ("mta", "application/pdf"),
        ("import_permit", "image/png"),
        ("health_report", "image/jpeg"),
    ]
    got = api.get("coordinator", doc["url"].removeprefix("/api/v1"))
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    # the bytes live in the configured directory, under their SHA-256; the row only describes them
    stored = Path(app.config["DOCUMENTS_DIR"]) / doc["sha256"][:2] / doc["sha256"]
    assert stored.read_bytes() == PDF
    from conversion.documents.models import RequestDocument

    assert "data" not in RequestDocument.__table__.c and "content" not in RequestDocument.__table__.c


@pytest.mark.parametrize(
    "data, name, kind, status, fragment",
    [
        (b"just text, named like a PDF", "fake.pdf", "mta", 422, "judged by their content"),
        (b"GIF89a" + b"\x00" * 20, "x.gif", "other", 422, "PDF, PNG and JPEG"),
        (b"", "empty.pdf", "mta", 422, "empty"),
        (PDF, "mta.pdf", "invoice", 422, "kind"),
        (PDF[:5] + b"\x00" * (10 * 1024 * 1024), "big.pdf", "mta", 413, "10 MB"),
    ],
)
def test_upload_refusals_keep_nothing(app, api, data, name, kind, status, fragment):
    from conversion.documents.models import RequestDocument
    from conversion.extensions import db

    rid = api.submit("EM:05402", "c")["id"]
    res = upload(api, "requester", rid, data, name=name, kind=kind)
    assert res.status_code == status, res.get_json()
    assert fragment.lower() in res.get_json()["error"].lower()
    assert db.session.query(RequestDocument).count() == 0


def test_exactly_ten_megabytes_is_accepted(api):
    rid = api.submit("EM:05402", "c")["id"]
    data = PDF[:5] + b"\x00" * (10 * 1024 * 1024 - 5)
    res = upload(api, "requester", rid, data)
    assert res.status_code == 201 and res.get_json()["size"] == 10 * 1024 * 1024


def test_documents_are_seen_only_by_who_sees_the_request(api):
    rid = accepted(api, BILLING_FR, node="ICS")
    doc = upload(api, "requester", rid, PDF).get_json()
    path = doc["url"].removeprefix("/api/v1")
    assert api.get("staff_ics", path).data == PDF
    for who in ("staff_mrc", "industry"):
        assert api.get(who, path).status_code == 404
        assert api.get(who, f"/requests/{rid}/documents").status_code == 404
        assert upload(api, who, rid, PDF).status_code == 404
    assert api.get(None, path).status_code == 401
    assert api.get("staff_ics", f"/requests/{rid}/documents/{doc['id'] + 99}").status_code == 404


def test_upload_from_the_page_and_mark_the_mta_signed(app, api, login):
    rid = accepted(api, BILLING_FR, node="ICS")
    browser = app.test_client()
    login(browser, "requester")
    token = csrf_token(browser, f"/requests/{rid}")
    res = browser.post(
        f"/requests/{rid}/documents",
        data={"csrf_token": token, "kind": "mta", "file": (io.BytesIO(PDF), "mta.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = res.get_data(as_text=True)
    assert (
        "Signed Material Transfer Agreement uploaded: mta.pdf" in page and hashlib.sha256(PDF).hexdigest()[:12] in page
    )
    refused = browser.post(
        f"/requests/{rid}/documents",
        data={"csrf_token": token, "kind": "mta", "file": (io.BytesIO(b"hello"), "x.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "judged by their content" in refused.get_data(as_text=True)
    no_csrf = browser.post(
        f"/requests/{rid}/documents",
        data={"kind": "mta", "file": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert no_csrf.status_code == 400
    staff = app.test_client()
    login(staff, "staff_ics")
    page = staff.get(f"/requests/{rid}").get_data(as_text=True)
    assert 'name="paper-mta_signed_on"' in page
    token = csrf_token(staff, f"/requests/{rid}")
    staff.post(f"/requests/{rid}/paperwork", data={"csrf_token": token, "paper-mta_signed_on": "2026-03-02"})
    paper = api.get("staff_ics", f"/requests/{rid}").get_json()["records"]["paperwork"]
    assert paper["mta_signed_on"] == "2026-03-02"


# ---- messages ---------------------------------------------------------------------------
def _outbox(app):
    from conversion.extensions import db
    from conversion.notifications.models import OutboxMessage

    db.session.rollback()
    return (
        db.session.query(OutboxMessage)
        .filter(OutboxMessage.subject.contains("message") | OutboxMessage.subject.contains("note"))
        .all()
    )


def test_messages_thread_with_internal_notes_and_emails(app, api):
    rid = api.submit("EM:05402", "c")["id"]
    res = api.post("requester", f"/requests/{rid}/messages", {"body": "Can you ship before August?"})
    assert res.status_code == 201 and res.get_json()["internal"] is False
    # not assigned yet: the coordinators hear of it
    assert {m.recipient for m in _outbox(app)} == {"coordinator@emma.example"}
    walk(api, rid, "accepted", node="ICS")
    api.ok("requester", f"/requests/{rid}/messages", {"body": "PO follows next week."})
    assert "staff.ics@emma.example" in {m.recipient for m in _outbox(app)}
    note = api.post("staff_ics", f"/requests/{rid}/messages", {"body": "Customer paid late before.", "internal": True})
    assert note.status_code == 201
    notes = [m for m in _outbox(app) if "internal note" in m.subject]
    assert {m.recipient for m in notes} == {"coordinator@emma.example"}  # never the requester
    api.ok("staff_ics", f"/requests/{rid}/messages", {"body": "Yes, shipping in July."})
    to_requester = [m for m in _outbox(app) if m.recipient == "requester@example.org"]
    assert len(to_requester) == 1 and "shipping in July" in to_requester[0].body_text
    seen = api.get("requester", f"/requests/{rid}/messages").get_json()["items"]
    assert [m["body"] for m in seen] == [
        "Can you ship before August?",
        "PO follows next week.",
        "Yes, shipping in July.",
    ]
    staff_seen = api.get("staff_ics", f"/requests/{rid}/messages").get_json()["items"]
    assert [m["internal"] for m in staff_seen] == [False, False, True, False]


@pytest.mark.parametrize(
    "who, body, status, fragment",
    [
        ("requester", {"body": "Secret?", "internal": True}, 403, "EMMA staff only"),
        ("requester", {"body": "   "}, 422, "body is required"),
        ("requester", {"body": "x" * 4001}, 422, "4000"),
        ("staff_mrc", {"body": "Hello"}, 404, "not yours"),
        ("industry", {"body": "Hello"}, 404, "not yours"),
    ],
)
def test_message_refusals_store_nothing(app, api, who, body, status, fragment):
    from conversion.extensions import db
    from conversion.requests.models import RequestMessage

    rid = accepted(api, BILLING_FR, node="ICS")
    res = api.post(who, f"/requests/{rid}/messages", body)
    assert res.status_code == status, res.get_json()
    assert fragment.lower() in res.get_json()["error"].lower()
    assert db.session.query(RequestMessage).count() == 0 and _outbox(app) == []


def test_messages_in_the_page_timeline_and_notes_hidden_from_requesters(app, api, login):
    rid = accepted(api, BILLING_FR, node="ICS")
    staff = app.test_client()
    login(staff, "staff_ics")
    token = csrf_token(staff, f"/requests/{rid}")
    staff.post(f"/requests/{rid}/messages", data={"csrf_token": token, "body": "Internal: slow payer", "internal": "y"})
    res = staff.post(
        f"/requests/{rid}/messages", data={"csrf_token": token, "body": "Thaw booked for Monday"}, follow_redirects=True
    )
    page = res.get_data(as_text=True)
    assert "Message sent." in page and "Internal: slow payer" in page and "EMMA staff only" in page
    requester = app.test_client()
    login(requester, "requester")
    page = requester.get(f"/requests/{rid}").get_data(as_text=True)
    assert "Thaw booked for Monday" in page and "slow payer" not in page and 'name="internal"' not in page
    token = csrf_token(requester, f"/requests/{rid}")
    refused = requester.post(f"/requests/{rid}/messages", data={"csrf_token": token, "body": "psst", "internal": "y"})
    assert refused.status_code == 403 and "psst" in refused.get_data(as_text=True)
    timeline = page[page.index('id="tl-h"') :]
    assert timeline.index("Accepted by the node") < timeline.index("Thaw booked for Monday")


def test_a_message_with_a_lone_surrogate_is_400_and_stores_nothing(app, api):
    from conversion.extensions import db
    from conversion.requests.models import RequestMessage

    rid = api.submit("EM:05402", "c")["id"]
    res = api.client.post(
        f"/api/v1/requests/{rid}/messages",
        data=b'{"body": "hi \\ud800"}',
        content_type="application/json",
        headers=api.headers("requester"),
    )
    assert res.status_code == 400 and "surrogate" in res.get_json()["error"]
    assert db.session.query(RequestMessage).count() == 0


# ---- cancellation reasons ------------------------------------------------------------------
def test_requesters_cancel_in_their_words_and_emma_keeps_its_slugs(app, api, login):
    rid = api.submit("EM:05402", "c")["id"]
    browser = app.test_client()
    login(browser, "requester")
    page = browser.get(f"/requests/{rid}").get_data(as_text=True)
    assert "I no longer need the strain" in page and "No response from client" not in page
    assert "QC failed" not in page
    token = csrf_token(browser, f"/requests/{rid}")
    browser.post(
        f"/requests/{rid}/events",
        data={
            "a-cancel-csrf_token": token,
            "a-cancel-trigger": "cancel",
            "trigger": "cancel",
            "a-cancel-reason": "no_longer_required",
        },
    )
    req = api.get("coordinator", f"/requests/{rid}").get_json()
    assert req["status"] == "cancelled" and req["history"][-1]["data"]["reason"] == "no_longer_required"
    assert "Reason: I no longer need the strain" in browser.get(f"/requests/{rid}").get_data(as_text=True)
    coordinator = app.test_client()
    login(coordinator, "coordinator")
    assert "Reason: Strain no longer required" in coordinator.get(f"/requests/{rid}").get_data(as_text=True)
