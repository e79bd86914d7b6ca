"""Request lists on pages: filters, sorting, page numbers and the CSV of exactly what is shown."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.sql import operators

from ..accounts.models import Role, User
from ..catalogue.models import Node, Strain
from ..exports import csv_writer
from ..extensions import by_key, db
from ..reads import Read
from .models import ConversionRequest
from .operations import (
    ROW_NODE,
    ROW_STRAIN,
    RequestFilter,
    bound_search,
    check_status,
    ids_in,
    inline_ids,
    list_read,
    request_filter,
    run_ids,
    run_list,
    sql_limit,
    text_search,
    unknown_node,
    visible_by_params,
    with_strain_and_node,
)
from .present import iso, state_label

SORTS = {
    "newest": ("Newest first", (ConversionRequest.id.desc(),)),
    "oldest": ("Oldest first", (ConversionRequest.id.asc(),)),
    "updated": ("Recently changed", (ConversionRequest.updated_at.desc(), ConversionRequest.id.desc())),
    "status": ("Status", (ConversionRequest.status.asc(), ConversionRequest.id.desc())),
    "gene": ("Gene", (Strain.gene.asc(), ConversionRequest.id.desc())),
}
PER_PAGE = (25, 50, 100)

# (heading, value) shown in the table and written to the CSV, in this order.
COLUMNS = [
    ("Reference", lambda r: r.reference),
    ("Status", lambda r: state_label(r.status)),
    ("Strain", lambda r: r.strain.emma_id),
    ("Gene", lambda r: r.strain.gene),
    ("Product", lambda r: r.product_symbol),
    ("Node", lambda r: r.node.code if r.node else ""),
    ("Requester", lambda r: r.requester.email),
    ("Submitted", lambda r: iso(r.created_at)),
    ("Last change", lambda r: iso(r.updated_at)),
]


@dataclass
class Listing:
    items: list  # ConversionRequest, or Row
    total: int
    page: int
    per_page: int
    args: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)

    def rows(self) -> list[list[str]]:
        return [[str(value(r) or "") for _, value in COLUMNS] for r in self.items]


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def read_args(source) -> dict:
    """The list parameters from a query string, cleaned: status, node, q, sort, page, per_page."""
    args = {
        "status": (source.get("status") or "").strip()[:30],
        "node": (source.get("node") or "").strip().upper()[:20],
        "q": (source.get("q") or "").strip()[:200],
        "sort": source.get("sort") if source.get("sort") in SORTS else "newest",
        "page": max(1, _int(source.get("page"), 1)),
        "per_page": _int(source.get("per_page"), PER_PAGE[0]),
    }
    if args["per_page"] not in PER_PAGE:
        args["per_page"] = PER_PAGE[0]
    return args


class Row:
    """A request of a list as the list shows it (and as lifecycle.available_triggers reads it),
    read with Core: loading entities with their strain, node and requester cost more CPU than
    the rest of the staff queue's statements together. The strain's, node's and requester's
    columns are plain attributes (present.list_rows); `strain`, `node` and `requester` give them
    the entities' shape (COLUMNS, the CSV)."""

    __slots__ = ("id", "reference", "status", "held_status", "node_id", "requester_id", "product_symbol")
    __slots__ += ("created_at", "updated_at", "emma_id", "gene", "node_code", "email")

    def __init__(self, row) -> None:
        (
            self.id,
            self.reference,
            self.status,
            self.held_status,
            self.node_id,
            self.requester_id,
            self.product_symbol,
            self.created_at,
            self.updated_at,
            self.emma_id,
            self.gene,
            self.node_code,
            self.email,
        ) = row

    @property
    def strain(self) -> SimpleNamespace:
        return SimpleNamespace(emma_id=self.emma_id, gene=self.gene)

    @property
    def node(self) -> SimpleNamespace | None:
        return SimpleNamespace(code=self.node_code) if self.node_code is not None else None

    @property
    def requester(self) -> SimpleNamespace:
        return SimpleNamespace(email=self.email)


ROW_COLUMNS = (
    ConversionRequest.id,
    ConversionRequest.reference,
    ConversionRequest.status,
    ConversionRequest.held_status,
    ConversionRequest.node_id,
    ConversionRequest.requester_id,
    ConversionRequest.product_symbol,
    ConversionRequest.created_at,
    ConversionRequest.updated_at,
    ROW_STRAIN.emma_id.label("emma_id"),
    ROW_STRAIN.gene.label("gene"),
    ROW_NODE.code.label("code"),
    by_key(User.email, User.id, ConversionRequest.requester_id).label("email"),
)


_ROWS_OF = with_strain_and_node(select(*ROW_COLUMNS).select_from(ConversionRequest))
_ROWS = ids_in(_ROWS_OF)


