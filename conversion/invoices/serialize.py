"""The JSON shape of an invoice or credit note (API)."""

from __future__ import annotations

from decimal import Decimal

from flask import url_for

from .models import Invoice


def amount(value) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def invoice_dict(invoice: Invoice, credited: dict | None = None) -> dict:
    """`credited`: {id: amount} precomputed for lists (credited_totals)."""
    from .issuing import credited_total

    if invoice.kind == "invoice" and not invoice.is_draft:
        credited_amount = credited[invoice.id] if credited is not None else credited_total(invoice)
    else:
        credited_amount = None

    return {
        "id": invoice.id,
        "kind": invoice.kind,
        "number": invoice.number,
        "status": invoice.status,
        "request": invoice.request_id,
        "reference": invoice.request.reference,
        "node": invoice.node.code,
        "credits": invoice.credits.number if invoice.credits else None,
        "reason": invoice.reason,
        "issued_on": invoice.issued_on.isoformat() if invoice.issued_on else None,
        "due_on": invoice.due_on.isoformat() if invoice.due_on else None,
        "net": amount(invoice.net),
        "vat": amount(invoice.vat),
        "total": amount(invoice.total),
        "credited": amount(credited_amount),
        "balance": amount(invoice.total - credited_amount) if credited_amount is not None else None,
        "additional": bool(invoice.additional),
        "currency": invoice.currency,
        "vat_rate": None if invoice.vat_rate is None else f"{Decimal(invoice.vat_rate):.2f}",
        "vat_treatment": invoice.vat_treatment,
        "vat_mention": invoice.vat_mention,
        "pdf_url": url_for("api_invoices.pdf", invoice_id=invoice.id),
        "pdf_sha256": invoice.pdf_sha256,
        "lines": [
            {
                "description": l.description,
                "service": l.service,
                "quantity": amount(l.quantity),
                "unit_price": amount(l.unit_price),
                "net": amount(l.net),
                "vat": amount(l.vat),
            }
            for l in invoice.lines
        ],
    }
