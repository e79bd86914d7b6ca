"""Invoices: who sees which, drafting, issuing with gapless numbers, credit notes, balances.

The only code that writes invoices. Visibility follows requests: requesters see the issued
invoices of their own requests, staff their node's invoices, coordinators all.

One invoice per request: while an issued invoice of a request is not fully credited, another
one is refused (409 naming it) unless asked for as `additional`. The request row is locked
FOR UPDATE while an invoice is made, so parallel calls are counted one after the other; an
`Idempotency-Key` makes a retry answer what the first call made."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.models import Role, User
from ..catalogue.models import Node
from ..catalogue.operations import get_node
from ..countries import normalise_vat, parse_country
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db, insert_or, sqlite_write_lock, utcnow
from ..lab.models import Paperwork
from ..requests.models import ConversionRequest, RequestEvent
from ..requests.operations import get_request
from .models import IdempotencyKey, Invoice, InvoiceCounter, InvoiceLine, PriceList, cents
from .pricing import ZERO, assigned_node, clean_lines, drafted_lines, price_list_on, today
from .vat import standard_rate, vat_treatment

NOT_YET_BILLABLE = ("submitted", "approved", "assigned", "rejected")


# ---- visibility ---------------------------------------------------------------
def visible_invoices(user: User) -> Select:
    stmt = select(Invoice)
    if user.role is Role.requester:
        stmt = stmt.join(Invoice.request).where(ConversionRequest.requester_id == user.id, Invoice.status == "issued")
    elif user.role is Role.staff:
        stmt = stmt.where(Invoice.node_id == user.node_id)
    return stmt


def get_invoice(user: User, invoice_id: int, *, for_update: bool = False) -> Invoice:
    stmt = visible_invoices(user).where(Invoice.id == invoice_id)
    if for_update:
        sqlite_write_lock(Invoice, invoice_id)
        stmt = stmt.with_for_update(of=Invoice).execution_options(populate_existing=True)
    invoice = db.session.scalar(stmt)
    if invoice is None:
        raise NotFound(f"No invoice {invoice_id}, or it is not yours to see.")
    return invoice


def request_invoices(user: User, request_id: int) -> list[Invoice]:
    return invoices_of(user, get_request(user, request_id))


def invoices_of(user: User, req: ConversionRequest) -> list[Invoice]:
    """The invoices of `req` (a request already loaded for `user`) that `user` may see."""
    return list(
        db.session.scalars(
            visible_invoices(user)
            .where(Invoice.request_id == req.id)
            .options(selectinload(Invoice.lines))
            .order_by(Invoice.id)
        )
    )


class PanelInvoice(NamedTuple):
    """An invoice row of the request page's panel: the columns it shows."""

    id: int
    kind: str
    status: str
    number: str | None
    issued_on: date | None
    currency: str
    total: Decimal
    credits_id: int | None
    credits_number: str | None  # the number of the invoice a credit note credits
    balance: Decimal | None  # issued invoices: the total less the issued credit notes

    @property
    def title(self) -> str:
        return "Credit note" if self.kind == "credit_note" else "Invoice"


def panel_invoices_of(user: User, req: ConversionRequest, rows) -> list[PanelInvoice]:
    """invoices_of(user, req) with their balances (balances()), from rows with the attributes id,
    kind, status, number, on (the issue date), currency, total, credits_id, credited (the credited
    invoice's number) and node_id: the documents panel reads them with its quotes and uploads in
    one statement (no lines, no entities)."""
    credited: dict[int, Decimal] = {}
    for row in rows:  # what issued credit notes have taken off each invoice (credited_totals)
        if row.credits_id is not None and row.status == "issued":
            credited[row.credits_id] = credited.get(row.credits_id, ZERO) - Decimal(row.total)
    if user.role is Role.requester:  # visible_invoices(user), for a request `user` may see
        rows = [r for r in rows if r.status == "issued" and req.requester_id == user.id]
    elif user.role is Role.staff:
        rows = [r for r in rows if r.node_id == user.node_id]
    return [
        PanelInvoice(
            row.id,
            row.kind,
            row.status,
            row.number,
            row.on,
            row.currency,
            row.total,
            row.credits_id,
            row.credited,
            None if row.status == "draft" or row.kind == "credit_note" else row.total - credited.get(row.id, ZERO),
        )
        for row in rows
    ]


