"""Request lists on pages: filters, sorting, page numbers and the CSV of exactly what is shown."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from ..accounts.models import User
from ..catalogue.models import Strain
from ..exports import csv_cell
from ..extensions import db
from .models import ConversionRequest
from .operations import count_requests, filtered_requests
from .present import fmt_date, state_label

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
    ("Submitted", lambda r: fmt_date(r.created_at)),
    ("Last change", lambda r: fmt_date(r.updated_at)),
]


@dataclass
class Listing:
    items: list[ConversionRequest]
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


def list_page(user: User, args: dict) -> Listing:
    """One page of the requests the user may see; raises Invalid for an unknown status or node."""
    stmt = filtered_requests(user, status=args["status"] or None, node=args["node"] or None,
                             q=args["q"] or None)
    total = count_requests(user, status=args["status"] or None, node=args["node"] or None, q=args["q"] or None)
    per_page = args["per_page"]
    page = min(args["page"], max(1, -(-total // per_page)))
    items = list(db.session.scalars(
        stmt.order_by(*SORTS[args["sort"]][1]).limit(per_page).offset((page - 1) * per_page)).unique())
    return Listing(items, total, page, per_page, {**args, "page": page})




def to_csv(listing: Listing) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for title, _ in COLUMNS])
    for row in listing.rows():
        writer.writerow([csv_cell(cell) for cell in row])
    return out.getvalue()

