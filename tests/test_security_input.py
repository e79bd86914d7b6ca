"""Bad input: property-based fuzzing of every API endpoint and of the CSV import (never a 5xx,
nothing half-written), body size limits, deep nesting, NUL characters, CSV formula injection."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from urllib.parse import quote

import pytest
from conftest import api_token, sign_in
from flows import Api, walk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# FUZZ_EXAMPLES=500 for a longer hunt; the suite's default is quick and repeatable (derandomized).
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=os.environ.get("FUZZ_EXAMPLES") is None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Junk: wrong types, huge and odd strings (unicode, NUL, RTL, emoji, SQL and HTML), deep nesting.
ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "'; DROP TABLE users; --",
            "<script>alert(1)</script>",
            "=cmd|' /C calc'!A0",
            "\u202etxt.exe",
            "🐭" * 50,
            "EM:05402",
            "c",
            "tm1b",
            "2026-01-01",
            "0001-01-01",
            "9999-12-31",
            "approve",
            "MRC",
            "pass",
            "NaN",
            "-1",
            "1e309",
            "../../etc/passwd",
            # inputs that once answered 500 (docs/security.md): lone surrogates, huge exponents,
            # unicode digits, loose dates, CR/LF
            "1E+999999999",
            "-1E+999999999",
            "1e-999999999",
            "١٢",
            "４５",
            "²",
            "20260101",
            "2026-W01-1",
            "2026-01-01T00:00",
            "/requests\r\nX-Injected: 1",
            "\r\n",
        ]
    ),
    st.builds(lambda n, c: c * n, st.sampled_from([300, 5_000, 100_000]), st.sampled_from(["x", "é", "\x00"])),
)
# Lone surrogates (no UTF-8 form): JSON can carry them as \ud800 escapes (URLs cannot).
SURROGATES = st.one_of(
    st.sampled_from(["\ud800", "a\udc00b", "\udfff" * 3]),
    st.text(
        alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]), min_size=1, max_size=3
    ),
)
LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    ODD_TEXT,
    SURROGATES,
)
JUNK = st.recursive(
    LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
# Raw JSON number literals json.dumps cannot write: 5,000 digits, exponents past any float.
HUGE_NUMBER = st.sampled_from(
    [
        "9" * 5000,
        "-" + "1" * 4500,
        "1E+999999999",
        "-1e999999999",
        "1e-999999999",
        str(2**31),
        str(2**63),
        str(2**70),
        "1" + "0" * 40 + ".5",
        "NaN",
        "Infinity",
    ]
)


def _raw_bodies(spec: dict, schema: dict | None):
    """JSON texts with one of the endpoint's fields (or a nested line's) set to a HUGE_NUMBER."""
    names = list(_schema_fields(spec, schema)) if schema else []
    names = names or ["x"]
    return st.builds(
        lambda name, number, nest: (
            f'{{"{name}": [{{"quantity": {number}, "unit_price": {number}}}]}}' if nest else f'{{"{name}": {number}}}'
        ),
        st.sampled_from(names),
        HUGE_NUMBER,
        st.booleans(),
    )


DEEP = st.builds(
    lambda depth, kind: ("[" * depth + "]" * depth) if kind else ('{"a":' * depth + "1" + "}" * depth),
    st.sampled_from([50, 999, 5_000, 200_000]),
    st.booleans(),
)


def _schema_fields(spec: dict, schema: dict, depth: int = 0) -> dict[str, dict]:
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema.get("properties", {}) if depth < 3 else {}


def _bodies(spec: dict, schema: dict | None):
    """Objects with the endpoint's own field names (so that validation is passed more often)
    holding junk, plus junk of any shape."""
    if not schema:
        return JUNK
    fields = _schema_fields(spec, schema)
    nested = {}
    for name, prop in fields.items():
        item = prop.get("items", prop)
        if "$ref" in item or "allOf" in item:
            ref = item.get("$ref") or item["allOf"][0]["$ref"]
            sub = _schema_fields(spec, {"$ref": ref})
            inner = st.fixed_dictionaries({}, optional=dict.fromkeys(sub, JUNK))
            nested[name] = st.lists(inner, max_size=3) if "items" in prop else inner
    values = {name: st.one_of(JUNK, nested[name]) if name in nested else JUNK for name in fields}
    return st.one_of(st.fixed_dictionaries({}, optional=values), JUNK)


def api_endpoints(app) -> list[tuple[str, str]]:
    return sorted(
        (m, r.rule)
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1/")
        for m in r.methods - {"HEAD", "OPTIONS"}
    )


CALLER = [  # the most useful caller per endpoint: one who gets past the role checks
    (re.compile(r"^POST /api/v1/requests$"), "requester"),
    (re.compile(r"/(paperwork|matings|animals|qc|cryo|invoices|issue|credit-note)"), "staff_mrc"),
    (re.compile(r"."), "coordinator"),
]


def row_counts() -> dict:
    """Every table's row count (security_events aside: failed sign-ins are recorded on purpose)
    and every request's status and version."""
    from sqlalchemy import func, select, text

    from conversion.extensions import db

    db.session.rollback()
    counts = {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in db.metadata.sorted_tables
        if t.name != "security_events"
    }
    counts["request states"] = db.session.execute(
        text("SELECT id, status, version FROM conversion_requests ORDER BY id")
    ).all()
    return counts