def credit_notes_of(user: User, invoice: Invoice) -> list[Invoice]:
    """The credit notes of `invoice` that `user` may see, oldest first."""
    if invoice.is_credit_note:
        return []
    return list(db.session.scalars(visible_invoices(user).where(Invoice.credits_id == invoice.id).order_by(Invoice.id)))


def list_invoices(
    user: User, *, node: str | None = None, before: int | None = None, limit: int | None = 50
) -> list[Invoice]:
    """Newest first; `before` is an id for keyset pagination; limit None gives all."""
    stmt = visible_invoices(user).options(
        joinedload(Invoice.node), joinedload(Invoice.request), joinedload(Invoice.credits), selectinload(Invoice.lines)
    )
    if node:
        found = get_node(node)
        if found is None:
            raise Invalid(f"Unknown node {node!r}.")
        stmt = stmt.where(Invoice.node_id == found.id)
    if before:
        stmt = stmt.where(Invoice.id < before)
    stmt = stmt.order_by(Invoice.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt).unique())


def credited_totals(invoice_ids: list[int]) -> dict[int, Decimal]:
    """{invoice id: what issued credit notes have taken off it (a positive amount)}."""
    out = dict.fromkeys(invoice_ids, ZERO)
    if invoice_ids:
        for credits_id, total in db.session.execute(
            select(Invoice.credits_id, Invoice.total).where(
                Invoice.credits_id.in_(invoice_ids), Invoice.status == "issued"
            )
        ):
            assert credits_id is not None  # filtered by credits_id IN (...)
            out[credits_id] -= Decimal(total)
    return out


def credited_total(invoice: Invoice) -> Decimal:
    return credited_totals([invoice.id])[invoice.id]


def balance(invoice: Invoice, credited: Decimal | None = None) -> Decimal | None:
    """What is still owed on an issued invoice: its total less its credit notes (None otherwise)."""
    if invoice.is_draft or invoice.is_credit_note:
        return None
    return invoice.total - (credited_total(invoice) if credited is None else credited)


def balances(invoices: list[Invoice]) -> dict[int, Decimal | None]:
    credited = credited_totals([i.id for i in invoices])
    return {i.id: balance(i, credited[i.id]) for i in invoices}


# ---- drafting and issuing -----------------------------------------------------------
def billable(req: ConversionRequest) -> bool:
    """Invoices once the node has accepted the request (also after a later hold or cancellation)."""
    if req.status == "on_hold":
        return req.held_status not in NOT_YET_BILLABLE
    if req.status == "cancelled":
        return accepted_at(req) is not None
    return req.status not in NOT_YET_BILLABLE


def accepted_at(req: ConversionRequest):
    return db.session.scalar(
        select(RequestEvent.at).where(RequestEvent.request_id == req.id, RequestEvent.trigger == "accept").limit(1)
    )


def can_draft(user: User, req: ConversionRequest) -> bool:
    return user.is_staff_of(req.node_id) and billable(req)


def _node_staff_request(user: User, request_id: int, *, for_update: bool = False) -> ConversionRequest:
    req = get_request(user, request_id, for_update=for_update)
    if not (user.is_staff_of(req.node_id)):
        raise Forbidden("Only staff of the node working on the request issue its invoices.")
    if not billable(req):
        state = f"on hold (from {req.held_status})" if req.status == "on_hold" else req.status
        raise Conflict(f"Request {req.reference} is {state}: invoices can be made once the node has accepted it.")
    return req


