"""Accounts a newcomer can get, end to end with a real SMTP server on loopback (aiosmtpd):
/register (a one-time emailed link confirms the address, then a coordinator approves) and
/reset-password (a one-time, expiring, single-use link; stored hashed; the same answer for
known and unknown addresses; every session and token ends). Rate-limited like sign-in."""

from __future__ import annotations

import hashlib
import re
import time

import pytest
from conftest import DEMO, csrf_token, sign_in
from mailserver import MailServer
from sqlalchemy import select, text, update

from conversion.extensions import db, utcnow

NEWBIE = "newbie@lab.example.org"
PASSWORD = "Mice-and-men-2026"


@pytest.fixture
def smtp(seeded, monkeypatch):
    server = MailServer().start()
    monkeypatch.setitem(seeded.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(seeded.config, "MAIL_PORT", server.port)
    monkeypatch.setitem(seeded.config, "BASE_URL", "https://emma.example")
    yield server
    server.stop()


def mails_to(smtp, address: str, count: int = 1) -> list:
    """The emails to `address`, waiting for the background senders."""
    from conversion.accounts.mail import wait_for_mail

    wait_for_mail()
    for _ in range(50):
        if len(smtp.inbox.to(address)) >= count:
            break
        time.sleep(0.1)
    return smtp.inbox.to(address)


def link_in(mail, path: str) -> str:
    body = mail.get_body(("plain",)).get_content()
    match = re.search(rf"https://emma\.example({path}/[A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


def stored_anywhere(value: str) -> bool:
    """Whether `value` is in any text column of the outbox, the tokens or the account requests."""
    db.session.rollback()
    for table, columns in (
        ("outbox_messages", ("body_text", "body_html")),
        ("one_time_tokens", ("token_hash",)),
        ("account_requests", ("password_hash",)),
        ("security_events", ("detail",)),
    ):
        for column in columns:
            if db.session.execute(
                text(f"SELECT count(*) FROM {table} WHERE {column} LIKE :v"), {"v": f"%{value}%"}
            ).scalar():
                return True
    return False


def post_form(client, path: str, **fields):
    return client.post(path, data={"csrf_token": csrf_token(client, path), **fields})


def register(client, email=NEWBIE, password=PASSWORD, repeat=None, **extra):
    return post_form(
        client,
        "/register",
        email=email,
        name="Ada Newbie",
        organisation="Lab of Mice",
        password=password,
        repeat=repeat or password,
        **extra,
    )


def test_register_verify_approve_then_sign_in(seeded, smtp):
    from conversion.accounts.models import AccountRequest, OneTimeToken, User
    from conversion.notifications.models import OutboxMessage

    client = seeded.test_client()
    assert "Ask for one" in client.get("/login").get_data(as_text=True)
    res = register(client)
    assert res.status_code == 200 and "a link to confirm it is on its way" in res.get_data(as_text=True)
    [mail] = mails_to(smtp, NEWBIE)
    assert mail["Subject"] == "[EMMA] Confirm your email address"
    path = link_in(mail, "/register/verify")
    token = path.rsplit("/", 1)[1]
    stored = db.session.scalar(select(OneTimeToken).where(OneTimeToken.kind == "verify_email"))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and not stored_anywhere(token)
    assert stored.expires_at - utcnow() > __import__("datetime").timedelta(hours=47)
    assert not stored_anywhere(PASSWORD)
    # not an account yet: signing in fails like any wrong password
    res = client.post("/api/v1/tokens", json={"email": NEWBIE, "password": PASSWORD})
    assert res.status_code == 401

    page = client.get(path)
    assert page.status_code == 200 and "is confirmed" in page.get_data(as_text=True)
    assert client.get(path).status_code == 404  # single use
    db.session.expire_all()
    assert db.session.scalar(select(AccountRequest.status)) == "pending"
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject.contains(NEWBIE))).all()
    assert {m.recipient for m in told} == {DEMO["coordinator"][0]}

    coordinator = seeded.test_client()
    sign_in(coordinator, "coordinator")
    listing = coordinator.get("/admin/accounts").get_data(as_text=True)
    assert NEWBIE in listing and "Lab of Mice" in listing
    request_id = db.session.scalar(select(AccountRequest.id))
    staff = seeded.test_client()
    sign_in(staff, "staff_mrc")
    assert post_form(staff, f"/admin/accounts/{request_id}", decision="approve").status_code == 403
    res = post_form(coordinator, f"/admin/accounts/{request_id}", decision="approve")
    assert res.status_code == 302
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == NEWBIE))
    assert user.role.value == "requester" and user.name == "Ada Newbie" and user.organisation == "Lab of Mice"
    assert "No account request is waiting" in coordinator.get("/admin/accounts").get_data(as_text=True)
    assert (
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == NEWBIE)).one().subject
        == "[EMMA] Your account request was approved"
    )
    res = client.post("/api/v1/tokens", json={"email": NEWBIE, "password": PASSWORD})
    assert res.status_code == 201


