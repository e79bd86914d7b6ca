"""docs/deploy.md, executed: `db upgrade` + `seed-demo` on a fresh PostgreSQL database,
gunicorn with 2 workers in production mode, /healthz, sign-in through both workers,
pg_dump, restore into a new database, data checked. PostgreSQL only (make test)."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import DEMO, ROOT
from mailserver import free_port

PG_BIN = os.environ.get("TEST_PG_BIN")
pytestmark = pytest.mark.skipif(not PG_BIN, reason="TEST_PG_BIN unset: run `make test` (PostgreSQL)")
VENV_BIN = Path(sys.executable).parent


def pg(tool: str, *args: str) -> str:
    port = os.environ["TEST_PG_PORT"]
    proc = subprocess.run(
        [f"{PG_BIN}/{tool}", "-h", "127.0.0.1", "-p", port, "-U", "postgres", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"{tool} {args}: {proc.stderr}"
    return proc.stdout


def sql(database: str, query: str) -> str:
    return pg("psql", "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", query).strip()


def flask(env: dict, *args: str) -> str:
    proc = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"flask {args}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


class Http:
    """One fresh connection per call (so gunicorn may hand each to another worker)."""

    def __init__(self, port: int):
        self.port = port

    def call(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            return res.status, res.headers, res.read().decode()
        finally:
            conn.close()

    def json(self, method, path, payload=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, _, text = self.call(method, path, json.dumps(payload) if payload is not None else None, headers)
        return status, json.loads(text) if text else None


def cookie(headers, name="session") -> str:
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith(f"{name}="):
            return value.split(";", 1)[0]
    raise AssertionError(f"no {name} cookie in {headers.get_all('Set-Cookie')}")


@pytest.fixture
def databases():
    suffix = secrets.token_hex(4)
    names = [f"deploy_{suffix}", f"deploy_{suffix}_restored"]
    pg("createdb", names[0])
    yield names
    for name in names:
        subprocess.run(
            [
                f"{PG_BIN}/dropdb",
                "-h",
                "127.0.0.1",
                "-p",
                os.environ["TEST_PG_PORT"],
                "-U",
                "postgres",
                "--if-exists",
                "--force",
                name,
            ],
            capture_output=True,
            timeout=60,
        )


def test_the_deployment_guide_works(databases, tmp_path):
    db_name, restored = databases
    port = os.environ["TEST_PG_PORT"]
    env = {
        **os.environ,
        "APP_CONFIG": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/{db_name}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(free_port()),
        "BASE_URL": "https://conversions.emma.example",
    }
    env.pop("FLASK_APP", None)

    # 2. upgrade and seed
    flask(env, "db", "upgrade")
    for command in ("seed-demo", "seed-bench"):  # refused in production: published passwords, real numbers
        proc = subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "wsgi", command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode != 0 and "refuses to run under APP_CONFIG=production" in proc.stderr, proc
        assert sql(db_name, "SELECT count(*) FROM nodes") == "0"
    flask({**env, "APP_CONFIG": "development"}, "seed-demo")  # a staging copy, as the guide says
    assert sql(db_name, "SELECT count(*) FROM nodes") == "12"

    # gunicorn, 2 workers, production config
    web_port = free_port()
    log = open(tmp_path / "gunicorn.log", "w+")
    server = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{web_port}",
            "--access-logfile",
            "-",
            "--access-logformat",
            "pid=%(p)s %(m)s %(U)s %(s)s",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    web = Http(web_port)
    try:
        deadline = time.time() + 60
        while True:
            try:
                status, health = web.json("GET", "/healthz")
                break
            except OSError:
                assert time.time() < deadline and server.poll() is None, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        assert status == 200 and health["status"] == "ok" and health["migrations"]["pending"] is False
        assert health["outbox"] == {"pending": 0}

        # sign in with the form (CSRF + signed session cookie), then use the session repeatedly
        email, password = DEMO["coordinator"]
        _, headers, page = web.call("GET", "/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert "Secure" in headers.get("Set-Cookie")  # production cookies are HTTPS-only
        form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token})
        status, headers, _ = web.call(
            "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie(headers)}
        )
        assert status == 302, status
        session = cookie(headers)
        for _ in range(6):
            status, _, page = web.call("GET", "/", headers={"Cookie": session})
            assert status == 200 and email in page

        # API sign-ins at the same moment: both workers answer, each token works on either
        def sign_in(_):
            return web.json("POST", "/api/v1/tokens", {"email": email, "password": password})

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(sign_in, range(8)))
        assert all(status == 201 for status, _ in results), results
        for _, body in results:
            status, me = web.json("GET", "/api/v1/me", token=body["token"])
            assert status == 200 and me["role"] == "coordinator"

        # some work: a request (and its email in the outbox)
        status, body = web.json(
            "POST", "/api/v1/tokens", {"email": DEMO["requester"][0], "password": DEMO["requester"][1]}
        )
        status, req = web.json(
            "POST",
            "/api/v1/requests",
            {
                "strain": "EM:05402",
                "target": "c",
                "deliverable": "frozen_sperm",
                "billing": {
                    "organisation": "Universität Heidelberg",
                    "address": "Im Neuenheimer Feld 234",
                    "country": "DE",
                    "sector": "academic",
                },
            },
            token=body["token"],
        )
        assert status == 201, req
        status, health = web.json("GET", "/healthz")
        assert health["outbox"] == {"pending": 1}
        status, _, _ = web.call("GET", "/healthz", headers={"X-Request-ID": "deploy-check-1"})
    finally:
        server.terminate()
        server.wait(30)
    log.seek(0)
    access = log.read()
    pids = set(re.findall(r"pid=<?(\d+)>? POST /api/v1/tokens 201", access))
    assert len(pids) == 2, access[-3000:]  # the sign-ins went through both workers
    lines = [json.loads(line) for line in access.splitlines() if line.startswith("{")]
    assert any(line.get("request_id") == "deploy-check-1" for line in lines)  # JSON logs, the proxy's id

    # 5. backup and restore
    dump = tmp_path / "conversion.dump"
    pg("pg_dump", "--format=custom", "--no-owner", f"--file={dump}", db_name)
    pg("createdb", restored)
    pg("pg_restore", "--no-owner", f"--dbname={restored}", str(dump))
    for query in (
        "SELECT count(*) FROM nodes",
        "SELECT count(*) FROM users",
        "SELECT reference || ' ' || status FROM conversion_requests",
        "SELECT recipient FROM outbox_messages WHERE sent_at IS NULL",
        "SELECT version_num FROM alembic_version",
    ):
        assert sql(restored, query) == sql(db_name, query) != "", query
    assert sql(restored, "SELECT status FROM conversion_requests") == "submitted"
    restored_env = {**env, "DATABASE_URL": env["DATABASE_URL"].rsplit("/", 1)[0] + f"/{restored}"}
    flask(restored_env, "db", "upgrade")  # a no-op: the dump is at the current revision
    assert "1 message(s) queued." in flask(restored_env, "outbox", "status")