def invoice_in_force(req: ConversionRequest, *, other_than: int | None = None) -> Invoice | None:
    """An issued invoice of `req` that is not fully credited (the one a second invoice would double)."""
    issued = list(
        db.session.scalars(
            select(Invoice)
            .where(
                Invoice.request_id == req.id,
                Invoice.kind == "invoice",
                Invoice.status == "issued",
                Invoice.id != (other_than or 0),
            )
            .order_by(Invoice.id)
        )
    )
    credited = credited_totals([i.id for i in issued])
    return next((i for i in issued if i.total - credited[i.id] > 0), None)


def _one_invoice_rule(req: ConversionRequest, *, additional: bool, other_than: int | None = None) -> None:
    if additional:
        return
    existing = invoice_in_force(req, other_than=other_than)
    if existing is not None:
        db.session.rollback()
        raise Conflict(
            f"Request {req.reference} already has invoice {existing.number} "
            f"({existing.currency} {existing.total}, not fully credited): credit it first, "
            "or ask for an additional invoice."
        )


def _provisional_rate(req: ConversionRequest) -> Decimal:
    try:
        return vat_treatment(assigned_node(req).country, req.billing_country, req.billing_vat_number).rate
    except ValueError:
        return Decimal("0")


def _set_lines(invoice: Invoice, lines: list[dict], rate: Decimal) -> None:
    """Replace the lines of a draft and recompute the totals (VAT per line, half-up to cents)."""
    invoice.lines.clear()
    db.session.flush()
    for position, line in enumerate(lines, 1):
        net = cents(line["quantity"] * line["unit_price"])
        invoice.lines.append(
            InvoiceLine(
                position=position,
                service=line.get("service"),
                description=line["description"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                net=net,
                vat=cents(net * rate / 100),
            )
        )
    invoice.net = sum((line.net for line in invoice.lines), ZERO)
    invoice.vat = sum((line.vat for line in invoice.lines), ZERO)
    invoice.total = invoice.net + invoice.vat


def _remembered(user: User, key: str | None, scope: str) -> Invoice | None:
    """The invoice an earlier call with this Idempotency-Key made (None: first call)."""
    if not key:
        return None
    row = db.session.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )
    if row is None:
        return None
    if row.scope != scope:
        raise Invalid(f"Idempotency-Key {key!r} was used for another call ({row.scope}): use a new key.")
    return db.session.get(Invoice, row.invoice_id)


def create_invoice(
    user: User,
    request_id: int,
    *,
    lines=None,
    draft: bool = False,
    additional: bool = False,
    idempotency_key: str | None = None,
) -> Invoice:
    """Draft an invoice for the request (lines drafted from the work unless given), and issue it
    unless `draft`. A second invoice while one is in force needs `additional`."""
    key = (idempotency_key or "").strip()[:200] or None
    scope = f"POST /requests/{request_id}/invoices"
    first = _remembered(user, key, scope)
    if first is not None:
        return first
    req = _node_staff_request(user, request_id, for_update=True)  # parallel calls queue here
    first = _remembered(user, key, scope)  # made by a call we waited for
    if first is not None:
        db.session.rollback()
        return first
    if lines is None:
        cleaned, plist = drafted_lines(req)
        currency = plist.currency
    else:
        cleaned, currency = clean_lines(lines), "EUR"
    _one_invoice_rule(req, additional=additional)
    invoice = Invoice(
        kind="invoice",
        status="draft",
        request=req,
        node=req.node,
        additional=additional,
        currency=currency,
        tier=req.billing_sector.value,
        created_by_id=user.id,
    )
    db.session.add(invoice)
    _set_lines(invoice, cleaned, _provisional_rate(req))
    if key:
        db.session.flush()
        db.session.add(IdempotencyKey(user_id=user.id, key=key, scope=scope, invoice_id=invoice.id))
    try:
        if draft:
            db.session.commit()
            return invoice
        return _issue(user, invoice)
    except IntegrityError:  # the same key, committed by a parallel call in the meantime
        db.session.rollback()
        first = _remembered(user, key, scope)
        if first is None:
            raise
        return first


