"""Email notifications: outbox rows in the transition's transaction, delivery to a real SMTP
server on loopback, retries with backoff, no double sending, preferences."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from datetime import timedelta

import pytest
from conftest import ROOT, csrf_token
from flows import Api, walk
from mailserver import MailServer, free_port
from sqlalchemy import func, select, update

from conversion.extensions import db, utcnow
from conversion.notifications.models import NotificationPreference, OutboxMessage

REQUESTER, COORDINATOR = "requester@example.org", "coordinator@emma.example"


@pytest.fixture
def api(seeded, client):
    return Api(client)


@pytest.fixture
def smtp(app, monkeypatch):
    """A running SMTP server; the app is configured to use it."""
    server = MailServer().start()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
    monkeypatch.setitem(app.config, "BASE_URL", "https://emma.example")
    yield server
    server.stop()


def outbox_send(app):
    db.session.remove()
    return app.test_cli_runner().invoke(args=["outbox", "send"])


def queued(**where) -> list[OutboxMessage]:
    db.session.expire_all()
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(OutboxMessage, key) == value)
    return list(db.session.scalars(stmt))


def test_a_transition_email_reaches_the_server_exactly_once(app, api, smtp):
    req = api.submit("EM:05402", "c")
    api.go("coordinator", req["id"], "approve", comment="Looks good")
    assert {m.recipient for m in queued()} == {COORDINATOR, REQUESTER}  # submit -> coordinator, approve -> requester

    result = outbox_send(app)
    assert result.exit_code == 0, result.output
    assert "Sent 2, failed 0; 0 message(s) queued." in result.output
    mails = smtp.inbox.to(REQUESTER)
    assert len(mails) == 1
    mail = mails[0]
    assert mail["Subject"] == f"[EMMA] {req['reference']}: Approved by EMMA (Approved)"
    assert mail["From"] == app.config["MAIL_SENDER"]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    link = f"https://emma.example/requests/{req['id']}"
    assert link in text and f'href="{link}"' in html
    assert "Comment: Looks good" in text and "Submitted -> Approved" in text
    assert "https://emma.example/settings/notifications" in text
    assert smtp.inbox.to(COORDINATOR)[0]["Subject"].endswith("Request submitted (Submitted)")
    assert all(m.sent_at is not None and m.attempts == 1 for m in queued())

    again = outbox_send(app)
    assert again.exit_code == 0 and "Sent 0, failed 0" in again.output
    assert len(smtp.inbox.messages) == 2


def test_smtp_down_keeps_the_message_queued_with_backoff_then_delivers_once(app, api, monkeypatch):
    port = free_port()  # nothing listens here yet
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    rid = api.submit("EM:05402", "c")["id"]
    api.go("coordinator", rid, "approve")
    before = utcnow()

    down = outbox_send(app)
    assert down.exit_code == 1 and "ConnectionRefusedError" in down.output
    first, second = queued()
    assert first.attempts == 1 and first.sent_at is None and "Connection" in first.last_error
    assert first.next_attempt_at >= before + timedelta(seconds=55)
    assert second.attempts == 0  # the run stopped at the unreachable server: not counted as tried

    server = MailServer(port=port).start()
    try:
        early = outbox_send(app)  # the server is back, but the first message waits for its backoff
        assert early.exit_code == 0
        assert [m["To"] for m in server.inbox.messages] == [REQUESTER]
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()  # ... time passes
        later = outbox_send(app)
        assert later.exit_code == 0 and "Sent 1, failed 0; 0 message(s) queued." in later.output
        assert sorted(m["To"] for m in server.inbox.messages) == [COORDINATOR, REQUESTER]
        assert outbox_send(app).exit_code == 0
        assert len(server.inbox.messages) == 2
        retried = queued(recipient=COORDINATOR)[0]
        assert retried.attempts == 2 and retried.sent_at is not None and retried.last_error is None
    finally:
        server.stop()


def test_outbox_rows_belong_to_the_transition_transaction(app, api):
    from conversion.accounts.models import User
    from conversion.requests import operations as ops
    from conversion.requests.signals import request_changed

    rid = api.submit("EM:05402", "c")["id"]
    assert api.fire("coordinator", rid, "ship").status_code == 409  # refused: nothing queued
    assert len(queued()) == 1

    def broken_hook(req, event):
        raise RuntimeError("disk full")

    coordinator = db.session.scalar(select(User).where(User.email == COORDINATOR))
    request_changed.connect(broken_hook)
    try:
        with pytest.raises(RuntimeError):
            ops.fire_trigger(coordinator, rid, "approve")
    finally:
        request_changed.disconnect(broken_hook)
    db.session.rollback()
    assert len(queued()) == 1  # the approval email went with the failed transaction
    assert api.get("coordinator", f"/requests/{rid}").get_json()["status"] == "submitted"


def test_a_crash_after_the_commit_still_delivers_on_the_next_send(app, api, smtp):
    """The process that committed the transition dies before anything is sent."""
    rid = api.submit("EM:05402", "c")["id"]
    db.session.remove()
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from sqlalchemy import select
        from conversion import create_app
        from conversion.accounts.models import User
        from conversion.extensions import db
        from conversion.requests import operations as ops
        app = create_app({{"APP_CONFIG": "testing", "LOG_REQUESTS": False,
                          "SQLALCHEMY_DATABASE_URI": {app.config["SQLALCHEMY_DATABASE_URI"]!r}}})
        with app.app_context():
            user = db.session.scalar(select(User).where(User.email == {COORDINATOR!r}))
            ops.fire_trigger(user, {rid}, "approve")   # committed
            os.kill(os.getpid(), signal.SIGKILL)      # dies before any email is sent
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    assert api.get("coordinator", f"/requests/{rid}").get_json()["status"] == "approved"
    assert len(queued(recipient=REQUESTER, sent_at=None)) == 1

    assert outbox_send(app).exit_code == 0
    assert len(smtp.inbox.to(REQUESTER)) == 1
    assert outbox_send(app).exit_code == 0
    assert len(smtp.inbox.to(REQUESTER)) == 1


def test_concurrent_senders_never_send_one_message_twice(app, api, monkeypatch):
    from conversion.notifications import operations as notify

    server = MailServer(delay=0.05).start()
    monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    for _ in range(4):
        rid = api.submit(None, "c")["id"]
        api.go("coordinator", rid, "approve")
    total = len(queued())
    db.session.remove()
    errors = []

    def sender():
        try:
            with app.app_context():
                notify.send_pending()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        server.stop()
    assert not errors
    ids = [m["Message-ID"] for m in server.inbox.messages]
    assert len(ids) == len(set(ids)) == total == 8
    assert not queued(sent_at=None)


def test_who_is_told_about_what(app, api, smtp):
    rid = api.submit("EM:05402", "c")["id"]
    walk(api, rid, "accepted", node="MRC")
    api.go("coordinator", rid, "hold", comment="Waiting for the PO")
    api.go("staff_mrc", rid, "resume", comment="PO arrived")
    api.go("coordinator", rid, "cancel", reason="Stock sourced elsewhere")
    mrc = "staff.mrc@emma.example"
    sent = [(m.recipient, m.category, m.subject.split(": ", 1)[1]) for m in queued()]
    assert sent == [
        (COORDINATOR, "coordination", "Request submitted (Submitted)"),
        (REQUESTER, "my_requests", "Approved by EMMA (Approved)"),
        (REQUESTER, "my_requests", "Assigned to a node (Assigned to a node)"),
        (mrc, "node_queue", "Assigned to a node (Assigned to a node)"),
        (REQUESTER, "my_requests", "Accepted by the node (Accepted by the node)"),
        (REQUESTER, "my_requests", "Put on hold (On hold)"),
        (mrc, "node_queue", "Put on hold (On hold)"),
        (REQUESTER, "my_requests", "Resumed (Accepted by the node)"),
        (COORDINATOR, "coordination", "Resumed (Accepted by the node)"),
        (REQUESTER, "my_requests", "Cancelled (Cancelled)"),
        (mrc, "node_queue", "Cancelled (Cancelled)"),
    ]  # never the person who acted, never staff of another node
    assert "Reason: Stock sourced elsewhere" in queued()[-1].body_text


def test_confidential_strain_emails_go_only_to_people_who_see_the_request(app, api, smtp):
    from conversion.catalogue.models import Access, Strain

    rid = api.submit("EM:05402", "c")["id"]
    db.session.execute(update(Strain).where(Strain.emma_id == "EM:05402").values(access=Access.confidential))
    db.session.commit()  # put under a grace period after the request was made
    walk(api, rid, "accepted", node="ICS")
    assert {m.recipient for m in queued()} == {REQUESTER, COORDINATOR, "staff.ics@emma.example"}
    assert outbox_send(app).exit_code == 0
    assert all(m["To"] in (REQUESTER, COORDINATOR, "staff.ics@emma.example") for m in smtp.inbox.messages)


def test_settings_page_turns_notifications_off(app, api, client, login):
    login(client, "requester")
    page = client.get("/settings/notifications")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'name="my_requests"' in body and "checked" in body and 'name="coordination"' not in body
    assert client.post("/settings/notifications", data={}).status_code == 400  # no CSRF token
    token = csrf_token(client, "/settings/notifications")
    saved = client.post("/settings/notifications", data={"csrf_token": token}, follow_redirects=True)
    assert saved.status_code == 200 and "saved" in saved.get_data(as_text=True)
    pref = db.session.scalar(select(NotificationPreference))
    assert pref.my_requests is False and pref.coordination is True

    rid = api.submit("EM:05402", "c")["id"]
    api.go("coordinator", rid, "approve")
    assert [m.recipient for m in queued()] == [COORDINATOR]  # the requester opted out

    token = csrf_token(client, "/settings/notifications")
    client.post("/settings/notifications", data={"csrf_token": token, "my_requests": "y"})
    api.go("coordinator", rid, "assign", node="MRC")
    assert REQUESTER in {m.recipient for m in queued()}


def test_settings_page_needs_sign_in(client, app):
    res = client.get("/settings/notifications")
    assert res.status_code == 302 and "/login" in res.headers["Location"]


def test_outbox_status_and_progress(app, api, smtp):
    api.submit("EM:05402", "c")
    runner = app.test_cli_runner()
    assert "1 message(s) queued." in runner.invoke(args=["outbox", "status"]).output
    result = runner.invoke(args=["outbox", "send"])
    assert "Sending" in result.output  # the progress bar (on stderr, mixed in by the runner)
    assert (
        db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))) == 0
    )
