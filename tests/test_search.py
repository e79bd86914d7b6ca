"""Searching requests: a whole reference, its start, or a piece from its middle, a product symbol's
or an EMMA id's or gene's piece finds exactly the requests that contain the text (case-insensitive),
in the API list, the whole list's CSV export and on the staff queue page, whatever characters the
text holds. A search starting with "AC-" is answered as a prefix (migration 0019), on SQLite a search
of 3+ characters from a trigram index (migration 0021): the answers must not change. On SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
import re

import pytest
from conftest import sign_in
from flows import Api, fresh_strain, walk

from conversion.requests import operations


def test_reference_searches_find_what_contains_the_text(seeded, client):
    api = Api(client)
    ids = [api.submit(fresh_strain(), "c")["id"] for _ in range(12)]
    for rid in ids[:4]:
        walk(api, rid, "assigned", node="MRC")
    everything = api.get("coordinator", "/requests?limit=100").get_json()["items"]
    refs = {item["reference"] for item in everything}
    first = min(refs)
    terms = [
        first,  # a whole reference
        first.lower(),
        first[:-1],  # its start: the ten requests numbered alike
        first[:8],  # "AC-2026-"
        "ac-",
        first[3:],  # from the middle, not starting with AC-
        first[-4:],
        "AC-1999-",  # nothing
        "xac-",
    ]
    for term in terms:
        expected = {ref for ref in refs if term.lower() in ref.lower()}
        found = {
            item["reference"] for item in api.get("coordinator", f"/requests?q={term}&limit=100").get_json()["items"]
        }
        assert found == expected, term
    coordinator = seeded.test_client()
    sign_in(coordinator, "coordinator")
    for term in terms:  # the whole list's CSV export (its own statement, request_filter's condition)
        export = coordinator.get("/requests.csv", query_string={"all": 1, "q": term}).get_data(as_text=True)
        exported = {row[0] for row in csv.reader(io.StringIO(export))} - {"Reference"}
        assert exported & refs == {ref for ref in refs if term.lower() in ref.lower()}, term
    sign_in(client, "staff_mrc")
    at_mrc = {item["reference"] for item in everything if item["node"] == "MRC"}
    assert len(at_mrc) == 4 and len(refs) >= 12
    for term in terms:
        page = client.get("/requests", query_string={"q": term, "per_page": 100}).get_data(as_text=True)
        shown = set(re.findall(r"AC-\d{4}-\d{5,}", page)) & refs
        assert shown == {ref for ref in at_mrc if term.lower() in ref.lower()}, term


# Product symbols with characters that mean something to LIKE ('%', '_', '\'), to SQL ('"', "'")
# or to a full-text query ('*', '-', ':', '^', AND / OR / NEAR), and non-ASCII letters (lowercase:
# SQLite's lower() and LIKE fold ASCII letters only, as before migration 0021).
ODD_SYMBOLS = [
    "Odd1<tm1a(100%_x)Wtsi>",
    'Odd2<tm1b(a\\b"c)Wtsi>',
    "Odd3<tm1c(it's*-x)Ics>",
    "Odd4<tm1(AND OR NEAR)Hmgu>",
    "Odd5<tm2(NEAR(x y):^z)Mrc>",
    "Müller<tm1(éçø)Ics>",
    "Odd7<tm1a(x%y)Wtsi>",
]
ODD_TERMS = [
    "%",
    "_",
    "\\",
    '"',
    "'",
    "*",
    "-",
    "%_",
    "100%",
    "0%_x",
    "x%y",
    "x_y",  # '_' literal: not "x%y"
    "a\\b",
    'b"c',
    '\\b"c)',
    "it's",
    "'s*-x",
    "s*",
    "AND",
    "and or",
    "OR NEAR",
    "NEAR(",
    "near(x y):^z",
    ":^",
    "müller",
    "MÜLLER",  # lowercased by the search
    "éçø",
    "ü",
    "llé",
    "tm1",
    "TM1A(",
    "wtsi>",
    "<",
    "o",
    "od",
    "odd",
    "Odd1<tm1a(100%_x)Wtsi>",  # a whole symbol
]


def _found_everywhere(seeded, client, api, everything, terms, at_mrc):
    """For each term, the references each of the three searches finds (API list as the
    coordinator, whole-list CSV as the coordinator, staff queue page at MRC) must be exactly those
    of a Python substring filter over what each one may see."""
    coordinator = seeded.test_client()
    sign_in(coordinator, "coordinator")
    sign_in(client, "staff_mrc")
    refs = {item["reference"] for item in everything}
    for term in terms:
        needle = term.strip().lower()
        expected = {
            item["reference"]
            for item in everything
            if any(needle in (item[key] or "").lower() for key in ("reference", "product_symbol", "strain", "gene"))
        }
        answer = api.get("coordinator", "/requests", query_string={"q": term, "limit": 100})
        assert answer.status_code == 200, (term, answer.get_data(as_text=True))
        assert {item["reference"] for item in answer.get_json()["items"]} == expected, term
        pages, listing = [], api.get("coordinator", "/requests", query_string={"q": term, "limit": 3}).get_json()
        while True:  # the same, three at a time (the keyset cursor)
            pages += [item["reference"] for item in listing["items"]]
            if not listing["next"]:
                break
            listing = api.client.get(listing["next"], headers=api.headers("coordinator")).get_json()
        assert sorted(pages, reverse=True) == pages and set(pages) == expected, term
        export = coordinator.get("/requests.csv", query_string={"all": 1, "q": term})
        assert export.status_code == 200, term
        exported = {row[0] for row in csv.reader(io.StringIO(export.get_data(as_text=True)))} - {"Reference"}
        assert exported & refs == expected, term
        page = client.get("/requests", query_string={"q": term, "per_page": 100})
        assert page.status_code == 200, term
        shown = set(re.findall(r"AC-\d{4}-\d{5,}", page.get_data(as_text=True))) & refs
        assert shown == expected & at_mrc, term


def _set_symbol(rid: int, symbol: str) -> None:
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    db.session.get(ConversionRequest, rid).product_symbol = symbol
    db.session.commit()


@pytest.mark.parametrize("frequent", [False, True])
def test_any_search_text_finds_exactly_what_contains_it(seeded, client, monkeypatch, frequent):
    """References, product symbols, EMMA ids and genes, searched whole, by their start, middle or
    a character or two; characters special to LIKE, SQL or a full-text query match themselves.
    `frequent`: the API list takes any search found at all as found in many requests (on SQLite it
    then keeps LIKE rather than the ids the trigram index found: operations.FREQUENT_MATCHES)."""
    if frequent:
        monkeypatch.setattr(operations, "FREQUENT_MATCHES", 1)
    api = Api(client)
    ids = [api.submit(fresh_strain(), "c")["id"] for _ in range(len(ODD_SYMBOLS) + 2)]
    for rid, symbol in zip(ids, ODD_SYMBOLS):
        _set_symbol(rid, symbol)
    for rid in ids[::3]:
        walk(api, rid, "assigned", node="MRC")
    everything = api.get("coordinator", "/requests?limit=100").get_json()["items"]
    assert {item["product_symbol"] for item in everything} >= set(ODD_SYMBOLS)
    at_mrc = {item["reference"] for item in everything if item["node"] == "MRC"}
    assert at_mrc and len(at_mrc) < len(everything)
    first = min(item["reference"] for item in everything)
    strain = next(item for item in everything if item["gene"].startswith("Tst"))
    terms = (
        ODD_TERMS
        + [
            first,
            first.lower()[:-2],
            first[3:9],  # the middle of a reference: "2026-0"
            first[-3:],
            strain["strain"],  # a whole EMMA id
            strain["strain"][3:],
            strain["gene"].lower(),
            "tst",
            "EM:",
            "  " + strain["gene"] + " ",  # surrounding spaces do not count
            "zzz",
        ]
    )
    _found_everywhere(seeded, client, api, everything, terms, at_mrc)


def test_non_ascii_letters_match_as_the_databases_lower_and_like_do(seeded, client):
    """Upper-case non-ASCII letters and letters some case foldings turn into ASCII ones (the Kelvin
    sign, the long s): a search finds exactly what `lower(x) LIKE '%search%'` finds on the database
    (SQLite's lower() folds ASCII letters only, PostgreSQL's all of them): the definition of the
    search before SQLite's trigram index, which must not change it."""
    from sqlalchemy import text

    from conversion.extensions import db

    api = Api(client)
    symbols = ["ÜBER<tm1(ÄÖ)Ics>", "Kelvin\u212a<tm1(abK)Ics>", "Long\u017fs<tm1(abſ)Ics>", "Straße<tm1(SS)Ics>"]
    for symbol in symbols:
        _set_symbol(api.submit(fresh_strain(), "c")["id"], symbol)
    like = text(
        "SELECT id FROM conversion_requests WHERE lower(reference) LIKE :p ESCAPE '\\' "
        "OR lower(product_symbol) LIKE :p ESCAPE '\\'"
    )
    for term in [
        "über",
        "ÜBER",
        "üb",
        "äö",
        "ÄÖ",
        "abk",
        "abK",
        "ab\u212a",
        "abs",
        "abſ",
        "ſs<",
        "straße",
        "STRASSE",
        "ss)",
    ]:
        pattern = "%" + term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        expected = {row[0] for row in db.session.execute(like, {"p": pattern})}
        answer = api.get("coordinator", "/requests", query_string={"q": term, "limit": 100}).get_json()
        assert {item["id"] for item in answer["items"]} == expected, term


