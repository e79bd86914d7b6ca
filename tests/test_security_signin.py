"""Sign-in: lockouts (per account, per address, kept in the database), the same answer for unknown
accounts, session fixation, sign-out everywhere, password change, role changes, the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import DEMO, csrf_token, sign_in
from sqlalchemy import select, update
from webflows import session_token


def _login(client, email, password, address="127.0.0.1"):
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def _token(client, email, password, address="127.0.0.1"):
    return client.post(
        "/api/v1/tokens", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def _events(kind=None):
    from conversion.accounts.models import SecurityEvent
    from conversion.extensions import db

    db.session.expire_all()
    stmt = select(SecurityEvent).order_by(SecurityEvent.id)
    if kind:
        stmt = stmt.where(SecurityEvent.kind == kind)
    return list(db.session.scalars(stmt))


def _age_events(minutes: int) -> None:
    """Move every security event `minutes` into the past (as if time had passed)."""
    from conversion.accounts.models import SecurityEvent
    from conversion.extensions import db, utcnow

    for event in _events():
        db.session.execute(
            update(SecurityEvent).where(SecurityEvent.id == event.id).values(at=event.at - timedelta(minutes=minutes))
        )
    db.session.commit()
    assert all(e.at < utcnow() for e in _events())


# ---- lockouts -------------------------------------------------------------------------
def test_five_failures_lock_the_account_for_fifteen_minutes(seeded, client):
    email, password = DEMO["requester"]
    for _ in range(5):
        res = _login(client, email, "wrong-password-1")
        assert res.status_code == 401 and "Unknown email or wrong password" in res.get_data(as_text=True)
    locked = _login(client, email, password)  # even the right password
    assert locked.status_code == 429 and "try again in 15 minutes" in locked.get_data(as_text=True)
    assert _token(client, email, password).status_code == 429  # the API shares the counters
    assert _login(client, *DEMO["coordinator"]).status_code == 302  # other accounts are not locked
    client.post("/logout", data={"csrf_token": session_token(client)})
    [lockout] = _events("lockout_account")
    assert lockout.email == email and lockout.address == "127.0.0.1"
    _age_events(16)
    assert _login(client, email, password).status_code == 302


def test_page_and_api_failures_add_up(seeded, client):
    email, password = DEMO["staff_ics"]
    for _ in range(3):
        assert _login(client, email, "wrong-password-1").status_code == 401
    for _ in range(2):
        res = _token(client, email.upper(), "wrong-password-1")  # any case: the same account
        assert res.status_code == 401 and res.get_json() == {"error": "Unknown email or wrong password."}
    res = _token(client, email, password)
    assert res.status_code == 429 and "try again" in res.get_json()["error"]


def test_failures_older_than_the_window_or_before_a_success_do_not_count(seeded, client):
    email, password = DEMO["requester"]
    for _ in range(4):
        _login(client, email, "wrong-password-1")
    _age_events(16)
    for _ in range(4):
        _login(client, email, "wrong-password-1")
    assert _login(client, email, password).status_code == 302  # 4 in the window: not locked
    client.post("/logout", data={"csrf_token": session_token(client)})
    for _ in range(4):
        _login(client, email, "wrong-password-1")
    assert _login(client, email, password).status_code == 302  # the success reset the count
    assert not _events("lockout_account")


def test_unknown_accounts_lock_and_answer_exactly_like_real_ones(seeded):
    def run(email):
        client = seeded.test_client()
        pages = [_login(client, email, "wrong-password-1") for _ in range(6)]
        return [
            (r.status_code, r.get_data(as_text=True).split("<main", 1)[1].split("</main>")[0].replace(email, "EMAIL"))
            for r in pages
        ]

    real, unknown = run("coordinator@emma.example"), run("nobody@emma.example")
    import re

    def strip_token(rows):
        return [(code, re.sub(r'value="[^"]*"', "", body)) for code, body in rows]

    assert strip_token(real) == strip_token(unknown)
    assert [code for code, _ in real] == [401] * 5 + [429]


def test_twenty_failures_lock_the_address(seeded, client):
    for n in range(20):
        res = _token(client, f"guess{n}@example.org", "wrong-password-1", address="203.0.113.9")
        assert res.status_code == 401
    # a real account from that address is refused; from another address it signs in
    assert _token(client, *DEMO["requester"], address="203.0.113.9").status_code == 429
    assert _login(client, *DEMO["requester"], address="203.0.113.9").status_code == 429
    assert _token(client, *DEMO["requester"], address="198.51.100.7").status_code == 201
    [lockout] = _events("lockout_address")
    assert lockout.address == "203.0.113.9"


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(seeded):
    from conversion import create_app

    client = seeded.test_client()
    for n in range(3):
        _token(client, f"x{n}@example.org", "wrong-password-1")
    spoofed = client.post(
        "/api/v1/tokens",
        json={"email": "y@example.org", "password": "wrong-password-1"},
        headers={"X-Forwarded-For": "192.0.2.1"},
    )
    assert spoofed.status_code == 401
    assert {e.address for e in _events("sign_in_failed")} == {"127.0.0.1"}
    proxied = create_app(
        {
            "APP_CONFIG": "testing",
            "TRUSTED_PROXIES": 1,
            "SQLALCHEMY_DATABASE_URI": seeded.config["SQLALCHEMY_DATABASE_URI"],
        }
    )
    with proxied.app_context():
        res = proxied.test_client().post(
            "/api/v1/tokens",
            json={"email": "z@example.org", "password": "nope-nope-1"},
            headers={"X-Forwarded-For": "192.0.2.1"},
        )
        assert res.status_code == 401
        from conversion.extensions import db

        db.session.remove()
        db.engine.dispose()
    assert _events("sign_in_failed")[-1].address == "192.0.2.1"


def test_unknown_and_known_accounts_cost_the_same_hashing(seeded, monkeypatch):
    """Unknown accounts run one key derivation of the same method as a wrong password does, so
    the answer takes as long either way (counted, not timed: timings are for benchmarks)."""
    import werkzeug.security as ws

    calls = []
    real = ws._hash_internal

    def counting(method, salt, password):
        calls.append(method.split(":")[0])
        return real(method, salt, password)

    monkeypatch.setattr(ws, "_hash_internal", counting)
    client = seeded.test_client()
    assert _token(client, "requester@example.org", "wrong-password-1").status_code == 401
    known, calls[:] = list(calls), []
    assert _token(client, "nobody@example.org", "wrong-password-1").status_code == 401
    assert known == calls and len(calls) == 1, (known, calls)


# ---- sessions -------------------------------------------------------------------------
def test_sign_in_starts_a_new_session(seeded, client):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        before = dict(session)
    assert sign_in(client, "requester").status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != before.get("csrf_token")  # a new CSRF secret too
        assert session["_user_id"].endswith(":1") and session["_fresh"] is True


def test_session_cookie_of_a_deactivated_user_stops_working(seeded, client):
    from conversion.accounts.operations import find_user
    from conversion.extensions import db

    sign_in(client, "requester")
    assert client.get("/account").status_code == 200
    find_user("requester@example.org").active = False
    db.session.commit()
    assert client.get("/account").status_code == 302


def _tokens_of(email):
    from conversion.accounts.models import ApiToken
    from conversion.accounts.operations import find_user
    from conversion.extensions import db

    db.session.expire_all()
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == find_user(email).id)))


def test_sign_out_everywhere_ends_every_session_and_token(seeded, auth):
    first, second = seeded.test_client(), seeded.test_client()
    sign_in(first, "staff_mrc")
    sign_in(second, "staff_mrc")
    headers = auth(seeded.test_client(), "staff_mrc")
    assert "Sign out everywhere" in first.get("/account").get_data(as_text=True)
    res = first.post("/account/sign-out-everywhere", data={"csrf_token": session_token(first)})
    assert res.status_code == 302
    assert second.get("/account").status_code == 302 and "/login" in second.get("/account").headers["Location"]
    assert first.get("/account").status_code == 302
    assert seeded.test_client().get("/api/v1/me", headers=headers).status_code == 401
    assert all(t.revoked_at is not None for t in _tokens_of("staff.mrc@emma.example"))
    [event] = _events("sign_out_everywhere")
    assert event.email == "staff.mrc@emma.example" and "1 API token" in event.detail
    assert sign_in(second, "staff_mrc").status_code == 302  # signing in again works
    assert second.get("/account").status_code == 200


def test_sign_out_everywhere_needs_the_csrf_token(seeded, client):
    sign_in(client, "requester")
    assert client.post("/account/sign-out-everywhere").status_code == 400
    assert client.get("/account").status_code == 200


def test_stale_sessions_must_sign_in_again_for_account_and_role_pages(seeded, client):
    sign_in(client, "coordinator")
    with client.session_transaction() as session:
        session["_fresh"] = False  # as after a restored session
    for path in ("/account", "/admin/users"):
        res = client.get(path)
        assert res.status_code == 302 and "/login" in res.headers["Location"], path
    assert client.get("/requests").status_code == 200  # ordinary pages still work
    page = client.get("/login")
    assert page.status_code == 200  # the sign-in form is shown again to confirm it is you
    email, password = DEMO["coordinator"]
    res = client.post(
        "/login?next=/admin/users",
        data={"email": email, "password": password, "csrf_token": csrf_token(client, "/login")},
    )
    assert res.headers["Location"] == "/admin/users"
    assert client.get("/admin/users").status_code == 200


# ---- passwords --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "password, fragment",
    [
        ("Short-1", "too short"),
        ("alllowercaseletters", "two kinds"),
        ("12345678901234", "two kinds"),
        ("requester@example.org", "email"),
        ("Requester@example.org", "email"),
        ("password123", "too common"),
        ("Password123", "too common"),
    ],
)
def test_weak_passwords_are_refused(password, fragment):
    from conversion.accounts.operations import password_problem

    assert fragment in password_problem(password, "requester@example.org")


def test_reasonable_passwords_pass():
    from conversion.accounts.operations import password_problem

    for password in ("requester-demo", "correct horse battery", "Tr0ub4dor&3x", "ÄÖÜäöüßéèà1"):
        assert password_problem(password, "requester@example.org") is None, password


def test_cli_refuses_a_weak_password(seeded):
    res = seeded.test_cli_runner().invoke(
        args=["users", "create", "--email", "w@example.org", "--password", "aaaaaaaaaaaa", "--role", "requester"]
    )
    assert res.exit_code != 0 and "two kinds" in res.output


def _change(client, current, new, repeat=None):
    return client.post(
        "/account",
        data={"current": current, "new": new, "repeat": repeat or new, "csrf_token": csrf_token(client, "/account")},
    )


def test_change_password(seeded, auth):
    me, other = seeded.test_client(), seeded.test_client()
    sign_in(me, "requester")
    sign_in(other, "requester")
    headers = auth(seeded.test_client(), "requester")
    for current, new, repeat, fragment in [
        ("wrong-password-1", "New-password-1", None, "current password is wrong"),
        ("requester-demo", "New-password-1", "New-password-2", "differ"),
        ("requester-demo", "tooshort1", None, "too short"),
        ("requester-demo", "password1234", None, "too common"),
        ("requester-demo", "requester-demo", None, "same as the current"),
    ]:
        res = _change(me, current, new, repeat)
        assert res.status_code == 422 and fragment in res.get_data(as_text=True), fragment
    res = _change(me, "requester-demo", "Ein neues Passwort")
    assert res.status_code == 302
    assert "Password changed" in me.get("/account").get_data(as_text=True)  # still signed in here
    assert other.get("/account").status_code == 302  # ... and signed out elsewhere
    assert seeded.test_client().get("/api/v1/me", headers=headers).status_code == 401
    fresh = seeded.test_client()
    assert _login(fresh, "requester@example.org", "requester-demo").status_code == 401
    assert _login(fresh, "requester@example.org", "Ein neues Passwort").status_code == 302
    assert [e.kind for e in _events()][-4:] == ["sign_in_failed", "password_changed", "sign_in_failed", "sign_in"]


def test_guessing_the_current_password_locks_the_account(seeded, client):
    sign_in(client, "requester")
    for _ in range(5):
        assert _change(client, "wrong-password-1", "New-password-1").status_code == 422
    res = _change(client, "requester-demo", "New-password-1")
    assert res.status_code == 429


# ---- roles -----------------------------------------------------------------------------
def _set_role(client, user_id, role, node=""):
    return client.post(
        f"/admin/users/{user_id}", data={"role": role, "node": node, "csrf_token": session_token(client)}
    )


def test_coordinator_changes_a_role_and_it_is_audited(seeded, client):
    from conversion.accounts.operations import find_user

    sign_in(client, "coordinator")
    target = find_user("industry@biotech.example")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "industry@biotech.example" in page and f'action="/admin/users/{target.id}"' in page
    refused = _set_role(client, target.id, "staff")
    assert refused.status_code == 302
    assert "Staff must belong to a node" in client.get("/admin/users").get_data(as_text=True)
    assert _set_role(client, target.id, "staff", "HMGU").status_code == 302
    assert "industry@biotech.example is now staff (HMGU)" in client.get("/admin/users").get_data(as_text=True)
    user = find_user("industry@biotech.example")
    assert user.role.value == "staff" and user.node.code == "HMGU"
    [event] = _events("role_changed")
    assert event.actor.email == "coordinator@emma.example" and event.user_id == user.id
    assert event.detail == "requester -> staff (HMGU)"
    staff = seeded.test_client()
    sign_in(staff, "industry")
    assert staff.get("/dashboard").status_code == 200  # the new role applies
    assert _set_role(client, 99999, "requester").status_code == 404
    me = find_user("coordinator@emma.example")
    _set_role(client, me.id, "requester")
    assert "cannot change your own role" in client.get("/admin/users").get_data(as_text=True)
    assert find_user("coordinator@emma.example").role.value == "coordinator"


def test_only_coordinators_change_roles(seeded, client):
    from conversion.accounts.operations import find_user

    sign_in(client, "staff_ics")
    target = find_user("requester@example.org")
    assert _set_role(client, target.id, "coordinator").status_code == 403
    assert find_user("requester@example.org").role.value == "requester"
    assert not _events("role_changed")


# ---- the audit trail ----------------------------------------------------------------------
def test_security_events_page_and_log(seeded, client, auth, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="conversion.security")
    _login(seeded.test_client(), "requester@example.org", "wrong-password-1")
    headers = auth(seeded.test_client(), "staff_ics")
    seeded.test_client().delete("/api/v1/tokens/current", headers=headers)
    kinds = [r.fields["security_event"] for r in caplog.records if r.name == "conversion.security"]
    assert kinds == ["sign_in_failed", "token_created", "token_revoked"]
    failed = next(r for r in caplog.records if getattr(r, "fields", {}).get("security_event") == "sign_in_failed")
    assert failed.levelname == "WARNING" and failed.fields["email"] == "requester@example.org"
    sign_in(client, "coordinator")
    page = client.get("/admin/security-events").get_data(as_text=True)
    for text in ("sign in failed", "token created", "token revoked", "requester@example.org", "127.0.0.1"):
        assert text in page, text
    only = client.get("/admin/security-events?kind=token_revoked").get_data(as_text=True)
    assert "token revoked" in only and "requester@example.org" not in only
    requester = seeded.test_client()
    sign_in(requester, "requester")
    assert requester.get("/admin/security-events").status_code == 403


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)"]
)
def test_sign_in_follows_only_same_site_next(seeded, client, target):
    email, password = DEMO["requester"]
    res = client.post(
        "/login",
        query_string={"next": target},
        data={"email": email, "password": password, "csrf_token": csrf_token(client, "/login")},
    )
    assert res.status_code == 302 and res.headers["Location"] == "/"
