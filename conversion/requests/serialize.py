"""The JSON shape of a request (API, exports)."""

from __future__ import annotations

from workflows import lifecycle

from ..accounts.models import Role, User
from ..extensions import iso_utc
from .hooks import detail_extras
from .models import ConversionRequest
from .operations import available_triggers


def step_info(req: ConversionRequest) -> dict | None:
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
    return {
        "id": row.id,
        "reference": row.reference,
        "status": row.status,
        "strain": row.strain,
        "gene": row.gene,
        "target": row.target,
        "product_symbol": row.product_symbol,
        "node": row.node,
        "requester": row.requester,
        "created_at": iso_utc(row.created_at),
        "updated_at": iso_utc(row.updated_at),
    }


def request_detail(req: ConversionRequest, user: User) -> dict:
    out = request_summary(req)
    out.update(
        {
            "strain_name": req.strain.strain_name,
            "source_symbol": req.strain.allele_symbol,
            "source_class": req.source_class,
            "product_class": req.product_class,
            "product_strain_name": req.product_strain_name,
            "held_status": req.held_status,
            "archived_strain": req.archived_strain.emma_id if req.archived_strain_id else None,
            "step": step_info(req),
            "plan": req.plan,
            "use_tat_cre": req.use_tat_cre,
            "deliverable": req.deliverable.value,
            "billing": {
                "organisation": req.billing_organisation,
                "address": req.billing_address,
                "country": req.billing_country,
                "vat_number": req.billing_vat_number,
                "sector": req.billing_sector.value,
            },
            "available_triggers": available_triggers(user, req),
            "history": [e.to_dict() for e in req.history],
        }
    )
    if user.role is not Role.requester:  # flagged to EMMA (the requester never saw it as hidden)
        out["strain_retracted"] = strain_retracted(req)
    for key, extra in detail_extras().items():
        out[key] = extra(req, user)
    return out


def strain_retracted(req: ConversionRequest) -> bool:
    """The strain was retracted after this (open) request was submitted: a coordinator decides."""
    from ..catalogue.models import Access

    return req.strain.access is Access.retracted and req.status not in lifecycle.FINAL_STATES
