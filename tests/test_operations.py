"""/healthz, request ids, JSON-lines logs, the OpenAPI document and its docs page."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import text

from conversion.extensions import db


def test_healthz_reports_database_migrations_and_outbox(app, client):
    res = client.get("/healthz")
    assert res.status_code == 200
    body = res.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["migrations"]["pending"] is False
    assert body["migrations"]["current"] == body["migrations"]["heads"] and body["migrations"]["heads"]
    assert body["outbox"] == {"pending": 0}
    assert res.headers["Cache-Control"] == "no-store"


def test_healthz_tells_of_pending_migrations(app, client):
    version = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    db.session.commit()
    try:
        body = client.get("/healthz").get_json()
        assert body["status"] == "degraded" and body["migrations"]["pending"] is True
        assert body["migrations"]["current"] == ["0001"]
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})
        db.session.commit()


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://nobody@127.0.0.1:1/none", "sqlite:////nonexistent-dir/for/sure/db.sqlite3"]
)
def test_healthz_is_503_when_the_database_is_down(url):
    from conversion import create_app

    down = create_app({"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url})
    res = down.test_client().get("/healthz")
    assert res.status_code == 503
    assert res.get_json()["status"] == "down" and "unreachable" in res.get_json()["database"]
    assert "nobody" not in res.get_data(as_text=True)  # no connection details leak


def test_request_id_is_echoed_or_generated(app, client):
    given = client.get("/healthz", headers={"X-Request-ID": "trace-42.a"})
    assert given.headers["X-Request-ID"] == "trace-42.a"
    made = client.get("/healthz")
    other = client.get("/healthz")
    assert len(made.headers["X-Request-ID"]) == 32 and made.headers["X-Request-ID"] != other.headers["X-Request-ID"]
    bad = client.get("/healthz", headers={"X-Request-ID": "x" * 500})
    assert len(bad.headers["X-Request-ID"]) == 32  # not ours to echo: a new one


def test_logs_are_json_lines_with_the_request_id(app, client, capsys):
    capsys.readouterr()
    client.get("/api/v1/strains?q=Cdk5rap2", headers={"X-Request-ID": "abc123"})
    logging.getLogger("conversion.test").warning("plain %s", "message")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "conversion.access"]
    assert access and access[-1]["request_id"] == "abc123" and access[-1]["status"] == 200
    assert access[-1]["path"] == "/api/v1/strains" and access[-1]["method"] == "GET"
    assert "duration_ms" in access[-1] and access[-1]["ts"].endswith("Z")
    assert any(line["msg"] == "plain message" and line["level"] == "WARNING" for line in lines)


def test_openapi_document_describes_every_operation(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from POST /api/v1/tokens",
    }
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["type"] == "string" and error["required"] == ["error"]
    ops = [(m, p, o) for p, item in spec["paths"].items() for m, o in item.items() if m != "parameters"]
    assert len(ops) >= 25
    for method, path, op in ops:
        assert op.get("summary"), (method, path)
        assert op["security"] is not None, (method, path)
        successes = [c for c in op["responses"] if c.startswith("2")]
        assert successes, (method, path)
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (
                    method,
                    path,
                    code,
                )
        if method in ("post", "put", "patch") and not path.endswith(("/issue",)):
            assert "requestBody" in op, (method, path)
        if (method, path) not in {
            ("post", "/api/v1/tokens"),
            ("post", "/api/v1/feasibility"),
            ("get", "/api/v1/strains"),
            ("get", "/api/v1/strains/{emma_id}"),
        }:
            assert op["security"] == [{"bearerAuth": []}] and "401" in op["responses"], (method, path)
    submit = spec["paths"]["/api/v1/requests"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Submit"}
    assert {"401", "403", "422", "400"} <= set(submit["responses"])


def test_request_bodies_are_validated_against_the_schema(seeded, client, auth):
    res = client.post("/api/v1/requests", json={"strain": 12, "target": "c"}, headers=auth(client, "requester"))
    assert res.status_code == 422 and "deliverable" in res.get_json()["error"]
    res = client.post(
        "/api/v1/requests", data="{not json", content_type="application/json", headers=auth(client, "requester")
    )
    assert res.status_code in (400, 422) and "error" in res.get_json()


def test_docs_page_is_served_without_external_or_inline_script(app, client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    assert '<script src="/static/apidocs.js" defer></script>' in html
    assert "<script>" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    script = client.get("/static/apidocs.js")
    assert script.status_code == 200 and b"openapi" not in script.data[:0]
    script.close()
