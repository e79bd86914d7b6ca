"""Response headers, cookies, CSRF on every form and on cookie-authenticated JSON, no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import sign_in
from webflows import session_token

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _csp(res) -> dict[str, str]:
    policy = res.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/strains",
        "/workflow",
        "/api/v1/strains",
        "/api/v1/openapi.json",
        "/no-such-page",
        "/api/v1/no-such-thing",
    ],
)
def test_every_answer_carries_the_security_headers(seeded, client, path):
    res = client.get(path)
    csp = _csp(res)
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["script-src"] == "script-src 'self'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["object-src"] == "object-src 'none'" and csp["base-uri"] == "base-uri 'self'"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["X-Frame-Options"] == "DENY"
    assert res.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in res.headers  # only in production (HTTPS)


def test_signed_in_pages_and_api_answers_are_not_cached(seeded, client, auth):
    assert "Cache-Control" not in client.get("/workflow").headers  # public, no cookie yet
    sign_in(client, "requester")
    assert client.get("/requests").headers["Cache-Control"] == "no-store"
    headers = auth(seeded.test_client(), "requester")
    assert seeded.test_client().get("/api/v1/me", headers=headers).headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_samesite_lax(seeded, client):
    res = sign_in(client, "requester")
    cookie = next(c for c in res.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in development and tests


def test_production_cookies_are_secure_and_hsts_is_sent(seeded):
    from conversion import create_app
    from conversion.extensions import db

    prod = create_app(
        {
            "APP_CONFIG": "production",
            "SECRET_KEY": "x" * 32,
            "ALLOW_SQLITE": True,
            "SQLALCHEMY_DATABASE_URI": seeded.config["SQLALCHEMY_DATABASE_URI"],
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with prod.app_context():
        client = prod.test_client()
        page = client.get("/login", base_url="https://emma.example")
        assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))[1]
        res = client.post(
            "/login",
            base_url="https://emma.example",
            headers={"Referer": "https://emma.example/login"},
            data={"email": "requester@example.org", "password": "requester-demo", "csrf_token": token},
        )
        assert res.status_code == 302, res.get_data(as_text=True)
        cookie = next(c for c in res.headers.getlist("Set-Cookie") if c.startswith("session="))
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        db.session.remove()
        db.engine.dispose()


# ---- CSRF ------------------------------------------------------------------------------
def test_cookie_signed_in_json_needs_the_csrf_header(seeded, client):
    sign_in(client, "requester")
    body = {"allele": "Cdk5rap2<tm1a(EUCOMM)Wtsi>", "target": "c"}
    refused = client.post("/api/v1/feasibility", json=body)
    assert refused.status_code == 400 and "error" in refused.get_json()
    wrong = client.post("/api/v1/feasibility", json=body, headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 400
    ok = client.post("/api/v1/feasibility", json=body, headers={"X-CSRFToken": session_token(client)})
    assert ok.status_code == 200 and ok.get_json()["feasible"] is True
    # a write that changes data, through the session cookie
    submit = {
        "strain": "EM:05402",
        "target": "c",
        "deliverable": "frozen_sperm",
        "billing": {"organisation": "Uni", "address": "Street 1", "country": "FR", "sector": "academic"},
    }
    assert client.post("/api/v1/requests", json=submit).status_code == 400
    assert client.get("/api/v1/requests").get_json()["items"] == []
    made = client.post("/api/v1/requests", json=submit, headers={"X-CSRFToken": session_token(client)})
    assert made.status_code == 201
    assert client.delete("/api/v1/tokens/current").status_code == 400  # DELETE too


def test_bearer_clients_need_no_csrf_token(seeded, client, auth):
    headers = auth(client, "requester")
    sign_in(client, "requester")  # even with a session cookie alongside
    res = client.post(
        "/api/v1/feasibility", json={"allele": "Cdk5rap2<tm1a(EUCOMM)Wtsi>", "target": "c"}, headers=headers
    )
    assert res.status_code == 200


def test_anonymous_public_api_needs_no_csrf_token(seeded, client):
    client.get("/login")  # a session cookie, but nobody signed in: nothing to forge
    res = client.post("/api/v1/feasibility", json={"allele": "Cdk5rap2<tm1a(EUCOMM)Wtsi>", "target": "c"})
    assert res.status_code == 200


def test_every_page_form_refuses_a_post_without_csrf_token(seeded, app, client):
    sign_in(client, "coordinator")
    posts = sorted(
        rule.rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and not rule.rule.startswith("/api/")
    )
    assert "/login" in posts and "/account" in posts
    for rule in posts:
        path = re.sub(r"<(?:int:)?(\w+)>", lambda m: "EM:05402" if m[1] == "emma_id" else "1", rule)
        res = client.post(path, data={"trigger": "approve", "role": "requester"})
        assert res.status_code == 400, (rule, res.status_code)


def test_every_post_form_in_the_templates_carries_the_csrf_token():
    """The templates', and the forms some pages build in Python for speed (review queue, lab rows)."""
    forms = 0
    sources = [*TEMPLATES.rglob("*.html"), *(TEMPLATES.parent / "conversion").rglob("*.py")]
    for template in sources:
        text = template.read_text()
        for form in re.findall(r"<form\b[^>]*>.*?</form>", text, flags=re.S | re.I):
            opening = form.split(">", 1)[0].lower()
            if 'method="post"' in opening:
                forms += 1
                assert "csrf_token" in form or "{csrf}" in form, f"{template.relative_to(TEMPLATES.parent)}: {opening}>"
    assert forms >= 5


def test_templates_have_no_inline_script_or_event_handlers():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        name = template.relative_to(TEMPLATES)
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.I):
            assert "src=" in tag, f"{name}: inline <script> (the CSP blocks it): {tag}"
        assert not re.search(r"<script\b[^>]*>(?!\s*</script>)", text, flags=re.I), f"{name}: inline script body"
        assert not re.search(r"\son[a-z]+\s*=", text, flags=re.I), f"{name}: inline event handler"
        assert "javascript:" not in text.lower(), f"{name}: javascript: URL"