def update_draft(user: User, invoice_id: int, lines) -> Invoice:
    invoice = _own_invoice(user, invoice_id)
    if not invoice.is_draft:
        raise Conflict(f"Invoice {invoice.number} is issued and cannot change: issue a credit note.")
    _set_lines(invoice, clean_lines(lines), _provisional_rate(invoice.request))
    db.session.commit()
    return invoice


def delete_draft(user: User, invoice_id: int) -> int:
    """Delete a draft; returns its request's id."""
    invoice = _own_invoice(user, invoice_id)
    if not invoice.is_draft:
        raise Conflict(f"Invoice {invoice.number} is issued: it is never deleted (issue a credit note).")
    request_id = invoice.request_id
    db.session.delete(invoice)
    db.session.commit()
    return request_id


def issue_preview(invoice: Invoice) -> tuple[object, Decimal, Decimal, Decimal]:
    """(VAT treatment or None, net, VAT, total) the draft would be issued with now."""
    req = invoice.request
    try:
        treatment = vat_treatment(assigned_node(req).country, req.billing_country, req.billing_vat_number)
    except ValueError:
        return None, invoice.net, ZERO, invoice.net
    vat = sum((cents(ln.net * treatment.rate / 100) for ln in invoice.lines), ZERO)
    return treatment, invoice.net, vat, invoice.net + vat


def lines_fingerprint(invoice: Invoice) -> str:
    """A digest of the saved lines: the confirmation page sends it back, so that what is issued is
    what was confirmed."""
    text = "\n".join(f"{ln.description}|{ln.quantity}|{ln.unit_price}" for ln in invoice.lines)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def unsaved_edits(invoice: Invoice, submitted: list[dict]) -> bool:
    """Whether the lines a page submitted differ from the saved lines of the draft."""
    try:
        cleaned = clean_lines(submitted) if submitted else []
    except Invalid:
        return True
    saved = [(ln.description, ln.quantity, ln.unit_price) for ln in invoice.lines]
    return saved != [(c["description"], c["quantity"], c["unit_price"]) for c in cleaned]


def issue_invoice(user: User, invoice_id: int, *, confirmed: str | None = None) -> Invoice:
    """Issue a draft. `confirmed`: the lines_fingerprint() the person saw (pages), refused when the
    draft changed since."""
    invoice = _own_invoice(user, invoice_id)
    if not invoice.is_draft:
        raise Conflict(f"Invoice {invoice.number} is already issued.")
    if confirmed is not None and confirmed != lines_fingerprint(invoice):
        db.session.rollback()
        raise Conflict("The lines of this draft changed after you confirmed them: check them again.")
    req = _node_staff_request(user, invoice.request_id, for_update=True)
    _one_invoice_rule(req, additional=invoice.additional, other_than=invoice.id)
    return _issue(user, invoice)


def _own_invoice(user: User, invoice_id: int) -> Invoice:
    invoice = get_invoice(user, invoice_id, for_update=True)
    if not (user.is_staff_of(invoice.node_id)):
        raise Forbidden("Only staff of the issuing node change its invoices.")
    return invoice


def billing_problems(req: ConversionRequest) -> list[str]:
    node, missing = assigned_node(req), []
    if not (req.billing_organisation or "").strip():
        missing.append("the customer's organisation")
    if not (req.billing_address or "").strip():
        missing.append("the customer's billing address")
    try:
        country = parse_country(req.billing_country or "")
    except ValueError:
        missing.append("the customer's country (an ISO 3166-1 two-letter code)")
    else:
        if req.billing_vat_number:
            try:
                normalise_vat(country, req.billing_vat_number)
            except ValueError as exc:
                missing.append(f"a valid customer VAT number ({exc})")
    if not (node.address or "").strip():
        missing.append(f"the address of {node.code}")
    if not (node.vat_number or "").strip():
        missing.append(f"the VAT number of {node.code}")
    try:
        standard_rate(node.country)
    except ValueError:
        missing.append(f"the standard VAT rate of {node.country}")
    return missing


