"""Sign-in, role home pages, CSRF, users create, API tokens."""

from datetime import timedelta

import pytest
from conftest import DEMO, csrf_token, sign_in
from sqlalchemy import select


def test_each_demo_user_can_sign_in_and_sees_their_role_home(seeded, client):
    expectations = {
        "requester": "request a conversion",
        "coordinator": "to assign to a node",
        "staff_ics": "Institut Clinique de la Souris",
        "staff_oulu": "University of Oulu",
    }
    for who, text in expectations.items():
        res = sign_in(client, who)
        assert res.status_code == 302
        page = client.get("/").get_data(as_text=True)
        assert text in page, who
        assert DEMO[who][0] in page
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
        assert "Sign in" in client.get("/").get_data(as_text=True)


def test_wrong_password_and_unknown_user_get_the_same_answer(seeded, client):
    token = csrf_token(client, "/login")
    wrong = client.post(
        "/login", data={"email": "coordinator@emma.example", "password": "nope-nope-nope", "csrf_token": token}
    )
    unknown = client.post(
        "/login", data={"email": "nobody@emma.example", "password": "nope-nope-nope", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Unknown email or wrong password" in wrong.get_data(as_text=True)
    assert "Unknown email or wrong password" in unknown.get_data(as_text=True)


def test_login_form_without_csrf_token_is_refused(seeded, client):
    email, password = DEMO["coordinator"]
    res = client.post("/login", data={"email": email, "password": password})
    assert res.status_code == 400
    assert "Welcome" not in client.get("/").get_data(as_text=True)


def test_login_does_not_follow_offsite_next(seeded, client):
    email, password = DEMO["requester"]
    token = csrf_token(client, "/login")
    res = client.post("/login?next=//evil.example/x", data={"email": email, "password": password, "csrf_token": token})
    assert res.status_code == 302
    assert res.headers["Location"] == "/"


def test_passwords_are_hashed(seeded):
    from conversion.accounts.models import User
    from conversion.extensions import db

    user = db.session.scalar(select(User).where(User.email == "requester@example.org"))
    assert "requester-demo" not in user.password_hash
    assert user.check_password("requester-demo")


def test_cli_users_create(seeded):
    from conversion.accounts.operations import find_user

    runner = seeded.test_cli_runner()
    res = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "New.Staff@Ics.example",
            "--password",
            "a-long-password",
            "--role",
            "staff",
            "--node",
            "ics",
        ]
    )
    assert res.exit_code == 0, res.output
    assert "Created staff new.staff@ics.example at ICS" in res.output
    user = find_user("new.staff@ics.example")
    assert user.node.code == "ICS" and user.check_password("a-long-password")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--role", "staff"], "Staff must belong to a node"),
        (["--role", "staff", "--node", "XYZ"], "Unknown node"),
        (["--role", "requester", "--node", "ICS"], "Only staff belong to a node"),
        (["--role", "coordinator", "--password", "short"], "Password too short"),
        (["--role", "requester", "--email", "not-an-email"], "Invalid email address"),
        (["--role", "requester", "--email", "requester@example.org"], "already exists"),
    ],
)
def test_cli_users_create_refuses_bad_input(seeded, args, message):
    base = {"--email": "x@example.org", "--password": "a-long-password"}
    for flag in ("--email", "--password"):
        if flag in args:
            base.pop(flag)
    argv = ["users", "create"] + [v for kv in base.items() for v in kv] + args
    res = seeded.test_cli_runner().invoke(args=argv)
    assert res.exit_code != 0
    assert message in res.output


def test_api_token_flow(seeded, client):
    res = client.post("/api/v1/tokens", json={"email": "staff.ics@emma.example", "password": "staff-ics-demo"})
    assert res.status_code == 201
    token = res.get_json()["token"]
    from conversion.accounts.models import ApiToken
    from conversion.extensions import db

    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored and len(stored) == 1
    confidential = client.get("/api/v1/strains?q=Pcdh15", headers={"Authorization": f"Bearer {token}"})
    assert confidential.status_code == 200 and confidential.get_json()["items"] == []


@pytest.mark.parametrize(
    "body, status, fragment",
    [
        ({"email": "staff.ics@emma.example", "password": "wrong-password"}, 401, "wrong password"),
        ({"email": "staff.ics@emma.example"}, 422, "password"),
        ({"email": 5, "password": []}, 422, "email"),
    ],
)
def test_api_token_errors_are_json(seeded, client, body, status, fragment):
    res = client.post("/api/v1/tokens", json=body)
    assert res.status_code == status
    assert fragment in res.get_json()["error"]


def test_malformed_json_is_400(seeded, client):
    res = client.post("/api/v1/tokens", data="{not json", content_type="application/json")
    assert res.status_code == 400
    assert "error" in res.get_json()


def test_me_needs_a_valid_token(seeded, client, auth):
    from conversion.accounts.models import ApiToken
    from conversion.extensions import db, utcnow

    assert client.get("/api/v1/me").status_code == 401
    assert "Not signed in" in client.get("/api/v1/me").get_json()["error"]
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer bogus"}).status_code == 401
    headers = auth(client, "staff_ics")
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me == {"email": "staff.ics@emma.example", "name": "Sam Staff (ICS)", "role": "staff", "node": "ICS"}
    row = db.session.scalars(select(ApiToken)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_token_can_be_revoked(seeded, client, auth):
    headers = auth(client, "requester")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.delete("/api/v1/tokens/current", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
