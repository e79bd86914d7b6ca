"""Documents of a request (multipart upload, list, download unchanged), quotes and the
conversion certificate."""

from __future__ import annotations

from urllib.parse import quote as url_quote

import marshmallow as ma
from flask import Response, request, url_for
from flask_smorest import Blueprint

from ..documents import operations as ops
from ..documents.models import DocumentKind
from ..invoices import operations as invoices
from . import error_responses, require_user

blp = Blueprint("api_documents", __name__, description="Quotes, request documents, certificates")

Str = ma.fields.String


class DocumentSchema(ma.Schema):
    id = ma.fields.Integer()
    name = Str()
    kind = Str()
    size = ma.fields.Integer()
    sha256 = Str()
    content_type = Str()
    url = Str()
    uploaded_by = Str()
    uploaded_at = Str()


class DocumentList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DocumentSchema))


class UploadForm(ma.Schema):
    """Both parts are checked by the operation, after who may see the request (404 first)."""

    kind = Str(
        load_default=None,
        validate=ma.validate.Length(max=30),
        metadata={"description": "required: " + ", ".join(k.value for k in DocumentKind)},
    )
    file = ma.fields.Raw(
        load_default=None,
        metadata={"type": "string", "format": "binary", "description": "required: PDF, PNG or JPEG, at most 10 MB"},
    )


class QuoteBody(ma.Schema):
    strain = Str(required=True, validate=ma.validate.Length(max=300))
    target = Str(required=True, validate=ma.validate.Length(max=10))
    sector = Str(required=True, validate=ma.validate.Length(max=20), metadata={"description": "academic or industry"})
    country = Str(
        required=True,
        validate=ma.validate.Length(max=100),
        metadata={"description": "ISO 3166-1 alpha-2 code, e.g. DE"},
    )
    node = Str(load_default=None, allow_none=True, validate=ma.validate.Length(max=20))
    vat_number = Str(load_default=None, allow_none=True, validate=ma.validate.Length(max=30))
    deliverable = Str(load_default="frozen_sperm", validate=ma.validate.Length(max=20))
    use_tat_cre = ma.fields.Boolean(load_default=False)


class QuoteLine(ma.Schema):
    description = Str()
    service = Str(allow_none=True)
    quantity = Str()
    unit_price = Str()
    net = Str()
    vat = Str()


class QuoteSchema(ma.Schema):
    id = ma.fields.Integer()
    number = Str()
    node = Str()
    strain = Str()
    target = Str()
    product_symbol = Str()
    sector = Str()
    country = Str()
    issued_on = Str()
    valid_until = Str()
    request = ma.fields.Integer(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(QuoteLine))
    net = Str()
    vat = Str()
    total = Str()
    currency = Str()
    vat_treatment = Str()
    vat_rate = Str()
    vat_mention = Str(allow_none=True)
    pdf_url = Str()
    pdf_sha256 = Str()


def _errors(*codes):
    return error_responses(blp, *codes)


def _doc(doc) -> dict:
    return doc.to_dict(url_for("api_documents.download", request_id=doc.request_id, document_id=doc.id))


def _money(value) -> str:
    return f"{value:.2f}"


def quote_dict(quote) -> dict:
    return {
        "id": quote.id,
        "number": quote.number,
        "node": quote.node.code,
        "strain": quote.strain.emma_id,
        "target": quote.target,
        "product_symbol": quote.product_symbol,
        "sector": quote.sector,
        "country": quote.country,
        "issued_on": quote.issued_on.isoformat(),
        "valid_until": quote.valid_until.isoformat(),
        "request": quote.request_id,
        "lines": [
            {k: line.get(k) for k in ("description", "service", "quantity", "unit_price", "net", "vat")}
            for line in quote.lines
        ],
        "net": _money(quote.net),
        "vat": _money(quote.vat),
        "total": _money(quote.total),
        "currency": quote.currency,
        "vat_treatment": quote.vat_treatment,
        "vat_rate": _money(quote.vat_rate),
        "vat_mention": quote.vat_mention,
        "pdf_url": url_for("api_documents.quote_pdf", quote_id=quote.id),
        "pdf_sha256": quote.pdf_sha256,
    }


def _pdf(data: bytes, filename: str, mimetype: str = "application/pdf") -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/quotes", methods=["POST"])
@blp.arguments(QuoteBody)
@blp.response(201, QuoteSchema)
@_errors(401, 403, 422)
def create_quote(body):
    """A numbered quote for a conversion (requesters): the price list of `node`, else of the
    best-ranked node able to do it; with VAT for the sector and country; valid 90 days."""
    user = require_user()
    return quote_dict(invoices.create_quote(user, **body))


@blp.route("/quotes/<int:quote_id>", methods=["GET"])
@blp.response(200, QuoteSchema)
@_errors(401, 404)
def show_quote(quote_id):
    """One quote (requesters: their own; node staff: those attached to their node's requests)."""
    return quote_dict(invoices.get_quote(require_user(), quote_id))


@blp.route("/quotes/<int:quote_id>.pdf", methods=["GET"])
@blp.response(200, content_type="application/pdf")
@_errors(401, 404)
def quote_pdf(quote_id):
    """The quote's PDF, exactly as stored when it was made."""
    quote, data = invoices.quote_pdf(require_user(), quote_id)
    return _pdf(data, f"{quote.number}.pdf")


@blp.route("/requests/<int:request_id>/documents", methods=["POST"])
@blp.arguments(UploadForm, location="form", content_type="multipart/form-data")
@blp.response(201, DocumentSchema)
@_errors(401, 404, 413, 422)
def upload(form, request_id):
    """Upload a document (multipart: `file`, `kind`). PDF, PNG or JPEG judged by content (else
    422); at most 10 MB (else 413). The SHA-256 of the bytes is kept."""
    user = require_user()
    upload = request.files.get("file")
    doc = ops.upload_document(
        user,
        request_id,
        kind=form["kind"],
        name=upload.filename if upload else None,
        stream=upload.stream if upload else None,
    )
    return _doc(doc)


@blp.route("/requests/<int:request_id>/documents", methods=["GET"])
@blp.response(200, DocumentList)
@_errors(401, 404)
def list_documents(request_id):
    """The request's uploaded documents, oldest first."""
    return {"items": [_doc(d) for d in ops.list_documents(require_user(), request_id)]}


@blp.route("/requests/<int:request_id>/documents/<int:document_id>", methods=["GET"])
@blp.response(200, content_type="application/pdf")
@blp.doc(
    responses={
        "200": {
            "description": "The uploaded bytes (PDF, PNG or JPEG)",
            "content": {
                mime: {"schema": {"type": "string", "format": "binary"}}
                for mime in ("application/pdf", "image/png", "image/jpeg")
            },
        }
    }
)
@_errors(401, 404)
def download(request_id, document_id):
    """The uploaded bytes, unchanged."""
    doc, data = ops.document_bytes(require_user(), request_id, document_id)
    response = _pdf(data, doc.name.replace('"', ""), doc.content_type)
    response.headers["Content-Disposition"] = "attachment; filename*=UTF-8''" + url_quote(doc.name)
    return response


@blp.route("/requests/<int:request_id>/certificate.pdf", methods=["GET"])
@blp.response(200, content_type="application/pdf")
@_errors(401, 404, 409)
def certificate(request_id):
    """The conversion certificate of a completed request."""
    req, data = ops.certificate_pdf(require_user(), request_id)
    return _pdf(data, f"certificate-{req.reference}.pdf")
