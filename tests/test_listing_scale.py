"""The request list with many requests: every sort, deep pages, filters and the text search show
exactly the requests (and order) that a plain sort of everything the user may see gives, and a
page costs the same number of SQL statements however many requests there are.

The list reads a page's ids first and loads those rows afterwards (conversion/requests/listing.py);
these tests compare its answers, through the CSV export of what is shown and the HTML page, with
orderings computed here in Python from all the requests."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from urllib.parse import urlencode

import pytest
from conftest import DEMO, sign_in

N = 300
PER_PAGE = 25

# The list's sorts, written out plainly: (key, reverse) for sorted(); every one ends on the id.
ORDERINGS = {
    "newest": (lambda r: r["id"], True),
    "oldest": (lambda r: r["id"], False),
    "updated": (lambda r: (r["updated_at"], r["id"]), True),
    "status": (lambda r: (r["status"], -r["id"]), False),
    "gene": (lambda r: (r["gene"], -r["id"]), False),
}


@pytest.fixture
def bench(seeded):
    """N requests over every state and node; one in five shares its last change with others (as
    after a bulk action), so "Recently changed" has ties for the id to break."""
    from datetime import datetime

    from sqlalchemy import update

    from bench.seed import seed_bench
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    seed_bench(N, seed=5)
    for n in range(5):
        db.session.execute(
            update(ConversionRequest)
            .where(ConversionRequest.id % 25 == n * 5)
            .values(updated_at=datetime(2026, 1, 10 + n, 9, 30, tzinfo=UTC))
        )
    db.session.commit()
    return seeded


def everything() -> list[dict]:
    """Every request with what the list sorts and searches on (one plain query, no paging)."""
    from sqlalchemy import select

    from conversion.catalogue.models import Strain
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    db.session.expire_all()
    rows = db.session.execute(
        select(
            ConversionRequest.id,
            ConversionRequest.reference,
            ConversionRequest.status,
            ConversionRequest.updated_at,
            ConversionRequest.product_symbol,
            ConversionRequest.node_id,
            ConversionRequest.requester_id,
            Strain.gene,
            Strain.emma_id,
        ).join(Strain, Strain.id == ConversionRequest.strain_id)
    ).all()
    return [row._asdict() for row in rows]


def visible_to(who: str, rows: list[dict]) -> list[dict]:
    from sqlalchemy import select

    from conversion.accounts.models import User
    from conversion.extensions import db

    user = db.session.scalar(select(User).where(User.email == DEMO[who][0]))
    if user.role.value == "requester":
        return [r for r in rows if r["requester_id"] == user.id]
    if user.role.value == "staff":
        return [r for r in rows if r["node_id"] == user.node_id]
    return rows


def matching(rows: list[dict], q: str) -> list[dict]:
    """Case-insensitive substring of the reference, product symbol, strain EMMA id or gene."""
    q = q.strip().lower()
    return [
        r for r in rows if any(q in (r[k] or "").lower() for k in ("reference", "product_symbol", "emma_id", "gene"))
    ]


def ordered(rows: list[dict], sort: str) -> list[str]:
    key, reverse = ORDERINGS[sort]
    return [r["reference"] for r in sorted(rows, key=key, reverse=reverse)]


def page_of(refs: list[str], page: int, per_page: int = PER_PAGE) -> list[str]:
    last = max(1, -(-len(refs) // per_page))
    page = min(page, last)
    return refs[(page - 1) * per_page : page * per_page]


def shown(client, **params) -> list[str]:
    """The references the list shows for these parameters, in order (its CSV export)."""
    res = client.get("/requests.csv?" + urlencode(params))
    assert res.status_code == 200, params
    rows = list(csv.reader(io.StringIO(res.get_data(as_text=True))))
    assert rows[0][0] == "Reference"
    return [row[0] for row in rows[1:]]


def client_for(app, who: str):
    client = app.test_client()
    assert sign_in(client, who).status_code == 302
    return client


def test_every_sort_shows_the_same_requests_in_the_same_order_on_every_page(bench):
    client = client_for(bench, "coordinator")
    rows = everything()
    assert len(rows) == N and len({r["updated_at"] for r in rows}) < N - 50
    pages = -(-N // PER_PAGE)
    for sort in ORDERINGS:
        expected = ordered(rows, sort)
        for page in (1, 2, pages // 2, pages - 1, pages):
            assert shown(client, sort=sort, page=page) == page_of(expected, page), (sort, page)
        # Past the last page: the last page (the page numbers stay consistent).
        assert shown(client, sort=sort, page=pages + 7) == page_of(expected, pages), sort
        assert shown(client, sort=sort, page=2, per_page=100) == expected[100:200], sort
    # Walking all pages shows each request exactly once.
    walked = [ref for page in range(1, pages + 1) for ref in shown(client, sort="gene", page=page)]
    assert walked == ordered(rows, "gene") and len(set(walked)) == N


def test_the_page_says_where_it_is_in_the_list(bench):
    client = client_for(bench, "coordinator")
    pages = -(-N // PER_PAGE)
    html = client.get(f"/requests?sort=updated&page={pages - 2}").get_data(as_text=True)
    first = (pages - 3) * PER_PAGE + 1
    assert f"Showing {first}–{first + PER_PAGE - 1} of {N} requests" in html
    assert f"Page {pages - 2} of {pages}" in html
    expected = page_of(ordered(everything(), "updated"), pages - 2)
    positions = [html.index(f"<strong>{ref}</strong>") for ref in expected]
    assert positions == sorted(positions)  # the same rows as the CSV, in the same order


@pytest.mark.parametrize("who", ["staff_ics", "staff_mrc", "requester"])
def test_staff_and_requesters_page_through_only_their_requests_in_order(bench, who):
    client = client_for(bench, who)
    mine = visible_to(who, everything())
    assert mine and len(mine) < N
    pages = -(-len(mine) // PER_PAGE)
    for sort in ORDERINGS:
        expected = ordered(mine, sort)
        for page in sorted({1, pages}):
            assert shown(client, sort=sort, page=page) == page_of(expected, page), (who, sort, page)


def test_filters_with_each_sort_and_deep_pages(bench):
    client = client_for(bench, "coordinator")
    rows = everything()
    from conversion.catalogue.operations import get_node

    ics, mrc = get_node("ICS").id, get_node("MRC").id
    cases = [
        ({"status": "completed"}, [r for r in rows if r["status"] == "completed"]),
        ({"node": "ICS"}, [r for r in rows if r["node_id"] == ics]),
        (
            {"node": "MRC", "status": "completed"},
            [r for r in rows if r["node_id"] == mrc and r["status"] == "completed"],
        ),
        ({"node": "MRC", "q": "tm1"}, [r for r in matching(rows, "tm1") if r["node_id"] == mrc]),
    ]
    for filters, want in cases:
        assert want, filters
        pages = -(-len(want) // PER_PAGE)
        for sort in ORDERINGS:
            expected = ordered(want, sort)
            for page in sorted({1, 2, pages}):
                assert shown(client, **filters, sort=sort, page=page) == page_of(expected, page), (filters, sort, page)


@pytest.mark.parametrize(
    "q",
    [
        "cdk",
        "  CDK5RAP2 ",
        "em:05",
        "slc2a1",
        "fbxo7",
        "tm1b(eucomm)",
        "ac-2",
        "-0001",
        "2",
        "wtsi",
        "%",
        "_",
        "\\",
        "tm1%b",
        "no such thing",
    ],
)
def test_search_finds_the_same_requests_on_every_page_and_sort(bench, q):
    client = client_for(bench, "coordinator")
    want = matching(everything(), q)
    if q in ("%", "_", "\\", "tm1%b", "no such thing"):
        assert want == []  # wildcards are literal characters: nothing has them
    html = client.get("/requests?" + urlencode({"q": q})).get_data(as_text=True)
    total = len(want)
    assert (f"of {total} request{'s' if total != 1 else ''}" if total else "No requests") in html
    pages = max(1, -(-total // PER_PAGE))
    for sort in ORDERINGS:
        expected = ordered(want, sort)
        for page in sorted({1, 2, pages}):
            assert shown(client, q=q, sort=sort, page=page) == page_of(expected, page), (q, sort, page)


def test_search_matching_many_strains_finds_the_same_requests(bench, monkeypatch):
    """Past STRAIN_IDS_INLINE matching strains their ids stay a subquery: same answers."""
    from conversion.requests import operations

    monkeypatch.setattr(operations, "STRAIN_IDS_INLINE", 3)
    client = client_for(bench, "coordinator")
    for q in ("em:", "em:1", "1"):
        want = matching(everything(), q)
        pages = max(1, -(-len(want) // PER_PAGE))
        for sort in ("newest", "gene"):
            for page in sorted({1, 2, pages}):
                assert shown(client, q=q, sort=sort, page=page) == page_of(ordered(want, sort), page), (q, sort, page)


def test_staff_search_is_within_their_node(bench):
    client = client_for(bench, "staff_ics")
    want = matching(visible_to("staff_ics", everything()), "tm1")
    assert len(want) > 2 * PER_PAGE
    pages = -(-len(want) // PER_PAGE)
    for sort in ORDERINGS:
        assert shown(client, q="tm1", sort=sort, page=pages) == page_of(ordered(want, sort), pages), sort


URLS = [
    ("coordinator", "/requests?sort=gene&page=3"),
    ("coordinator", "/requests?sort=updated&page=3&per_page=50"),
    ("coordinator", "/requests?sort=status&page=2&node=ICS"),
    ("coordinator", "/requests?q=tm1&sort=gene&page=2"),
    ("coordinator", "/requests?q=tm1&page=2"),
    ("coordinator", "/requests.csv?sort=oldest&page=3"),
    ("staff_ics", "/requests?sort=gene&page=2"),
    ("staff_ics", "/requests?q=tm1&sort=updated&page=2"),
    ("requester", "/requests?sort=status"),
]


def test_statements_per_page_do_not_grow_with_the_requests(seeded):
    from bench.seed import seed_bench
    from bench.sqlcount import count_statements
    from conversion.extensions import db

    clients = {who: client_for(seeded, who) for who in {who for who, _ in URLS}}

    def measure() -> dict:
        counts = {}
        for who, url in URLS:
            assert clients[who].get(url).status_code == 200, url  # warm-up
            with count_statements(db.engine) as seen:
                res = clients[who].get(url)
            assert res.status_code == 200, url
            counts[(who, url)] = len(seen)
        return counts

    seed_bench(80, seed=3)
    before = measure()
    seed_bench(N, seed=4)
    after = measure()
    assert after == before
    # A page: the sign-in lookup, the count, the page and, for a search, the matching strains.
    assert before[("coordinator", "/requests?sort=gene&page=3")] <= 5
    assert (
        before[("coordinator", "/requests?q=tm1&page=2")] == before[("coordinator", "/requests?sort=gene&page=3")] + 1
    )