def test_register_answers_the_same_for_an_existing_account_and_refuses_look_alikes(seeded, smtp):
    from conversion.accounts.models import AccountRequest

    client = seeded.test_client()
    known = register(client, email=DEMO["requester"][0])
    assert known.status_code == 200 and "a link to confirm it is on its way" in known.get_data(as_text=True)
    [mail] = mails_to(smtp, DEMO["requester"][0])
    assert mail["Subject"] == "[EMMA] You already have an account"
    assert "/reset-password" in mail.get_body(("plain",)).get_content()
    for look_alike in ("requester@examp1e.org", "r\u0435quester@example.org", "Requester+new@example.org"):
        res = register(seeded.test_client(), email=look_alike)
        assert res.status_code == 422 and "looks too much like" in res.get_data(as_text=True), look_alike
    res = register(seeded.test_client(), email="other@lab.example.org", repeat="Mice-and-men-2027")
    assert res.status_code == 422 and "differ" in res.get_data(as_text=True)
    res = register(seeded.test_client(), email="other@lab.example.org", password="short", repeat="short")
    assert res.status_code == 422 and "too short" in res.get_data(as_text=True)
    assert db.session.query(AccountRequest).count() == 0
    # NFKC: a full-width address is the plain one
    assert register(seeded.test_client(), email="ｆｕｌｌ@lab.example.org").status_code == 200
    assert db.session.scalar(select(AccountRequest.email)) == "full@lab.example.org"


def _reset_page(client, email):
    res = post_form(client, "/reset-password", email=email)
    body = re.sub(r'value="[^"]+"', "", res.get_data(as_text=True)).replace(email, "EMAIL")
    return res.status_code, body


def test_reset_password_end_to_end(seeded, smtp, auth):
    from conversion.accounts.models import OneTimeToken

    email, old_password = DEMO["staff_mrc"]
    signed_in = seeded.test_client()
    sign_in(signed_in, "staff_mrc")
    headers = auth(seeded.test_client(), "staff_mrc")
    client = seeded.test_client()
    assert "Forgot your password?" in client.get("/login").get_data(as_text=True)

    known = _reset_page(client, email)
    unknown = _reset_page(seeded.test_client(), "nobody@nowhere.example")
    assert known == unknown and known[0] == 200 and "If an account exists for EMAIL" in known[1]
    _reset_page(client, email)  # a second link: both end when the password is reset
    mails = mails_to(smtp, email, count=2)
    assert len(mails) == 2 and not smtp.inbox.to("nobody@nowhere.example")
    first, second = (link_in(m, "/reset-password") for m in mails)
    token = second.rsplit("/", 1)[1]
    assert not stored_anywhere(token)
    assert (
        db.session.scalar(
            select(OneTimeToken.token_hash).where(OneTimeToken.token_hash == hashlib.sha256(token.encode()).hexdigest())
        )
        is not None
    )

    page = client.get(second)
    assert page.status_code == 200 and "Choose a new password" in page.get_data(as_text=True)
    res = client.post(
        second, data={"csrf_token": csrf_token(client, second), "new": "New-pass-2026x", "repeat": "New-pass-2026y"}
    )
    assert res.status_code == 422 and "differ" in res.get_data(as_text=True)
    res = client.post(
        second, data={"csrf_token": csrf_token(client, second), "new": "New-pass-2026x", "repeat": "New-pass-2026x"}
    )
    assert res.status_code == 302 and res.headers["Location"].endswith("/login")

    assert client.get(second).status_code == 404 and client.get(first).status_code == 404  # single use, all end
    res = signed_in.get("/account")
    assert res.status_code == 302 and "/login" in res.headers["Location"]  # the other session ended
    assert seeded.test_client().get("/api/v1/me", headers=headers).status_code == 401  # and the API token
    assert client.post("/api/v1/tokens", json={"email": email, "password": old_password}).status_code == 401
    assert client.post("/api/v1/tokens", json={"email": email, "password": "New-pass-2026x"}).status_code == 201


def test_an_expired_reset_link_does_not_work(seeded, smtp):
    from conversion.accounts.models import OneTimeToken

    email = DEMO["requester"][0]
    _reset_page(seeded.test_client(), email)
    path = link_in(mails_to(smtp, email)[0], "/reset-password")
    db.session.execute(update(OneTimeToken).values(expires_at=utcnow()))
    db.session.commit()
    client = seeded.test_client()
    assert client.get(path).status_code == 404
    res = client.post(
        path,
        data={"csrf_token": csrf_token(client, "/reset-password"), "new": "New-pass-2026x", "repeat": "New-pass-2026x"},
    )
    assert res.status_code == 404
    assert client.post("/api/v1/tokens", json={"email": email, "password": DEMO["requester"][1]}).status_code == 201


def test_reset_and_register_are_rate_limited_like_sign_in(seeded, smtp):
    client = seeded.test_client()
    answers = [_reset_page(client, "someone@lab.example.org")[0] for _ in range(6)]
    assert answers == [200] * 5 + [429]
    answers = [register(client, email="flood@lab.example.org").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    mails_to(smtp, "flood@lab.example.org")