def snapshots(req: ConversionRequest, plist: PriceList | None) -> tuple[dict, dict, dict]:
    """(seller, customer, subject) as an invoice prints them."""
    node = assigned_node(req)
    paper = db.session.get(Paperwork, req.id)
    vat_number = req.billing_vat_number
    if vat_number:
        try:
            vat_number = normalise_vat(req.billing_country, vat_number)
        except ValueError:
            pass  # billing_problems() refuses to issue with it; a draft preview shows it as given
    seller = {
        "code": node.code,
        "name": node.name,
        "address": node.address,
        "country": node.country,
        "vat_number": node.vat_number,
        "email": node.email,
        "bank_details": plist.bank_details if plist else "",
        "payment_days": plist.payment_days if plist else 30,
    }
    customer = {
        "organisation": req.billing_organisation,
        "address": req.billing_address,
        "country": req.billing_country.upper(),
        "vat_number": vat_number,
        "sector": req.billing_sector.value,
        "contact": req.requester.display_name,
        "email": req.requester.email,
    }
    subject = {
        "reference": req.reference,
        "strain": req.strain.emma_id,
        "strain_name": req.strain.strain_name,
        "source_symbol": req.strain.allele_symbol,
        "product_symbol": req.product_symbol,
        "product_strain_name": req.product_strain_name,
        "po_reference": paper.po_reference if paper else None,
    }
    return seller, customer, subject