@pytest.fixture
def world(seeded):
    api = Api(seeded.test_client())
    rid = api.submit("EM:05402", "c")["id"]
    walk(api, rid, "accepted", node="MRC")
    invoice = api.ok("staff_mrc", f"/requests/{rid}/invoices", status=201)
    breeding = api.submit("EM:05402", "b")["id"]  # where matings, animals and QC are taken
    walk(api, breeding, "breeding", node="MRC")
    cryo = api.submit("EM:05402", "d")["id"]
    walk(api, cryo, "cryopreservation", node="MRC")
    spec = seeded.test_client().get("/api/v1/openapi.json").get_json()
    tokens = {who: api_token(seeded.test_client(), who) for who in ("requester", "staff_mrc", "coordinator")}
    return {
        "request_id": rid,
        "invoice_id": invoice["id"],
        "spec": spec,
        "tokens": tokens,
        "request_ids": [rid, breeding, cryo],
    }


def _spec_op(spec, method, rule):
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.removeprefix("/api/v1"))
    return spec["paths"].get(path, {}).get(method.lower(), {})


def test_fuzz_every_api_endpoint(world, app):
    """Junk bodies, query strings and ids: never a 5xx; a refused call changes no row."""
    spec = world["spec"]
    client = app.test_client()
    endpoints = [e for e in api_endpoints(app) if e != ("DELETE", "/api/v1/tokens/current")]
    assert len(endpoints) >= 25

    for method, rule in endpoints:
        op = _spec_op(spec, method, rule)
        body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        query_names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"] or ["q"]
        who = next(w for pattern, w in CALLER if pattern.search(f"{method} {rule}"))
        headers = {"Authorization": f"Bearer {world['tokens'][who]}"}
        ids = st.one_of(
            st.sampled_from(world["request_ids"]),
            st.just(world["invoice_id"]),
            st.integers(min_value=0, max_value=2**70),
            st.sampled_from([2**31, 2**31 - 1, 2**63]),
        )
        if method in ("GET", "DELETE"):
            payload = st.dictionaries(
                st.sampled_from(query_names), st.one_of(ODD_TEXT, st.integers().map(str)), max_size=3
            )
        else:
            payload = st.one_of(
                _bodies(spec, body_schema), DEEP, st.binary(max_size=200), _raw_bodies(spec, body_schema)
            )

        @FUZZ
        @given(payload=payload, id_=ids, emma=ODD_TEXT)
        def run(payload, id_, emma):
            path = (
                rule.replace("<int:request_id>", str(id_))
                .replace("<int:invoice_id>", str(id_))
                .replace("<emma_id>", quote(emma, safe="") or "x")
            )
            before = row_counts()
            if method in ("GET", "DELETE"):
                res = client.open(path, method=method, query_string=payload, headers=headers)
            elif isinstance(payload, bytes) or isinstance(payload, str):
                res = client.open(path, method=method, data=payload, headers=headers, content_type="application/json")
            else:
                res = client.open(
                    path, method=method, data=json.dumps(payload), headers=headers, content_type="application/json"
                )
            assert res.status_code < 500, (
                method,
                path,
                payload if len(str(payload)) < 500 else "…",
                res.get_data(as_text=True)[:300],
            )
            if res.status_code >= 400:
                assert res.is_json and "error" in res.get_json(), (method, path, res.status_code)
                assert row_counts() == before, (method, path, res.status_code)

        run()


