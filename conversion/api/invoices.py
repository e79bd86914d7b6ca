"""Invoices and credit notes of a request; their PDFs."""

from __future__ import annotations

import marshmallow as ma
from flask import Response
from flask_smorest import Blueprint

from ..invoices import operations as ops
from ..invoices.serialize import invoice_dict as _one
from . import error_responses, require_user

blp = Blueprint("api_invoices", __name__, description="Invoices and credit notes")

Str = ma.fields.String


class LineSchema(ma.Schema):
    description = Str(required=True, validate=ma.validate.Length(max=500))
    quantity = ma.fields.Raw(load_default=1, metadata={"description": 'number or string, e.g. 1 or "1.5"'})
    unit_price = ma.fields.Raw(required=True, metadata={"description": 'EUR, e.g. "1500.00"'})
    service = Str(load_default=None, allow_none=True, validate=ma.validate.Length(max=30))


class CreateSchema(ma.Schema):
    lines = ma.fields.List(ma.fields.Nested(LineSchema), load_default=None, allow_none=True)
    draft = ma.fields.Boolean(load_default=False)
    additional = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "true: a further invoice while one of the request is in force (not fully credited)"},
    )


class IdempotencyHeader(ma.Schema):
    idempotency_key = Str(
        data_key="Idempotency-Key",
        load_default=None,
        validate=ma.validate.Length(max=200),
        metadata={"description": "a retry with the same key answers the first result"},
    )


class LinesSchema(ma.Schema):
    lines = ma.fields.List(ma.fields.Nested(LineSchema), required=True)


class CreditSchema(ma.Schema):
    reason = Str(required=True, validate=ma.validate.Length(max=2000))
    lines = ma.fields.List(ma.fields.Nested(LineSchema), load_default=None, allow_none=True)


class InvoiceLineOut(ma.Schema):
    description = Str()
    service = Str(allow_none=True)
    quantity = Str()
    unit_price = Str()
    net = Str()
    vat = Str()


class InvoiceSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = Str()
    number = Str(allow_none=True)
    status = Str()
    request = ma.fields.Integer()
    reference = Str()
    node = Str()
    credits = Str(allow_none=True)
    reason = Str(allow_none=True)
    issued_on = Str(allow_none=True)
    due_on = Str(allow_none=True)
    net = Str()
    vat = Str()
    total = Str()
    credited = Str(allow_none=True)
    balance = Str(allow_none=True, metadata={"description": "total less its credit notes (issued invoices)"})
    additional = ma.fields.Boolean()
    currency = Str()
    vat_rate = Str(allow_none=True)
    vat_treatment = Str(allow_none=True)
    vat_mention = Str(allow_none=True)
    pdf_url = Str()
    pdf_sha256 = Str(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(InvoiceLineOut))


class InvoiceList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(InvoiceSchema))


def _errors(*codes):
    return error_responses(blp, *codes)


def invoice_dict(invoice):
    return _one(invoice)


def _many(invoices) -> dict:
    credited = ops.credited_totals([i.id for i in invoices])
    return {"items": [_one(i, credited) for i in invoices]}


def _lines(body_lines):
    if body_lines is None:
        return None
    return [dict(line) for line in body_lines]


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.route("/requests/<int:request_id>/invoices", methods=["GET"])
@blp.response(200, InvoiceList)
@_errors(401, 404)
def list_for_request(request_id):
    """The request's invoices and credit notes you may see (requesters: issued ones)."""
    user = require_user()
    return _many(ops.request_invoices(user, request_id))


@blp.route("/requests/<int:request_id>/invoices", methods=["POST"])
@blp.arguments(CreateSchema)
@blp.arguments(IdempotencyHeader, location="headers")
@blp.response(201, InvoiceSchema)
@_errors(401, 403, 404, 409, 422)
def create(body, headers, request_id):
    """Draft an invoice from the price list and the recorded work (or from `lines`) and issue
    it, unless `draft` is true. Staff of the node, once the request is accepted. One invoice per
    request: 409 naming the invoice in force unless `additional`. A retry with the same
    `Idempotency-Key` header answers the first result."""
    user = require_user()
    invoice = ops.create_invoice(
        user,
        request_id,
        lines=_lines(body["lines"]),
        draft=body["draft"],
        additional=body["additional"],
        idempotency_key=headers["idempotency_key"],
    )
    return invoice_dict(invoice)


@blp.route("/invoices", methods=["GET"])
@blp.arguments(
    ma.Schema.from_dict(
        {
            "node": Str(load_default=None, validate=ma.validate.Length(max=20)),
            "before": ma.fields.Integer(load_default=None, validate=ma.validate.Range(1, 2**31 - 1)),
        }
    )(),
    location="query",
)
@blp.response(200, InvoiceList)
@_errors(401, 422)
def list_all(args):
    """Invoices you may see, newest first (50; page with `before=<id>`)."""
    user = require_user()
    return _many(ops.list_invoices(user, node=args["node"], before=args["before"]))


@blp.route("/invoices/<int:invoice_id>", methods=["GET"])
@blp.response(200, InvoiceSchema)
@_errors(401, 404)
def show(invoice_id):
    """One invoice or credit note."""
    user = require_user()
    return invoice_dict(ops.get_invoice(user, invoice_id))


@blp.route("/invoices/<int:invoice_id>", methods=["PATCH", "PUT"])
@blp.arguments(LinesSchema)
@blp.response(200, InvoiceSchema)
@_errors(401, 403, 404, 409, 422)
def update(body, invoice_id):
    """Replace the lines of a draft (409 once issued)."""
    user = require_user()
    return invoice_dict(ops.update_draft(user, invoice_id, _lines(body["lines"])))


@blp.route("/invoices/<int:invoice_id>", methods=["DELETE"])
@blp.response(204)
@_errors(401, 403, 404, 409)
def delete(invoice_id):
    """Delete a draft (an issued invoice is never deleted)."""
    user = require_user()
    ops.delete_draft(user, invoice_id)


@blp.route("/invoices/<int:invoice_id>/issue", methods=["POST"])
@blp.response(200, InvoiceSchema)
@_errors(401, 403, 404, 409, 422)
def issue(invoice_id):
    """Issue a draft: next number of the node's sequence, lines frozen, PDF stored."""
    user = require_user()
    return invoice_dict(ops.issue_invoice(user, invoice_id))


@blp.route("/invoices/<int:invoice_id>/credit-note", methods=["POST"])
@blp.arguments(CreditSchema)
@blp.response(201, InvoiceSchema)
@_errors(401, 403, 404, 409, 422)
def credit(body, invoice_id):
    """Credit an issued invoice (whole by default, or `lines` with positive amounts to credit)."""
    user = require_user()
    note = ops.credit_note(user, invoice_id, reason=body["reason"], lines=_lines(body["lines"]))
    return invoice_dict(note)


@blp.route("/invoices/<int:invoice_id>.pdf", methods=["GET"])
@blp.response(200, content_type="application/pdf")
@_errors(401, 404)
def pdf(invoice_id):
    """The issued PDF exactly as stored at issue (a draft: a marked preview)."""
    user = require_user()
    invoice, data = ops.invoice_pdf(user, invoice_id)
    return _pdf(data, f"{invoice.number or f'draft-{invoice.id}'}.pdf")