# ---- numbering ------------------------------------------------------------------
def _take_number(node: Node, year: int) -> int:
    """The next number of the node's sequence for `year`: the counter row is locked FOR UPDATE
    until the transaction ends (on SQLite the write lock taken by the insert serialises)."""
    db.session.execute(
        insert_or(InvoiceCounter).values(node_id=node.id, year=year, last_number=0).on_conflict_do_nothing()
    )
    counter = db.session.scalar(
        select(InvoiceCounter)
        .where(InvoiceCounter.node_id == node.id, InvoiceCounter.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert counter is not None  # inserted just above (or already there)
    counter.last_number += 1
    db.session.flush()
    return counter.last_number


def _number(invoice: Invoice) -> None:
    issued_on = today()
    sequence = _take_number(invoice.node, issued_on.year)
    invoice.year, invoice.sequence = issued_on.year, sequence
    invoice.number = f"{invoice.node.code}-{issued_on.year}-{sequence:04d}"
    invoice.issued_on = issued_on
    if not invoice.is_credit_note:
        invoice.due_on = issued_on + timedelta(days=(invoice.seller or {}).get("payment_days", 30))


def _finish(user: User, invoice: Invoice) -> Invoice:
    """Render and store the PDF, mark issued, commit (the number's lock is released here)."""
    from .pdf import render_invoice

    try:
        with db.session.no_autoflush:
            pdf = render_invoice(invoice, preview=False)
        invoice.issued_at, invoice.issued_by_id = utcnow(), user.id
        invoice.pdf, invoice.pdf_sha256 = pdf, hashlib.sha256(pdf).hexdigest()
        invoice.status = "issued"
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return invoice


def _still_draft(invoice: Invoice) -> None:
    """Re-read after taking the number's lock: a concurrent issue of the same draft loses."""
    if invoice.id is None:
        return
    status = db.session.scalar(
        select(Invoice.status).where(Invoice.id == invoice.id).execution_options(populate_existing=True)
    )
    if status != "draft":
        db.session.rollback()
        raise Conflict("This invoice was issued at the same moment by someone else.")


def _issue(user: User, invoice: Invoice) -> Invoice:
    req = invoice.request
    missing = billing_problems(req)
    if missing:
        db.session.rollback()
        raise Invalid(f"Cannot issue the invoice for {req.reference}: missing billing data: {'; '.join(missing)}.")
    if invoice.total <= 0:
        db.session.rollback()
        raise Invalid("An invoice must total more than 0.00: use a credit note to refund.")
    treatment = vat_treatment(assigned_node(req).country, req.billing_country, req.billing_vat_number)
    plist = price_list_on(assigned_node(req), today())
    invoice.seller, invoice.customer, invoice.subject = snapshots(req, plist)
    invoice.vat_treatment, invoice.vat_rate, invoice.vat_mention = (treatment.kind, treatment.rate, treatment.mention)
    _set_lines(
        invoice,
        [
            {"service": ln.service, "description": ln.description, "quantity": ln.quantity, "unit_price": ln.unit_price}
            for ln in invoice.lines
        ],
        treatment.rate,
    )
    _number(invoice)
    _still_draft(invoice)
    return _finish(user, invoice)


# ---- credit notes ----------------------------------------------------------------------
def credit_note(user: User, invoice_id: int, *, reason: str | None, lines=None) -> Invoice:
    """A credit note against an issued invoice: negative amounts, same sequence, at most the
    amount not yet credited. Staff of the issuing node or coordinators."""
    original = get_invoice(user, invoice_id, for_update=True)
    if not (user.role is Role.coordinator or user.is_staff_of(original.node_id)):
        raise Forbidden("Only staff of the issuing node or coordinators issue credit notes.")
    if original.is_draft:
        raise Conflict("A draft is not credited: edit or delete it instead.")
    if original.is_credit_note:
        raise Conflict(f"{original.number} is a credit note itself: credit the invoice it refers to.")
    reason = (reason or "").strip() if isinstance(reason, str) or reason is None else None
    if not reason:
        raise Invalid("reason is required: say why the invoice is credited.")
    if len(reason) > 2000:
        raise Invalid("reason is longer than 2000 characters.")
    if lines is None:
        cleaned = [
            {
                "service": ln.service,
                "description": ln.description,
                "quantity": ln.quantity,
                "unit_price": -ln.unit_price,
            }
            for ln in original.lines
        ]
    else:
        cleaned = clean_lines(lines, credit=True)
    note = Invoice(
        kind="credit_note",
        status="draft",
        request=original.request,
        node=original.node,
        credits=original,
        reason=reason,
        currency=original.currency,
        tier=original.tier,
        created_by_id=user.id,
        seller=original.seller,
        customer=original.customer,
        subject=original.subject,
        vat_treatment=original.vat_treatment,
        vat_rate=original.vat_rate,
        vat_mention=original.vat_mention,
    )
    db.session.add(note)
    _set_lines(note, cleaned, original.vat_rate or Decimal("0"))
    if note.total >= 0:
        db.session.rollback()
        raise Invalid("A credit note must credit more than 0.00.")
    _number(note)  # the lock also serialises concurrent credit notes on SQLite
    left = original.total - credited_total(original)
    if -note.total > left:
        db.session.rollback()
        raise Conflict(
            f"{original.number} has {original.currency} {left} left to credit; this credit note "
            f"is {original.currency} {-note.total}."
        )
    return _finish(user, note)


def invoice_pdf(user: User, invoice_id: int) -> tuple[Invoice, bytes]:
    """The stored bytes of an issued document; a draft is rendered as a marked preview."""
    from .pdf import render_invoice

    invoice = get_invoice(user, invoice_id)
    if invoice.is_draft:
        return invoice, render_invoice(invoice, preview=True)
    if invoice.pdf is None:  # bulk-loaded by seed-bench: rendered from its frozen snapshots, not stored
        return invoice, render_invoice(invoice, preview=False)
    return invoice, invoice.pdf