def list_page(user: User, args: dict, *, rows: bool = False) -> Listing:
    """One page of the requests the user may see; raises Invalid for an unknown status or node.
    With `rows`, the items are `Row`s (what the list page and its CSV show), else entities.

    Statements (as many at 50,000 requests as at 50): for a text search the matching strains,
    the count, then the page: its ids ordered and cut in a subquery (page_ids) that an index
    answers, and only those rows loaded with their strain, node and requester, in the same order.
    The first page's ids carry the count (one statement for both). The statements are request_filter()'s, built once per shape (_page_statements) with every
    value a bound parameter: building them on every call cost more CPU than running them."""
    status, node = args["status"] or None, args["node"] or None
    check_status(status)
    params: dict = {"user_id": user.id, "user_node_id": user.node_id, "status": status}
    if node:
        node_id = _NODE_ID.first({"code": node.strip().upper()})
        if node_id is None:
            raise unknown_node(node)
        params["node_id"] = node_id[0]
    search = text_search(args["q"] or None, params)
    per_page, sort = args["per_page"], args["sort"]
    if rows and args["page"] == 1:
        # The first page's ids with the count (a subquery PostgreSQL runs once), then their
        # rows; no ids: no request matches. (A later page reads the count first: past the last
        # page, the last one is shown.) Two statements rather than one with the ids as a subquery
        # of the rows', because PostgreSQL plans the page's statement on every call (its OFFSET
        # varies) and planning the join took ~1 ms, the ids alone ~0.1; the rows' keeps its plan.
        params["limit"], params["offset"] = per_page, 0
        counted = _page_statements(user, bool(status), bool(node), search, sort, False, per_page)[2]
        found = run_list(counted, params)
        items = _rows_of([r[0] for r in found])
        return Listing(items, found[0][1] if found else 0, 1, per_page, {**args, "page": 1})
    count = _page_statements(user, bool(status), bool(node), search, sort, False, per_page)[0]
    total = run_list(count, params)[0][0]
    page = min(args["page"], max(1, -(-total // per_page)))
    params["limit"], params["offset"] = per_page, (page - 1) * per_page
    ids, ids_select = _page_statements(user, bool(status), bool(node), search, sort, page > 1, per_page)[1::2]
    if rows:
        items = _rows_of([r[0] for r in run_list(ids, params)])
        return Listing(items, total, page, per_page, {**args, "page": page})
    items = list(
        db.session.scalars(
            select(ConversionRequest)
            .join(Strain, ConversionRequest.strain_id == Strain.id)
            .options(
                contains_eager(ConversionRequest.strain),
                joinedload(ConversionRequest.node),
                joinedload(ConversionRequest.requester),
            )
            .where(ConversionRequest.id.in_(ids_select.correlate(None)))
            .order_by(*SORTS[sort][1]),
            params,
        ).unique()
    )
    return Listing(items, total, page, per_page, {**args, "page": page})


def _rows_of(ids: list) -> list[Row]:
    """The `Row`s of these request ids, in their order."""
    if not ids:
        return []
    found = run_ids(_ROWS, ids)
    by_id = {row[0]: Row(row) for row in found}
    return [by_id[i] for i in ids if i in by_id]


_PAGE_STATEMENTS: dict[tuple, tuple[Any, Any, Any, Select]] = {}
_NODE_ID = Read(select(Node.id).where(Node.code == bindparam("code")))


def _page_statements(
    user: User, status: bool, node: bool, search: str | None, sort: str, deep: bool, per_page: int
) -> tuple[Any, Any, Any, Select]:
    """(count, page ids, page ids with the count as a second column), as operations.list_read
    makes them for run_list, and the page ids' Select, of list_page for one shape of query:
    request_filter()'s conditions with bound parameters user_id, user_node_id, status, node_id
    (and text_search()'s), the page's LIMIT in the SQL text (three values: PostgreSQL can keep a
    generic plan), its OFFSET a parameter. `deep`: a page after the first (page_ids)."""
    role = user.role
    nodeless = role is Role.staff and user.node_id is None
    key = (role, nodeless, status, node, search, sort, deep, per_page if per_page in PER_PAGE else None)
    found = _PAGE_STATEMENTS.get(key)
    if found is not None:
        return found
    # as _visible_to for a staff user without a node: `node_id == None`
    where = [ConversionRequest.node_id.is_(None)] if nodeless else visible_by_params(role, "user_node_id")
    if status:
        where.append(ConversionRequest.status == bindparam("status"))
    if node:
        where.append(ConversionRequest.node_id == bindparam("node_id"))
    given = RequestFilter(tuple(where), bound_search(search))
    count = select(func.count(ConversionRequest.id)).where(*given.conditions)  # as count_requests
    limit = sql_limit(per_page, PER_PAGE)
    ids = page_ids(given, sort, limit, bindparam("offset", type_=Integer), deep=deep)
    counted = ids.add_columns(count.correlate(None).scalar_subquery().label("total"))
    readable = not inline_ids(search) and per_page in PER_PAGE  # (no expanding IN, no in_sql_text)
    _PAGE_STATEMENTS[key] = found = (
        list_read(count, readable),
        list_read(ids, readable),
        list_read(counted, readable),
        ids,
    )
    return found


def page_ids(given: RequestFilter, sort: str, limit: Any, offset: Any, *, deep: bool | None = None) -> Select:
    """The ids of one page, in the sort's order (each sort ends on id: a total order).

    Without a text search every condition is on conversion_requests alone and each sort is the
    order of one of its indexes (migration 0008), so PostgreSQL reads the ids from an index and
    skips `offset` entries of it without visiting the table ("gene": the strains in gene order,
    each one's ids from (strain_id, id), sorted by gene and id).

    With a search, page 1 is left to the planner: when matches are frequent, reading in the sort's
    order stops after `limit` of them. Later pages (`deep`; by default a non-zero `offset`) find
    the matches first, by the search's indexes as the count found them, and sort only those:
    reading in the sort's order would test every skipped request (up to all of them), so a page
    costs at most about what its count does. OFFSET 0 keeps PostgreSQL from merging the two steps
    back."""
    order = SORTS[sort][1]
    joined = sort == "gene"
    if given.search is None or not (bool(offset) if deep is None else deep):
        stmt = select(ConversionRequest.id).where(*given.conditions)
        if joined:
            stmt = stmt.join(Strain, ConversionRequest.strain_id == Strain.id)
        return stmt.order_by(*order).limit(limit).offset(offset)
    keys = [clause.element.label(f"key{n}") for n, clause in enumerate(order)]
    matches = select(ConversionRequest.id, *keys).where(*given.conditions)
    if joined:
        matches = matches.join(Strain, ConversionRequest.strain_id == Strain.id)
    matches = matches.offset(0).subquery("matches")
    by = [
        matches.c[key.name].desc() if clause.modifier is operators.desc_op else matches.c[key.name].asc()
        for key, clause in zip(keys, order)
    ]
    return select(matches.c.id).order_by(*by).limit(limit).offset(offset)


_NODE_CHOICES = Read(select(Node.code, Node.name, Node.offers_conversion).order_by(Node.code))


def node_choices() -> list:
    """The nodes as the list page's node filter and bulk form name them: rows of (code, name,
    offers_conversion) in code order (all_nodes() loaded every column as entities)."""
    return _NODE_CHOICES.all({})


def to_csv(listing: Listing) -> str:
    out = io.StringIO()
    writer = csv_writer(out)  # every cell quoted and neutralised (conversion/exports.py)
    writer.writerow([title for title, _ in COLUMNS])
    for row in listing.rows():
        writer.writerow(row)
    return out.getvalue()


# ---- the whole list as CSV, streamed ----------------------------------------------------
EXPORT_CHUNK = 1000  # rows fetched (and CSV lines sent) at a time
EXPORT_COLUMNS = (
    ConversionRequest.reference,
    ConversionRequest.status,
    Strain.emma_id,
    Strain.gene,
    ConversionRequest.product_symbol,
    Node.code,
    User.email,
    ConversionRequest.created_at,
    ConversionRequest.updated_at,
)  # COLUMNS, as plain columns


def export_query(user: User, args: dict) -> Select:
    """Every request the list's filters match (all pages), in the list's order, as one Core
    statement of EXPORT_COLUMNS; raises Invalid for an unknown status or node (before any byte is sent)."""
    given = request_filter(user, status=args["status"] or None, node=args["node"] or None, q=args["q"] or None)
    return (
        select(*EXPORT_COLUMNS)
        .select_from(ConversionRequest)
        .join(Strain, ConversionRequest.strain_id == Strain.id)
        .join(User, ConversionRequest.requester_id == User.id)
        .outerjoin(Node, ConversionRequest.node_id == Node.id)
        .where(*given.conditions)
        .order_by(*SORTS[args["sort"]][1])
        .params(given.params)
    )


def csv_stream(stmt: Select) -> Iterator[str]:
    """The CSV of `stmt` (export_query) in chunks: rows are read EXPORT_CHUNK at a time (a
    server-side cursor on PostgreSQL) and each chunk is sent before the next is read, so a
    worker's memory does not grow with the number of rows."""
    out = io.StringIO()
    writer = csv_writer(out)  # every cell quoted and neutralised, as to_csv
    writer.writerow([title for title, _ in COLUMNS])
    result = db.session.execute(stmt.execution_options(yield_per=EXPORT_CHUNK))
    for rows in result.partitions():
        for ref, status, emma_id, gene, product, node, email, created, updated in rows:
            writer.writerow(
                [ref, state_label(status), emma_id, gene, product, node or "", email, iso(created), iso(updated)]
            )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()