def test_fuzz_page_search_and_filters(world, app):
    """The query strings of the list and search pages: never a 5xx."""
    client = app.test_client()
    sign_in(client, "coordinator")
    pages = [
        "/",
        "/strains",
        "/requests",
        "/requests.csv",
        "/review",
        "/invoices",
        "/invoices.csv",
        "/dashboard",
        "/admin/security-events",
        "/prices",
    ]
    names = ["q", "status", "node", "sort", "page", "per_page", "before", "kind", "email", "target"]

    @FUZZ
    @given(
        page=st.sampled_from(pages),
        query=st.dictionaries(st.sampled_from(names), st.one_of(ODD_TEXT, st.integers().map(str)), max_size=4),
    )
    def run(page, query):
        res = client.get(page, query_string=query)
        assert res.status_code < 500, (page, query, res.status_code)

    run()


# ---- sizes and shapes -----------------------------------------------------------------------
def test_three_mebibyte_body_is_413_json_and_changes_nothing(world, app):
    client = app.test_client()
    before = row_counts()
    big = json.dumps({"strain": "EM:05402", "comment": "x" * (3 * 1024 * 1024)})
    headers = {"Authorization": f"Bearer {world['tokens']['requester']}"}
    res = client.post("/api/v1/requests", data=big, content_type="application/json", headers=headers)
    assert res.status_code == 413 and "error" in res.get_json()
    res = client.post("/api/v1/tokens", data=big, content_type="application/json")
    assert res.status_code == 413 and "error" in res.get_json()
    assert row_counts() == before
    page = app.test_client()
    sign_in(page, "coordinator")
    res = page.post("/login", data={"email": "x" * (3 * 1024 * 1024)})
    assert res.status_code == 413 and "text/html" in res.content_type


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"allele":' * 5000 + "1" + "}" * 5000])
def test_deeply_nested_json_is_400(seeded, client, body):
    res = client.post("/api/v1/feasibility", data=body, content_type="application/json")
    assert res.status_code == 400 and "nested too deeply" in res.get_json()["error"]


@pytest.mark.parametrize(
    "path", ["/api/v1/strains?q=%00", "/api/v1/strains/EM%3A0%00", "/strains?q=a%00b", "/api/v1/requests?q=%00"]
)
def test_nul_characters_are_refused_up_front(seeded, client, auth, path):
    res = client.get(path, headers=auth(client, "coordinator"))
    assert res.status_code == 400


def test_nul_in_json_and_forms_is_400(seeded, client, auth):
    res = client.post("/api/v1/feasibility", json={"allele": "Cdk5rap2\x00<tm1a(EUCOMM)Wtsi>", "target": "c"})
    assert res.status_code == 400 and "NUL" in res.get_json()["error"]
    from conftest import csrf_token

    token = csrf_token(client, "/login")
    res = client.post("/login", data={"email": "a\x00@example.org", "password": "x", "csrf_token": token})
    assert res.status_code == 400


# ---- the CSV import ---------------------------------------------------------------------------
HEADER = "emma_id,strain_name,allele_symbol,holder_node,material,access,industry_licence"
GOOD_ROW = "EM:20001,C57BL/6N-Abcd1<tm1a(EUCOMM)Wtsi>/H,Abcd1<tm1a(EUCOMM)Wtsi>,MRC,frozen_sperm,public,"
CELL = st.one_of(
    ODD_TEXT,
    st.sampled_from(
        [
            "EM:20002",
            "EM:2",
            "MRC",
            "mrc",
            "XYZ",
            "frozen_sperm",
            "live",
            "public",
            "confidential",
            "genoway",
            "Abcd1<tm1b(EUCOMM)Wtsi>",
            "Abcd1<tm1a",
            '"quoted, comma"',
            '"unterminated',
        ]
    ),
)


