"""Fixtures: the app on SQLite and on PostgreSQL, clean tables per test, signed-in clients."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BACKENDS = ("sqlite", "postgresql")

DEMO = {
    "requester": ("requester@example.org", "requester-demo"),
    "industry": ("industry@biotech.example", "industry-demo"),
    "coordinator": ("coordinator@emma.example", "coordinator-demo"),
    "staff_ics": ("staff.ics@emma.example", "staff-ics-demo"),
    "staff_mrc": ("staff.mrc@emma.example", "staff-mrc-demo"),
    "staff_hmgu": ("staff.hmgu@emma.example", "staff-hmgu-demo"),
    "staff_oulu": ("staff.oulu@emma.example", "staff-oulu-demo"),
}


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_POSTGRES_URL is not set: run the suite with `make test`.")
        pytest.skip("no PostgreSQL (TEST_POSTGRES_URL unset): run `make test`")
    _reset_postgres(url)
    return url


@pytest.fixture(scope="session")
def _app(database_url):
    from flask_migrate import upgrade

    from conversion import create_app
    from conversion.extensions import db

    app = create_app({"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
    app.config["BACKEND"] = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    with app.app_context():
        upgrade(revision="heads")  # the real migrations, not create_all
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _truncate(app) -> None:
    from sqlalchemy import text

    from conversion.extensions import db

    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(text(f"DELETE FROM {name}"))
                conn.execute(text("DELETE FROM sqlite_sequence")) if conn.execute(
                    text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")
                ).first() else None


@pytest.fixture
def app(_app):
    """The app with empty tables, inside an app context."""
    _truncate(_app)
    with _app.app_context():
        yield _app
        from conversion.extensions import db

        db.session.remove()


@pytest.fixture
def seeded(app):
    """The app with the demo data loaded."""
    from conversion.seed import seed_demo

    seed_demo()
    return app


@pytest.fixture
def live_server(seeded):
    """The seeded app served on a free loopback port; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, seeded, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def client(app):
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, path: str) -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, who: str):
    email, password = DEMO[who]
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def login():
    """login(client, 'coordinator') signs a test client in as a demo user."""
    return sign_in


def api_token(client, who: str) -> str:
    email, password = DEMO[who]
    res = client.post("/api/v1/tokens", json={"email": email, "password": password})
    assert res.status_code == 201, res.get_json()
    return res.get_json()["token"]


@pytest.fixture
def auth():
    """auth(client, 'staff_ics') -> headers with a bearer token for that demo user."""

    def _auth(client, who: str) -> dict:
        return {"Authorization": f"Bearer {api_token(client, who)}"}

    return _auth