def test_a_changed_or_deleted_request_is_found_accordingly(seeded, client):
    """The search follows a request's product symbol when it changes, and forgets a deleted one."""
    from sqlalchemy import delete

    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    api = Api(client)
    ids = [api.submit(fresh_strain(), "c")["id"] for _ in range(3)]
    _set_symbol(ids[0], "Before<tm1a(Quux)Wtsi>")

    def found(term: str) -> set[int]:
        answer = api.get("coordinator", "/requests", query_string={"q": term, "limit": 100}).get_json()
        return {item["id"] for item in answer["items"]}

    assert found("quux") == {ids[0]} and found("before<") == {ids[0]}
    _set_symbol(ids[0], "After<tm1a(Zork)Wtsi>")
    assert found("quux") == set() and found("before<") == set()
    assert found("zork") == {ids[0]} and found("after<") == {ids[0]}
    reference = db.session.get(ConversionRequest, ids[1]).reference
    assert found(reference) == {ids[1]}
    _set_symbol(ids[1], "Gone<tm1a(Zork)Wtsi>")
    assert found("zork") == {ids[0], ids[1]}
    # deleted with the rows that refer to it (the app never deletes a request; an administrator might)
    for table in reversed(db.metadata.sorted_tables):
        for fk in table.foreign_keys:
            if fk.column.table.name == "conversion_requests" and fk.parent.table is table:
                db.session.execute(delete(table).where(fk.parent == ids[1]))
    db.session.execute(delete(ConversionRequest.__table__).where(ConversionRequest.id == ids[1]))
    db.session.commit()
    assert found("zork") == {ids[0]} and found(reference) == set()
    assert found(reference[3:]) == set()


