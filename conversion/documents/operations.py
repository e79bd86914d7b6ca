"""Documents of a request: uploads kept in the documents directory, the conversion certificate,
and what the request page's documents panel shows.

Who may see a request may see and upload its documents; the bytes are stored once under their
SHA-256 in DOCUMENTS_DIR (set by configuration) and answered unchanged."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import Date, Integer, String, bindparam, func, literal_column, select, union_all
from sqlalchemy.orm import joinedload

from ..accounts.models import Role, User
from ..catalogue.models import Node
from ..errors import ApiError, Conflict, Invalid, NotFound
from ..extensions import UTCDateTime, by_key, db
from ..invoices import operations as invoices
from ..invoices.models import Invoice, Money, Quote
from ..invoices.quotes import PanelQuote
from ..lab.models import Cryopreservation, QcResult
from ..lab.operations import OPEN_FOR_PAPERWORK, records_in_force
from ..reads import Read, slot_columns
from ..requests.models import ConversionRequest, RequestEvent
from ..requests.operations import get_request
from .models import KIND_LABELS, DocumentKind, RequestDocument

UPLOAD_LIMIT = 10 * 1024 * 1024  # bytes
SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


class TooLarge(ApiError):
    status = 413


def storage_dir() -> Path:
    return Path(current_app.config["DOCUMENTS_DIR"])


def _path(sha256: str) -> Path:
    return storage_dir() / sha256[:2] / sha256


def sniff(data: bytes) -> str | None:
    """The content type judged from the bytes (PDF, PNG, JPEG), never from the name."""
    return next((mime for magic, mime in SIGNATURES if data.startswith(magic)), None)


def _clean_name(name: str | None, content_type: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>')[:200]
    return base or "document" + {"application/pdf": ".pdf", "image/png": ".png"}.get(content_type, ".jpg")


def _store_bytes(data: bytes, sha256: str) -> None:
    """Write the bytes once (atomically); the same content is already there otherwise."""
    path = _path(sha256)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def upload_document(user: User, request_id: int, *, kind: str | None, name: str | None, stream) -> RequestDocument:
    """Keep an uploaded file of a request. 422: unknown kind or not a PDF/PNG/JPEG; 413: over 10 MB."""
    req = get_request(user, request_id)
    if kind not in {k.value for k in DocumentKind}:
        raise Invalid(f"kind must be one of {', '.join(k.value for k in DocumentKind)}.")
    if stream is None:
        raise Invalid("Attach the file as the multipart field 'file'.")
    data = stream.read(UPLOAD_LIMIT + 1)
    if len(data) > UPLOAD_LIMIT:
        raise TooLarge(f"The file is larger than {UPLOAD_LIMIT // (1024 * 1024)} MB.")
    if not data:
        raise Invalid("The file is empty.")
    content_type = sniff(data)
    if content_type is None:
        raise Invalid("Only PDF, PNG and JPEG files are accepted (judged by their content).")
    sha256 = hashlib.sha256(data).hexdigest()
    _store_bytes(data, sha256)
    doc = RequestDocument(
        request_id=req.id,
        kind=kind,
        name=_clean_name(name, content_type),
        content_type=content_type,
        size=len(data),
        sha256=sha256,
        uploaded_by_id=user.id,
    )
    db.session.add(doc)
    db.session.commit()
    return doc


def documents_of(user: User, req: ConversionRequest) -> list[RequestDocument]:
    """The uploaded documents of a request already loaded for `user`, oldest first."""
    return list(
        db.session.scalars(
            select(RequestDocument)
            .where(RequestDocument.request_id == req.id)
            .options(joinedload(RequestDocument.uploaded_by))
            .order_by(RequestDocument.id)
        )
    )


def list_documents(user: User, request_id: int) -> list[RequestDocument]:
    return documents_of(user, get_request(user, request_id))


def document_bytes(user: User, request_id: int, document_id: int) -> tuple[RequestDocument, bytes]:
    req = get_request(user, request_id)
    doc = db.session.scalar(
        select(RequestDocument).where(RequestDocument.request_id == req.id, RequestDocument.id == document_id)
    )
    if doc is None:
        raise NotFound(f"No document {document_id} on request {req.reference}.")
    try:
        data = _path(doc.sha256).read_bytes()
    except FileNotFoundError:
        raise NotFound(
            f"The file of document {doc.id} is missing from the documents directory: "
            "restore it from the backup (docs/deploy.md)."
        ) from None
    return doc, data


# ---- the conversion certificate ------------------------------------------------------
@dataclass
class Certificate:
    request: ConversionRequest
    completed_on: date | None
    steps: list[dict]
    qc: list[QcResult]
    cryo: list[Cryopreservation]


def certificate_pdf(user: User, request_id: int) -> tuple[ConversionRequest, bytes]:
    """The certificate of a completed request, from its lab records in force."""
    from flask import render_template

    from ..invoices.pdf import helpers, render_pdf

    req = get_request(user, request_id)
    if req.status != "completed":
        raise Conflict(
            f"Request {req.reference} is {req.status}: the conversion certificate is available once it is completed."
        )
    completed = db.session.scalar(
        select(RequestEvent.at)
        .where(RequestEvent.request_id == req.id, RequestEvent.to_status == "completed")
        .order_by(RequestEvent.id.desc())
        .limit(1)
    )
    in_force = records_in_force(req)  # passing QC of recorded animals; nothing voided
    steps = [
        {
            **s,
            "how": "TAT-Cre" if in_force.tat_cre_used and s["recombinase"] == "Cre" else f"{s['recombinase']} deleter",
        }
        for s in req.steps
    ]
    cert = Certificate(req, completed.date() if completed else None, steps, in_force.qc, in_force.cryo)
    html = render_template("documents/pdf/certificate.html", cert=cert, req=req, **helpers())
    return req, render_pdf(html)


# ---- the request page's panel ----------------------------------------------------------
class PanelDocument(NamedTuple):
    """An uploaded document as the request page's panel shows it."""

    id: int
    kind: str
    name: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by_name: str  # User.display_name

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(DocumentKind(self.kind), self.kind)


