"""The JSON shape of a request (API, exports)."""

from __future__ import annotations

from datetime import UTC

from workflows import lifecycle

from ..accounts.models import Role, User
from ..catalogue.models import Access
from ..extensions import iso_utc
from .hooks import detail_extras
from .models import ConversionRequest
from .operations import RequestRow, available_triggers


def step_info(req: ConversionRequest | RequestRow) -> dict | None:
    step = req.step
    if step is None:
        return None
    return {
        "number": req.current_step,
        "of": req.step_count,
        "recombinase": step["recombinase"],
        "from": step["from_class"],
        "to": step["to_class"],
        "tat_cre": bool(req.use_tat_cre and step["recombinase"] == "Cre"),
    }


def request_summary(req: ConversionRequest) -> dict:
    return {
        "id": req.id,
        "reference": req.reference,
        "status": req.status,
        "strain": req.strain.emma_id,
        "gene": req.strain.gene,
        "target": req.target,
        "product_symbol": req.product_symbol,
        "node": req.node.code if req.node else None,
        "requester": req.requester.email,
        "created_at": iso_utc(req.created_at),
        "updated_at": iso_utc(req.updated_at),
    }


def summary_from_row(row) -> dict:
    """request_summary() of a row of operations.SUMMARY_COLUMNS (same keys and values)."""
    return summaries_from_rows((row,))[0]


def _driver_time(t) -> str | None:
    """A time of operations.SUMMARY_COLUMNS (summary_time) as iso_utc writes it: on PostgreSQL
    the database wrote it so already (a string); a datetime as the driver gives it is aware in the
    session's zone (converted to UTC here) or naive UTC, as on SQLite (marked UTC)."""
    if not t or t.__class__ is str:
        return t
    return t.isoformat() + "Z" if t.tzinfo is None else t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def summaries_from_rows(rows) -> list[dict]:
    """summary_from_row() of each row (the API list's page): one comprehension, the row unpacked
    by position. Its times: on PostgreSQL already written as iso_utc writes them (strings,
    operations.summary_time), else datetimes written here (_driver_time)."""
    if rows and rows[0][9].__class__ is not str:
        rows = [(*row[:9], _driver_time(row[9]), _driver_time(row[10])) for row in rows]
    return [
        {
            "id": rid,
            "reference": reference,
            "status": status,
            "strain": strain,
            "gene": gene,
            "target": target,
            "product_symbol": product_symbol,
            "node": node,
            "requester": requester,
            "created_at": created,
            "updated_at": updated,
        }
        for rid, reference, status, strain, gene, target, product_symbol, node, requester, created, updated in rows
    ]


def request_detail(req: ConversionRequest, user: User) -> dict:
    """The detail JSON of an ORM request (after a submit or a transition)."""
    return row_detail(RequestRow.of(req), user)


def row_detail(r: RequestRow, user: User) -> dict:
    """The detail JSON of a request read by operations.read_request_detail (the API's GET)."""
    out = {
        "id": r.id,
        "reference": r.reference,
        "status": r.status,
        "strain": r.strain_emma_id,
        "gene": r.strain_gene,
        "target": r.target,
        "product_symbol": r.product_symbol,
        "node": r.node_code,
        "requester": r.requester_email,
        "created_at": iso_utc(r.created_at),
        "updated_at": iso_utc(r.updated_at),
        "strain_name": r.strain_name,
        "source_symbol": r.strain_allele_symbol,
        "source_class": r.source_class,
        "product_class": r.product_class,
        "product_strain_name": r.product_strain_name,
        "held_status": r.held_status,
        "archived_strain": r.archived_emma_id,
        "step": step_info(r),
        "plan": r.plan,
        "use_tat_cre": r.use_tat_cre,
        "deliverable": r.deliverable.value,
        "billing": {
            "organisation": r.billing_organisation,
            "address": r.billing_address,
            "country": r.billing_country,
            "vat_number": r.billing_vat_number,
            "sector": r.billing_sector.value,
        },
        "available_triggers": available_triggers(user, r),
        "history": r.history,
    }
    if user.role is not Role.requester:  # flagged to EMMA (the requester never saw it as hidden)
        out["strain_retracted"] = r.strain_access is Access.retracted and r.status not in lifecycle.FINAL_STATES
    for key, extra in detail_extras().items():
        rows = r.extra_rows.get(key)  # read with the request (read_detail_for_token)
        out[key] = extra(r, user) if rows is None else extra(r, user, rows)
    return out
