"""The URLs each benchmark series walks: thousands of distinct request ids, list URLs over every
state x node, deep pages, and text searches by reference and by gene (issue 20).

    urls = series(engine)         # {series: [ "GET /path", ... ]}, the same for a given database

bench/run.py writes each list to a file that `wrk -s bench/paths.lua` cycles through;
bench/profile.py calls them in-process. A line is "GET <path>" or, for the mixed series,
"T <request id>": a transition (hold, then resume) of that request through the API."""

from __future__ import annotations

import random
from urllib.parse import urlencode

from sqlalchemy import text

IDS = 3000  # distinct request ids per detail series (at most)
SORTS = ("newest", "oldest", "updated", "status", "gene")
PER_PAGE = 25
API_LIMIT = 25
CSV_ROWS = 5000  # the CSV export series: a filter matching about this many rows
TRANSITION_IDS = 400  # breeding requests held and resumed by the mixed series


def _rows(conn, sql: str, **params) -> list:
    return list(conn.execute(text(sql), params))


def _spread(values: list, n: int, rng: random.Random) -> list:
    values = list(values)
    rng.shuffle(values)
    return values[:n]


def _get(path: str, params: dict | None = None) -> str:
    query = urlencode({k: v for k, v in (params or {}).items() if v not in (None, "")})
    return "GET " + path + (f"?{query}" if query else "")


def series(engine, *, staff_node: str = "ICS", seed: int = 20) -> dict[str, list[str]]:
    rng = random.Random(seed)
    with engine.connect() as conn:
        node_id = _rows(conn, "SELECT id FROM nodes WHERE code = :c", c=staff_node)[0][0]
        all_ids = [r[0] for r in _rows(conn, "SELECT id FROM conversion_requests ORDER BY id")]
        node_ids = [
            r[0] for r in _rows(conn, "SELECT id FROM conversion_requests WHERE node_id = :n ORDER BY id", n=node_id)
        ]
        nodes = [r[0] for r in _rows(conn, "SELECT code FROM nodes WHERE offers_conversion ORDER BY code")]
        states = [r[0] for r in _rows(conn, "SELECT DISTINCT status FROM conversion_requests ORDER BY 1")]
        per_state = dict(
            _rows(
                conn, "SELECT status, count(*) FROM conversion_requests WHERE node_id = :n GROUP BY status", n=node_id
            )
        )
        refs = [r[0] for r in _rows(conn, "SELECT reference FROM conversion_requests ORDER BY id")]
        genes = [
            r[0]
            for r in _rows(
                conn,
                "SELECT DISTINCT s.gene FROM strains s JOIN conversion_requests r ON r.strain_id = s.id ORDER BY 1",
            )
        ]
        combos = _rows(
            conn,
            "SELECT n.code, r.status, count(*) FROM conversion_requests r "
            "JOIN nodes n ON n.id = r.node_id GROUP BY n.code, r.status",
        )
        breeding = [
            r[0] for r in _rows(conn, "SELECT id FROM conversion_requests WHERE status = 'breeding' ORDER BY id DESC")
        ]
        invoices = [r[0] for r in _rows(conn, "SELECT id FROM invoices WHERE status = 'issued' ORDER BY id")]
    ref_terms = [ref.lower() for ref in _spread(refs, 200, rng)]
    gene_terms = _spread(genes, 100, rng)

    api_list = []
    for status in states:
        api_list.append(_get("/api/v1/requests", {"status": status}))
        for node in nodes:
            api_list.append(_get("/api/v1/requests", {"status": status, "node": node}))
    for node in nodes:
        api_list.append(_get("/api/v1/requests", {"node": node}))
    for rid in _spread(all_ids, 300, rng):  # deep pages: the keyset cursor anywhere in the table
        api_list.append(_get("/api/v1/requests", {"cursor": rid}))
    for term in ref_terms[:100] + gene_terms:
        api_list.append(_get("/api/v1/requests", {"q": term}))
    rng.shuffle(api_list)

    queue = []  # the staff work queue: every state x sort, deep pages, searches
    for status in [""] + sorted(per_state):
        total = per_state.get(status, len(node_ids)) if status else len(node_ids)
        pages = max(1, -(-total // PER_PAGE))
        for sort in SORTS:
            for page in sorted({1, 2, pages // 2, pages, rng.randint(1, pages)}):
                queue.append(
                    _get(
                        "/requests",
                        {"status": status, "sort": sort if sort != "newest" else "", "page": page if page > 1 else ""},
                    )
                )
    for term in ref_terms[100:] + gene_terms:
        queue.append(_get("/requests", {"q": term}))
    rng.shuffle(queue)

    # the CSV export: the (node, state) whose requests are closest to CSV_ROWS (all, when fewer)
    if len(all_ids) <= CSV_ROWS:
        csv_params = {"all": 1}
    else:
        code, status, _ = min(combos, key=lambda c: (abs(c[2] - CSV_ROWS), c[0], c[1]))
        csv_params = {"all": 1, "node": code, "status": status}

    detail_ids = _spread(all_ids, IDS, rng)
    detail = [f"GET /api/v1/requests/{rid}" for rid in detail_ids]
    held = breeding[:TRANSITION_IDS]  # the mixed series reads other requests than it holds
    skip = set(held)
    others = [f"GET /api/v1/requests/{rid}" for rid in detail_ids if rid not in skip]
    lists = api_list * (len(others) // max(1, len(api_list)) + 1)
    mixed = [line for pair in zip(others, lists, strict=False) for line in pair] + [f"T {rid}" for rid in held]
    return {
        "api_detail": detail,
        "api_list": api_list,
        "page_staff": [f"GET /requests/{rid}" for rid in _spread(node_ids, IDS, rng)],
        "page_coordinator": [f"GET /requests/{rid}" for rid in _spread(all_ids, IDS, rng)],
        "queue": queue,
        "review": ["GET /review"],
        "dashboard": ["GET /dashboard"],
        "csv": [_get("/requests.csv", csv_params)],
        "pdf": [f"GET /api/v1/invoices/{iid}.pdf" for iid in _spread(invoices, 500, rng)],
        "mixed": mixed,
    }


def csv_rows_expected(engine, line: str) -> int:
    """How many requests the CSV series' filter matches (for the report)."""
    from urllib.parse import parse_qs, urlsplit

    params = {k: v[0] for k, v in parse_qs(urlsplit(line.split(" ", 1)[1]).query).items()}
    where, bind = ["1 = 1"], {}
    if params.get("status"):
        where.append("r.status = :status")
        bind["status"] = params["status"]
    if params.get("node"):
        where.append("n.code = :node")
        bind["node"] = params["node"]
    with engine.connect() as conn:
        return _rows(
            conn,
            "SELECT count(*) FROM conversion_requests r LEFT JOIN nodes n ON n.id = r.node_id "
            "WHERE " + " AND ".join(where),
            **bind,
        )[0][0]