# The panel's invoices, quotes and uploads of one request in one statement (a UNION ALL of three
# arms over shared columns, `part` telling them apart), one per role (whose quotes are seen),
# built once per process. One-column lookups by primary key are scalar subqueries.
_PANEL_SLOTS: dict[str, Any] = {
    "id": Integer(),
    "kind": String(),
    "status": String(),
    "number": String(),
    "on": Date(),
    "currency": String(),
    "total": Money,
    "credits_id": Integer(),
    "credited": String(),
    "node_id": Integer(),
    "node_code": String(),
    "name": String(),
    "size": Integer(),
    "sha256": String(),
    "uploaded_at": UTCDateTime(),
    "by": String(),
}


def _panel_arm(part: int, model, columns: dict):
    return (
        select(*slot_columns("part", part, _PANEL_SLOTS, columns))
        .select_from(model)
        .where(model.request_id == bindparam("request_id"))
    )


def _panel_statement(role: Role) -> Read:
    _credited = Invoice.__table__.alias("credited")
    invoice_arm = _panel_arm(
        0,
        Invoice,
        {
            "id": Invoice.id,
            "kind": Invoice.kind,
            "status": Invoice.status,
            "number": Invoice.number,
            "on": Invoice.issued_on,
            "currency": Invoice.currency,
            "total": Invoice.total,
            "credits_id": Invoice.credits_id,
            "credited": by_key(_credited.c.number, _credited.c.id, Invoice.credits_id),
            "node_id": Invoice.node_id,
        },
    )
    quote_arm = _panel_arm(
        1,
        Quote,
        {
            "id": Quote.id,
            "number": Quote.number,
            "on": Quote.valid_until,
            "currency": Quote.currency,
            "total": Quote.total,
            "node_code": by_key(Node.code, Node.id, Quote.node_id),
        },
    )
    if role is Role.requester:  # visible_quotes(user)
        quote_arm = quote_arm.where(Quote.requester_id == bindparam("user_id"))
    elif role is Role.staff:  # of the user's node (the request's node is checked by the caller)
        quote_arm = quote_arm.where(Quote.node_id == bindparam("node_id"))
    document_arm = _panel_arm(
        2,
        RequestDocument,
        {
            "id": RequestDocument.id,
            "kind": RequestDocument.kind,
            "name": RequestDocument.name,
            "size": RequestDocument.size,
            "sha256": RequestDocument.sha256,
            "uploaded_at": RequestDocument.uploaded_at,
            "by": by_key(
                func.coalesce(func.nullif(User.name, ""), User.email), User.id, RequestDocument.uploaded_by_id
            ),
        },
    )
    return Read(union_all(invoice_arm, quote_arm, document_arm).order_by(literal_column("part"), literal_column("id")))


_PANEL = {role: _panel_statement(role) for role in Role}


def request_section(req: ConversionRequest, user: User, replace: dict | None = None) -> dict:
    """What the documents section of a request page shows `user` (requests.hooks.add_page_section)."""
    rows = _PANEL[user.role].all({"request_id": req.id, "user_id": user.id, "node_id": user.node_id})
    invoice_rows, quotes, documents = [], [], []
    for r in rows:
        if r.part == 0:
            invoice_rows.append(r)
        elif r.part == 1:
            quotes.append(PanelQuote(r.id, r.number, r.node_code, r.currency, r.total, r.on))
        else:
            documents.append(PanelDocument(r.id, r.kind, r.name, r.size, r.sha256, r.uploaded_at, r.by))
    quotes.reverse()  # newest first
    if user.role is Role.staff and req.node_id != user.node_id:  # visible_quotes: the node's requests only
        quotes = []
    is_node_staff = user.is_staff_of(req.node_id)
    return {
        "template": "documents/_panel.html",
        "invoices": invoices.panel_invoices_of(user, req, invoice_rows),
        "can_draft": invoices.can_draft(user, req),
        "quotes": quotes,
        "documents": documents,
        "kinds": list(KIND_LABELS.items()),
        "can_record_paperwork": (is_node_staff or user.role is Role.coordinator) and req.status in OPEN_FOR_PAPERWORK,
        "certificate": req.status == "completed",
    }
