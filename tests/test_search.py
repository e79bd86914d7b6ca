"""Searching requests by reference: a whole reference, its start, or a piece from its middle finds
exactly the requests whose reference contains the text (case-insensitive), in the API list, the
whole list's CSV export and on the staff queue page. A search starting with "AC-" is answered as a
prefix (migration 0019): the answers must not change. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re

from conftest import sign_in
from flows import Api, fresh_strain, walk


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