def _lowered(requests: list) -> list:
    """(id, reference, product symbol) as the trigram table holds them: SQLite's lower(), ASCII only."""
    ascii_lower = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
    return [(rid, *(None if x is None else x.translate(ascii_lower) for x in texts)) for rid, *texts in requests]


def test_the_sqlite_search_index_migration_upgrades_and_downgrades(seeded, client):
    """Migration 0021 (SQLite): upgrading fills the trigram table from the requests already there;
    downgrading drops it and its triggers (PostgreSQL: nothing to do either way)."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from conversion.extensions import db
    from conversion.requests.models import SEARCH_TABLE

    def search_objects() -> set[str]:
        return {
            row[0]
            for row in db.session.execute(
                text("SELECT name FROM sqlite_master WHERE name LIKE :name"), {"name": SEARCH_TABLE + "%"}
            )
        }

    api = Api(client)
    for _ in range(3):
        api.submit(fresh_strain(), "c")
    sqlite = db.engine.dialect.name == "sqlite"
    requests = db.session.execute(text("SELECT id, reference, product_symbol FROM conversion_requests")).all()
    assert requests
    db.session.remove()
    downgrade(revision="0021-1")  # the revision before 0021
    try:
        if sqlite:
            assert search_objects() == set()
    finally:
        db.session.remove()
        upgrade(revision="heads")
    if sqlite:
        assert {SEARCH_TABLE, f"{SEARCH_TABLE}_insert", f"{SEARCH_TABLE}_update", f"{SEARCH_TABLE}_delete"} <= (
            search_objects()
        )
        indexed = db.session.execute(text(f"SELECT rowid, reference, product_symbol FROM {SEARCH_TABLE}")).all()
        assert sorted(indexed) == sorted(_lowered(requests))
    assert {item["id"] for item in api.get("coordinator", f"/requests?q={requests[0][1][3:]}").get_json()["items"]} == {
        requests[0][0]
    }


def test_bulk_seeded_requests_are_searchable(app, client):
    """seed-bench writes requests in bulk (Core executemany): on SQLite the triggers of migration
    0021 index them as they come; a search finds them like any other request."""
    from sqlalchemy import text

    from bench.seed import seed_bench
    from conversion.extensions import db
    from conversion.requests.models import SEARCH_TABLE

    seed_bench(40, seed=3)
    requests = db.session.execute(text("SELECT id, reference, product_symbol FROM conversion_requests")).all()
    assert len(requests) == 40
    if db.engine.dialect.name == "sqlite":
        indexed = db.session.execute(text(f"SELECT rowid, reference, product_symbol FROM {SEARCH_TABLE}")).all()
        assert sorted(indexed) == sorted(_lowered(requests))
    api = Api(client)
    rid, reference, symbol = requests[len(requests) // 2]
    for term in (reference, reference[3:], reference.lower()):
        assert [item["id"] for item in api.get("coordinator", f"/requests?q={term}").get_json()["items"]] == [rid]
    term = symbol[: symbol.index("<") + 4].lower()
    expected = {r[0] for r in requests if term in r[2].lower() or term in (r[1] or "").lower()}
    answer = api.get("coordinator", "/requests", query_string={"q": term, "limit": 100}).get_json()
    assert {item["id"] for item in answer["items"]} == expected and rid in expected
