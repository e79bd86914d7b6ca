"""SQL statements per page and API call on the database in DATABASE_URL (a Flask test client).

    python bench/querycounts.py            # prints JSON {name: {"statements": n, "ms": t}}

Each URL is requested once to warm up, then counted and timed."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAFF = ("staff.ics@emma.example", "staff-ics-demo")
COORDINATOR = ("coordinator@emma.example", "coordinator-demo")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def sign_in(client, email: str, password: str) -> None:
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    res = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert res.status_code in (302, 303), res.status_code


def bearer(client, email: str, password: str) -> dict:
    res = client.post("/api/v1/tokens", json={"email": email, "password": password})
    assert res.status_code == 201, res.get_json()
    return {"Authorization": f"Bearer {res.get_json()['token']}"}


def sample_request(node_code: str = "ICS", status: str = "breeding") -> int:
    """The newest request in `status` at `node_code` (what a technician opens most)."""
    from sqlalchemy import select

    from conversion.catalogue.models import Node
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    return db.session.scalar(
        select(ConversionRequest.id)
        .join(Node, ConversionRequest.node_id == Node.id)
        .where(Node.code == node_code, ConversionRequest.status == status)
        .order_by(ConversionRequest.id.desc())
        .limit(1)
    )


def targets(app) -> list[tuple[str, str, str]]:
    """(name, who, URL) of what the benchmark measures."""
    with app.app_context():
        rid = sample_request()
    return [
        ("API list (coordinator, status=breeding)", "api-coordinator", "/api/v1/requests?status=breeding"),
        ("API detail", "api-coordinator", f"/api/v1/requests/{rid}"),
        ("Staff queue page", "page-staff", "/requests"),
        ("Request page (staff)", "page-staff", f"/requests/{rid}"),
        ("Request page (coordinator)", "page-coordinator", f"/requests/{rid}"),
        ("Review queue page (coordinator)", "page-coordinator", "/review"),
        ("Dashboard (coordinator)", "page-coordinator", "/dashboard"),
        ("Dashboard (ICS staff)", "page-staff", "/dashboard"),
        ("API list, text search (coordinator, q=cdk)", "api-coordinator", "/api/v1/requests?q=cdk"),
        ("Staff queue page, status sort, page 3", "page-staff", "/requests?sort=status&page=3"),
        ("CSV export of every page (coordinator, breeding)", "page-coordinator", "/requests.csv?all=1&status=breeding"),
    ]


def measure(app) -> dict:
    from bench.sqlcount import count_statements
    from conversion.extensions import db

    clients = {}
    for who, (email, password) in (("staff", STAFF), ("coordinator", COORDINATOR)):
        page = app.test_client()
        sign_in(page, email, password)
        clients[f"page-{who}"] = (page, {})
        api = app.test_client()
        clients[f"api-{who}"] = (api, bearer(api, email, password))
    out = {}
    for name, who, url in targets(app):
        client, headers = clients[who]
        res = client.get(url, headers=headers)
        assert res.status_code == 200, (url, res.status_code)
        with app.app_context():
            engine = db.engine
        with count_statements(engine) as seen:
            started = time.perf_counter()
            res = client.get(url, headers=headers)
            ms = (time.perf_counter() - started) * 1000
        assert res.status_code == 200, (url, res.status_code)
        out[name] = {
            "url": url,
            "statements": len(seen),
            "ms": round(ms, 1),
            "sql": seen if os.environ.get("SHOW_SQL") else None,
        }
    return out


def main() -> None:
    from conversion import create_app

    app = create_app(
        {
            "WTF_CSRF_ENABLED": True,
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    print(json.dumps(measure(app), indent=1))


if __name__ == "__main__":
    main()