def _csv_text(rows) -> str:
    return HEADER + "\n" + "\n".join(",".join(row) for row in rows) + "\n"


def test_fuzz_csv_import_is_all_or_nothing(seeded):
    from conversion.catalogue.importer import ImportFailed, import_csv
    from conversion.catalogue.models import Strain
    from conversion.extensions import db

    def count():
        db.session.rollback()
        return db.session.query(Strain).count()

    @FUZZ
    @given(
        data=st.one_of(
            st.binary(max_size=300),
            st.lists(st.lists(CELL, min_size=5, max_size=8), max_size=5).map(_csv_text),
            # one good row next to junk: the good row must not be imported alone
            st.lists(st.lists(CELL, min_size=7, max_size=7), min_size=1, max_size=3).map(
                lambda rows: _csv_text([GOOD_ROW.split(",")] + rows)
            ),
        )
    )
    def run(data):
        raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
        before = count()
        try:
            imported = import_csv(raw)
        except ImportFailed as exc:
            assert exc.errors and all(isinstance(e, str) for e in exc.errors)
            assert count() == before
        else:
            assert count() == before + imported
            db.session.query(Strain).filter(Strain.id > 0, Strain.emma_id.notin_([s for s in _SEEDED])).delete(
                synchronize_session=False
            )
            db.session.commit()

    _SEEDED = {s.emma_id for s in db.session.query(Strain)}
    run()


def test_csv_import_command_reports_lines_and_imports_nothing(seeded, tmp_path):
    from conversion.catalogue.models import Strain
    from conversion.extensions import db

    before = db.session.query(Strain).count()
    path = tmp_path / "strains.csv"
    path.write_text(_csv_text([GOOD_ROW.split(","), ["EM:20002", "x\x00", "Abcd1<tm1a", "XYZ", "live", "public", ""]]))
    res = seeded.test_cli_runner().invoke(args=["strains", "import", str(path)])
    assert res.exit_code != 0
    assert db.session.query(Strain).count() == before


# ---- CSV exports -----------------------------------------------------------------------------
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def test_every_csv_export_neutralises_formulas(seeded, app):
    """Every *.csv page, as every role: no cell that a spreadsheet would run as a formula."""
    from conftest import DEMO
    from invoice_helpers import accepted, invoice

    from conversion.accounts.operations import create_user
    from conversion.extensions import db

    create_user("=1+2@example.org", "formula-pass-1", "requester", name="+SUM(A1)", organisation="@cmd")
    DEMO["formula"] = ("=1+2@example.org", "formula-pass-1")
    try:
        api = Api(app.test_client())
        billing = {
            "organisation": "=cmd|' /C calc'!A0",
            "address": "-2+3",
            "country": "FR",
            "vat_number": None,
            "sector": "academic",
        }
        rid = accepted(api, billing, node="ICS", who="formula")
        inv = invoice(api, rid)
        api.ok("staff_ics", f"/invoices/{inv['id']}/credit-note", {"reason": "=1+1"}, status=201)
        exports = sorted(
            r.rule
            for r in app.url_map.iter_rules()
            if r.rule.endswith(".csv") and "GET" in r.methods and "<" not in r.rule
        )
        assert {"/requests.csv", "/invoices.csv"} <= set(exports)
        checked = 0
        for who in ("formula", "staff_ics", "coordinator"):
            client = app.test_client()
            assert sign_in(client, who).status_code == 302
            for path in exports:
                res = client.get(path)
                assert res.status_code == 200 and res.mimetype == "text/csv", (who, path)
                for row in csv.reader(io.StringIO(res.get_data(as_text=True))):
                    for cell in row:
                        checked += 1
                        if cell.startswith(FORMULA):
                            assert re.fullmatch(r"-\d+(\.\d+)?", cell), (who, path, cell)
        assert checked > 20
    finally:
        DEMO.pop("formula")
        db.session.rollback()
