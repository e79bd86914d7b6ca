"""Concurrency and faults: racing HTTP clients against a real gunicorn (several worker processes
sharing PostgreSQL), lockout counters shared by the workers, an invoice issue racing a credit note,
and a database restart in the middle of a run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import DEMO, api_token
from flows import Api

ROOT = Path(__file__).resolve().parent.parent


def _postgres_only(app):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("PostgreSQL only")


def _http(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    """One request on a new connection (so that successive calls spread over the workers)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, json.loads(res.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture(scope="module")
def server(_app, tmp_path_factory):
    """gunicorn with 4 workers serving the app on the test PostgreSQL database."""
    _postgres_only(_app)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "APP_CONFIG": "testing",
        "DATABASE_URL": _app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": _app.config["SECRET_KEY"],
    }
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "--workers",
                "4",
                "--bind",
                f"127.0.0.1:{port}",
                "--chdir",
                str(ROOT),
                "wsgi:app",
            ],
            env=env,
            stdout=out,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if _http("GET", f"{base}/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.terminate()
        pytest.fail(f"gunicorn did not start: {log.read_text()[-2000:]}")
    yield base
    proc.terminate()
    proc.wait(15)


def _barrier_run(n: int, call) -> list:
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        barrier.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


# ---- gunicorn ------------------------------------------------------------------------------
def test_eight_http_clients_fire_the_same_trigger_once(seeded, server):
    api = Api(seeded.test_client())
    rid = api.submit("EM:05402", "c")["id"]
    tokens = [api_token(seeded.test_client(), "coordinator") for _ in range(8)]
    results = _barrier_run(
        8, lambda i: _http("POST", f"{server}/api/v1/requests/{rid}/events", {"trigger": "approve"}, tokens[i])
    )
    codes = sorted(code for code, _ in results)
    assert codes == [200] + [409] * 7, results
    history = api.get("coordinator", f"/requests/{rid}").get_json()["history"]
    assert [h["trigger"] for h in history] == ["submit", "approve"]


def test_lockout_counters_are_shared_by_the_workers(seeded, server):
    email, password = DEMO["staff_hmgu"]
    results = _barrier_run(
        5, lambda i: _http("POST", f"{server}/api/v1/tokens", {"email": email, "password": f"wrong-{i}-password"})
    )
    assert [code for code, _ in results] == [401] * 5
    for _ in range(4):  # whichever worker answers
        code, body = _http("POST", f"{server}/api/v1/tokens", {"email": email, "password": password})
        assert code == 429 and "try again" in body["error"]


def test_a_burst_of_parallel_guesses_gets_no_more_than_five_passwords_checked(seeded, server):
    """Every attempt is counted before its password is checked: of 12 guesses sent at once over 4
    workers, at most 5 are checked (401), the others are refused unchecked (429)."""
    email, password = DEMO["staff_oulu"]
    results = _barrier_run(
        12, lambda i: _http("POST", f"{server}/api/v1/tokens", {"email": email, "password": f"guess-{i}-password"})
    )
    codes = sorted(code for code, _ in results)
    assert codes.count(401) <= 5 and set(codes) <= {401, 429}, codes
    code, body = _http("POST", f"{server}/api/v1/tokens", {"email": email, "password": password})
    assert code == 429 and "try again" in body["error"]


def _pg_ctl(*args: str) -> None:
    command = [os.path.join(os.environ["TEST_PG_BIN"], "pg_ctl"), "-D", os.environ["TEST_PG_DATA"], "-w", *args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def _pg_log() -> str:
    return os.path.join(os.path.dirname(os.environ["TEST_PG_DATA"].rstrip("/")), "log")


def test_database_outage_and_restart_without_restarting_the_app(seeded, server, client):
    for var in ("TEST_PG_BIN", "TEST_PG_DATA", "TEST_PG_PORT", "TEST_PG_SOCKET"):
        if not os.environ.get(var):
            pytest.skip(f"{var} unset: run with scripts/test.sh")
    for _ in range(8):  # every worker has pooled connections now
        assert _http("GET", f"{server}/api/v1/strains?q=Cdk5rap2")[0] == 200
    reader = api_token(seeded.test_client(), "coordinator")
    for _ in range(4):  # and its read cache's own connection, with answers kept
        assert _http("GET", f"{server}/api/v1/requests", token=reader)[0] == 200
    from conversion.extensions import db

    db.session.remove()
    _pg_ctl("-m", "fast", "stop")
    try:
        code, body = _http("GET", f"{server}/healthz")
        assert code == 503 and body["status"] == "down"
        code, body = _http("GET", f"{server}/api/v1/strains?q=Cdk5rap2")
        assert code == 503 and "not available" in body["error"]  # JSON, not a stack trace
        code, body = _http("GET", f"{server}/api/v1/requests", token=reader)
        assert code == 503 and "error" in body  # no kept answer without the database's word
    finally:
        options = (
            f"-p {os.environ['TEST_PG_PORT']} -k {os.environ['TEST_PG_SOCKET']} "
            "-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        )
        _pg_ctl("-l", _pg_log(), "-o", options, "start")
    for _ in range(12):  # the stale pooled connections are replaced (extensions.check_pooled_connections)
        code, body = _http("GET", f"{server}/api/v1/strains?q=Cdk5rap2")
        assert code == 200 and body["items"], body
        assert _http("GET", f"{server}/api/v1/requests", token=reader)[0] == 200
    assert client.get("/api/v1/strains?q=Cdk5rap2").status_code == 200  # this process too
    # and a restart in between two requests, as in the issue: the next request succeeds. (The
    # test's own app context outlives requests and keeps its session: give the connection back,
    # as the end of every real request does.)
    db.session.remove()
    _pg_ctl("-m", "fast", "restart")
    token = api_token(seeded.test_client(), "requester")
    assert _http("GET", f"{server}/api/v1/me", token=token)[0] == 200


# ---- invoices ------------------------------------------------------------------------------
def test_invoice_issue_racing_a_credit_note_keeps_numbers_gapless(seeded):
    """Issuing a draft and crediting another invoice of the same node at the same moment both
    take a number from the node's sequence: distinct, consecutive, nothing lost."""
    from invoice_helpers import BILLING_FR, YEAR, accepted, invoice

    api = Api(seeded.test_client())
    first = invoice(api, accepted(api, BILLING_FR))
    draft = invoice(api, accepted(api, BILLING_FR), body={"draft": True})
    tokens = [api_token(seeded.test_client(), "staff_ics") for _ in range(2)]
    calls = [
        ("/invoices/{}/issue".format(draft["id"]), {}),
        ("/invoices/{}/credit-note".format(first["id"]), {"reason": "Wrong department"}),
    ]

    def call(i):
        path, body = calls[i]
        res = seeded.test_client().post(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {tokens[i]}"})
        return res.status_code, res.get_json()

    (issued_code, issued), (note_code, note) = _barrier_run(2, call)
    assert (issued_code, note_code) == (200, 201), (issued, note)
    assert sorted([issued["number"], note["number"]]) == [f"ICS-{YEAR}-0002", f"ICS-{YEAR}-0003"]
    assert note["credits"] == first["number"]


def test_two_full_credit_notes_at_once_credit_the_invoice_once(seeded):
    from invoice_helpers import BILLING_FR, accepted, invoice

    api = Api(seeded.test_client())
    inv = invoice(api, accepted(api, BILLING_FR))
    tokens = [api_token(seeded.test_client(), who) for who in ("staff_ics", "coordinator", "staff_ics")]

    def call(i):
        res = seeded.test_client().post(
            f"/api/v1/invoices/{inv['id']}/credit-note",
            json={"reason": f"Refund {i}"},
            headers={"Authorization": f"Bearer {tokens[i]}"},
        )
        return res.status_code

    assert sorted(_barrier_run(3, call)) == [201, 409, 409]
    items = api.get("staff_ics", f"/requests/{inv['request']}/invoices").get_json()["items"]
    notes = [i for i in items if i["kind"] == "credit_note"]
    assert len(notes) == 1 and Decimal(notes[0]["total"]) == -Decimal(inv["total"])


def test_the_same_draft_issued_twice_at_once_gets_one_number(seeded):
    from invoice_helpers import BILLING_FR, YEAR, accepted, invoice

    api = Api(seeded.test_client())
    draft = invoice(api, accepted(api, BILLING_FR), body={"draft": True})
    tokens = [api_token(seeded.test_client(), "staff_ics") for _ in range(4)]

    def call(i):
        res = seeded.test_client().post(
            f"/api/v1/invoices/{draft['id']}/issue", headers={"Authorization": f"Bearer {tokens[i]}"}
        )
        return res.status_code, (res.get_json() or {}).get("number")

    results = _barrier_run(4, call)
    assert sorted(code for code, _ in results) == [200, 409, 409, 409], results
    assert [n for code, n in results if code == 200] == [f"ICS-{YEAR}-0001"]
    nxt = invoice(api, accepted(api, BILLING_FR))
    assert nxt["number"] == f"ICS-{YEAR}-0002"  # no number was burnt by the losers


def test_six_clients_submitting_one_product_at_once_start_one_conversion(seeded, server):
    """No duplicate work, also under a race: one request, the others 409 naming it."""
    tokens = [api_token(seeded.test_client(), who) for who in ("requester", "industry") * 3]
    body = {
        "strain": "EM:05519",
        "target": "c",
        "deliverable": "frozen_sperm",
        "billing": {"organisation": "X", "address": "Y", "country": "DE", "sector": "academic"},
    }
    results = _barrier_run(6, lambda i: _http("POST", f"{server}/api/v1/requests", body, tokens[i]))
    codes = sorted(code for code, _ in results)
    assert codes == [201] + [409] * 5, results
    reference = next(payload["reference"] for code, payload in results if code == 201)
    assert all(reference in payload["error"] for code, payload in results if code == 409)
