"""Schemathesis against the running app: no generated request may get a 5xx.

The app serves on 127.0.0.1 (werkzeug, threaded) on the seeded database of the backend under
test (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set). Schemathesis runs as its own
command (`st run`: examples, coverage and fuzzing phases) with a coordinator's bearer token,
bounded to 30 examples per operation and a time budget. (Its lazy pytest plugin does not work
with pytest 9 yet.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import api_token
from flows import Api, walk

ST = Path(sys.executable).with_name("st")


@pytest.fixture
def quiet(seeded):
    seeded.config["LOG_REQUESTS"] = False  # thousands of requests: keep the output readable
    yield
    seeded.config["LOG_REQUESTS"] = True


def real_ids(client) -> tuple[list[int], list[int]]:
    """A few requests in different states and an issued invoice, for the fuzzer to work on."""
    api = Api(client)
    fresh = api.submit("EM:05402", "c")["id"]
    working = api.submit("EM:05402", "d")["id"]
    walk(api, working, "breeding", node="ICS")
    done = api.submit("EM:05402", "b")["id"]
    walk(api, done, "completed", node="MRC")
    invoice = api.ok("staff_mrc", f"/requests/{done}/invoices", {}, status=201)["id"]
    return [fresh, working, done], [invoice]


def test_no_generated_request_gets_a_server_error(quiet, live_server, client, tmp_path):
    requests, invoices = real_ids(client)
    (tmp_path / "schemathesis.toml").write_text(
        f"[dictionaries.requests]\nvalues = {requests}\n[dictionaries.invoices]\nvalues = {invoices}\n"
        "[parameters]\n"
        '"path.request_id" = { dictionary = "requests", probability = 0.6 }\n'
        '"path.invoice_id" = { dictionary = "invoices", probability = 0.6 }\n'
    )
    token = api_token(client, "coordinator")
    cmd = [
        str(ST),
        "--config-file",
        str(tmp_path / "schemathesis.toml"),
        "run",
        f"{live_server}/api/v1/openapi.json",
        "--checks",
        "not_a_server_error,response_schema_conformance,content_type_conformance",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        "30",
        "--seed",
        "20260101",
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--request-timeout",
        "30",
        # revoking the run's own token would turn the rest of the run into 401s
        "--exclude-path",
        "/api/v1/tokens/current",
        "--suppress-health-check",
        "all",
        "--no-color",
    ]
    # tests/schemathesis_hooks.py adds the inputs that once gave 5xx answers (docs/security.md)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=400, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout[-15000:] + proc.stderr[-3000:]
    tested = re.search(r"Tested: (\d+)", proc.stdout)
    assert tested and int(tested.group(1)) >= 25, proc.stdout[-5000:]
    print(proc.stdout[-1500:])
