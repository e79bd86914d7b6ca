"""Invoice operations: price lists, drafting, issuing (gapless numbers), credit notes.

The only code that writes invoices. Visibility follows requests: requesters see the issued
invoices of their own requests, staff their node's invoices, coordinators all."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.models import Role, User
from ..catalogue.models import Material, Node
from ..catalogue.operations import get_node
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db, sqlite_write_lock, utcnow, utctoday
from ..inputs import parse_date, parse_decimal, parse_int
from ..lab.models import Cryopreservation, Paperwork, QcResult
from ..lab.operations import records_in_force
from ..requests.models import ConversionRequest, Deliverable, RequestEvent
from ..requests.operations import get_request
from .models import (
    SERVICE_LABELS, TIERS, Invoice, InvoiceCounter, InvoiceLine, Price, PriceList, Service, cents,
)
from .vat import normalise_vat, standard_rate, vat_treatment

ZERO = Decimal("0.00")
MAX_LINES = 50
NOT_YET_BILLABLE = ("submitted", "approved", "assigned", "rejected")


today = utctoday  # the invoice dates are UTC days


# ---- visibility ---------------------------------------------------------------
def visible_invoices(user: User) -> Select:
    stmt = select(Invoice)
    if user.role is Role.requester:
        stmt = stmt.join(Invoice.request).where(
            ConversionRequest.requester_id == user.id, Invoice.status == "issued")
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
    return list(db.session.scalars(visible_invoices(user).where(Invoice.request_id == req.id)
                                   .options(selectinload(Invoice.lines)).order_by(Invoice.id)))


def list_invoices(user: User, *, node: str | None = None, before: int | None = None,
                  limit: int | None = 50) -> list[Invoice]:
    """Newest first; `before` is an id for keyset pagination; limit None gives all."""
    stmt = visible_invoices(user).options(
        joinedload(Invoice.node), joinedload(Invoice.request), joinedload(Invoice.credits),
        selectinload(Invoice.lines))
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
    out = {i: ZERO for i in invoice_ids}
    if invoice_ids:
        for credits_id, total in db.session.execute(select(Invoice.credits_id, Invoice.total).where(
                Invoice.credits_id.in_(invoice_ids), Invoice.status == "issued")):
            out[credits_id] -= Decimal(total)
    return out


def credited_total(invoice: Invoice) -> Decimal:
    return credited_totals([invoice.id])[invoice.id]


# ---- price lists ----------------------------------------------------------------
def price_list_on(node: Node, day: date) -> PriceList | None:
    return db.session.scalar(select(PriceList).where(
        PriceList.node_id == node.id, PriceList.valid_from <= day
    ).options(selectinload(PriceList.prices)).order_by(PriceList.valid_from.desc()).limit(1))


def price_lists(node: Node) -> list[PriceList]:
    return list(db.session.scalars(select(PriceList).where(PriceList.node_id == node.id).options(
        selectinload(PriceList.prices)).order_by(PriceList.valid_from.desc())))


def save_price_list(user: User | None, node_code: str, *, valid_from, prices: dict,
                    bank_details: str | None = None, payment_days: int = 30,
                    allow_past: bool = False) -> PriceList:
    """Create the node's price list from `valid_from` (or replace one not yet in force).

    `prices` maps (service, tier) to an amount. Lists already in force are never edited:
    issued invoices keep their frozen lines anyway, and drafts keep the prices they had."""
    if user is not None and user.role is not Role.coordinator:
        raise Forbidden("Only coordinators edit price lists.")
    node = get_node(node_code or "")
    if node is None:
        raise Invalid(f"Unknown node {node_code!r}.")
    valid_from = parse_date(valid_from, "valid_from", required=True)
    if valid_from <= today() and not allow_past:
        raise Invalid("A new price list starts tomorrow at the earliest: prices already in force "
                      "(today's included) stay as they were.")
    payment_days = parse_int(payment_days, "payment_days", lo=0, hi=120)
    amounts = {}
    for service in Service:
        for tier in TIERS:
            value = prices.get((service.value, tier))
            if value in (None, ""):
                raise Invalid(f"Price missing: {SERVICE_LABELS[service]} ({tier}).")
            amount = parse_amount(value, f"{service.value} ({tier})")
            if amount < 0:
                raise Invalid(f"{service.value} ({tier}) cannot be negative.")
            amounts[(service.value, tier)] = amount
    plist = db.session.scalar(select(PriceList).where(
        PriceList.node_id == node.id, PriceList.valid_from == valid_from))
    if plist is None:
        previous = price_list_on(node, valid_from)
        plist = PriceList(node=node, valid_from=valid_from, currency="EUR",
                          bank_details=previous.bank_details if previous else "")
        db.session.add(plist)
    elif valid_from <= today() and not allow_past:
        raise Conflict(f"The {node.code} price list of {valid_from} is in force and cannot be edited: "
                       "start a new one from a later date.")
    plist.payment_days = payment_days
    if bank_details is not None:
        plist.bank_details = bank_details.strip()
    plist.created_by_id = user.id if user is not None else None
    have = {(p.service, p.tier): p for p in plist.prices}
    for key, amount in amounts.items():
        if key in have:
            have[key].amount = amount
        else:
            plist.prices.append(Price(service=key[0], tier=key[1], amount=amount))
    db.session.commit()
    return plist


# ---- amounts and lines ------------------------------------------------------------
def parse_amount(value, field: str) -> Decimal:
    """A money or quantity value from JSON or a form: at most 2 decimals, never via float maths."""
    if isinstance(value, bool) or value is None:
        raise Invalid(f"{field} must be a number such as 1500.00.")
    amount = parse_decimal(value, field)  # plain digits: no exponent, no NaN
    if not amount.is_finite():
        raise Invalid(f"{field} must be a finite number.")
    if abs(amount) >= Decimal("1e9"):
        raise Invalid(f"{field} is too large.")
    if amount != amount.quantize(Decimal("0.01")):
        raise Invalid(f"{field} must have at most 2 decimals.")
    return cents(amount)


def clean_lines(lines, *, credit: bool = False) -> list[dict]:
    """Validate lines given by people: description, quantity > 0, unit_price."""
    if not isinstance(lines, list) or not lines:
        raise Invalid("lines must be a non-empty list of {description, quantity, unit_price}.")
    if len(lines) > MAX_LINES:
        raise Invalid(f"At most {MAX_LINES} lines.")
    out = []
    for i, line in enumerate(lines, 1):
        if not isinstance(line, dict):
            raise Invalid(f"line {i}: give description, quantity and unit_price.")
        description = line.get("description")
        if not isinstance(description, str) or not description.strip():
            raise Invalid(f"line {i}: description is required.")
        if len(description.strip()) > 500:
            raise Invalid(f"line {i}: description is longer than 500 characters.")
        quantity = parse_amount(line.get("quantity", 1), f"line {i}: quantity")
        if not Decimal("0") < quantity <= Decimal("10000"):
            raise Invalid(f"line {i}: quantity must be above 0 and at most 10000.")
        unit_price = parse_amount(line.get("unit_price"), f"line {i}: unit_price")
        if abs(quantity * unit_price) >= Decimal("1e8"):
            raise Invalid(f"line {i}: the amount is too large.")
        if credit:
            unit_price = -abs(unit_price)
        service = line.get("service")
        out.append({"description": description.strip(), "quantity": quantity, "unit_price": unit_price,
                    "service": service if service in {s.value for s in Service} else None})
    return out


def _set_lines(invoice: Invoice, lines: list[dict], rate: Decimal) -> None:
    """Replace the lines of a draft and recompute the totals (VAT per line, half-up to cents)."""
    invoice.lines.clear()
    db.session.flush()
    for position, line in enumerate(lines, 1):
        net = cents(line["quantity"] * line["unit_price"])
        invoice.lines.append(InvoiceLine(
            position=position, service=line.get("service"), description=line["description"],
            quantity=line["quantity"], unit_price=line["unit_price"], net=net,
            vat=cents(net * rate / 100)))
    _totals(invoice)


def _totals(invoice: Invoice) -> None:
    invoice.net = sum((line.net for line in invoice.lines), ZERO)
    invoice.vat = sum((line.vat for line in invoice.lines), ZERO)
    invoice.total = invoice.net + invoice.vat


def accepted_on(req: ConversionRequest) -> date:
    """Prices are those in force when the node accepted the request (the quoted price)."""
    at = db.session.scalar(select(RequestEvent.at).where(
        RequestEvent.request_id == req.id, RequestEvent.trigger == "accept"
    ).order_by(RequestEvent.id.desc()).limit(1))
    return at.date() if at else today()


def drafted_lines(req: ConversionRequest) -> tuple[list[dict], PriceList]:
    """Lines from the plan and the lab records, priced from the node's list for the sector."""
    node, tier = req.node, req.billing_sector.value
    day = accepted_on(req)
    plist = price_list_on(node, day) or price_list_on(node, today())
    if plist is None:
        raise Invalid(f"{node.code} has no price list in force on {day}: a coordinator must add one "
                      "(or give the lines yourself).")

    def line(service: Service, description: str, quantity: int = 1) -> dict:
        amount = plist.amount(service, tier)
        if amount is None:
            raise Invalid(f"The {node.code} price list of {plist.valid_from} has no {tier} price for "
                          f"{service.value}.")
        return {"service": service.value, "description": description,
                "quantity": Decimal(quantity), "unit_price": amount}

    strain = req.strain
    lines = []
    if strain.material is not Material.live:
        how = ("IVF with frozen sperm" if strain.material is Material.frozen_sperm
               else "thawing of frozen embryos")
        lines.append(line(Service.rederivation, f"Rederivation of {strain.emma_id} "
                                                f"({req.source_class}) by {how}, embryo transfer, "
                                                "founder genotyping"))
    in_force = records_in_force(req)  # voided records count nowhere; each session once
    tat_cre_used = in_force.tat_cre_used
    steps = req.steps
    for i, step in enumerate(steps, 1):
        how = ("TAT-Cre" if tat_cre_used and step["recombinase"] == "Cre"
               else f"{step['recombinase']} deleter cross")
        lines.append(line(Service.conversion_step,
                          f"Conversion step {i} of {len(steps)}: {step['from_class']} to "
                          f"{step['to_class']} ({how}), breeding and QC genotyping"))
    if tat_cre_used:
        lines.append(line(Service.tat_cre, "TAT-Cre treatment of IVF embryos (cell-permeable Cre protein)"))
    cryo = in_force.cryo
    stored = ", ".join(f"{c.material} ({c.count} samples)" for c in cryo)
    lines.append(line(Service.cryopreservation,
                      f"Cryopreservation of {req.product_symbol}: {stored}, with test thaw" if stored
                      else f"Cryopreservation of {req.product_symbol} with test thaw"))
    if req.deliverable is Deliverable.live_animals:
        lines.append(line(Service.shipping_live, "Shipping of live animals (up to 3 heterozygous mice)"))
    else:
        what = "sperm" if req.deliverable is Deliverable.frozen_sperm else "embryos"
        lines.append(line(Service.shipping_frozen, f"Shipping of frozen {what} in a dry shipper"))
    return lines, plist


# ---- drafting and issuing -----------------------------------------------------------
def billable(req: ConversionRequest) -> bool:
    """Invoices once the node has accepted the request (also after a later hold or cancellation)."""
    if req.status == "on_hold":
        return req.held_status not in NOT_YET_BILLABLE
    if req.status == "cancelled":
        return accepted_at(req) is not None
    return req.status not in NOT_YET_BILLABLE


def _node_staff_request(user: User, request_id: int) -> ConversionRequest:
    req = get_request(user, request_id)
    if not (user.role is Role.staff and req.node_id is not None and req.node_id == user.node_id):
        raise Forbidden("Only staff of the node working on the request issue its invoices.")
    if not billable(req):
        state = f"on hold (from {req.held_status})" if req.status == "on_hold" else req.status
        raise Conflict(f"Request {req.reference} is {state}: invoices can be made once the node "
                       "has accepted it.")
    return req


def accepted_at(req: ConversionRequest):
    return db.session.scalar(select(RequestEvent.at).where(
        RequestEvent.request_id == req.id, RequestEvent.trigger == "accept").limit(1))


def _provisional_rate(req: ConversionRequest) -> Decimal:
    try:
        return vat_treatment(req.node.country, req.billing_country, req.billing_vat_number).rate
    except ValueError:
        return Decimal("0")


def create_invoice(user: User, request_id: int, *, lines=None, draft: bool = False) -> Invoice:
    """Draft an invoice for the request (lines drafted from the work unless given), and
    issue it unless `draft`."""
    req = _node_staff_request(user, request_id)
    if lines is None:
        cleaned, plist = drafted_lines(req)
        currency = plist.currency
    else:
        cleaned, currency = clean_lines(lines), "EUR"
    invoice = Invoice(kind="invoice", status="draft", request=req, node=req.node,
                      currency=currency, tier=req.billing_sector.value, created_by_id=user.id)
    db.session.add(invoice)
    _set_lines(invoice, cleaned, _provisional_rate(req))
    if draft:
        db.session.commit()
        return invoice
    return _issue(user, invoice)


def update_draft(user: User, invoice_id: int, lines) -> Invoice:
    invoice = _own_invoice(user, invoice_id)
    if not invoice.is_draft:
        raise Conflict(f"Invoice {invoice.number} is issued and cannot change: issue a credit note.")
    _set_lines(invoice, clean_lines(lines), _provisional_rate(invoice.request))
    db.session.commit()
    return invoice


def delete_draft(user: User, invoice_id: int) -> None:
    invoice = _own_invoice(user, invoice_id)
    if not invoice.is_draft:
        raise Conflict(f"Invoice {invoice.number} is issued: it is never deleted (issue a credit note).")
    db.session.delete(invoice)
    db.session.commit()


def issue_invoice(user: User, invoice_id: int) -> Invoice:
    invoice = _own_invoice(user, invoice_id)
    if not invoice.is_draft:
        raise Conflict(f"Invoice {invoice.number} is already issued.")
    _node_staff_request(user, invoice.request_id)
    return _issue(user, invoice)


def _own_invoice(user: User, invoice_id: int) -> Invoice:
    invoice = get_invoice(user, invoice_id, for_update=True)
    if not (user.role is Role.staff and invoice.node_id == user.node_id):
        raise Forbidden("Only staff of the issuing node change its invoices.")
    return invoice


def billing_problems(req: ConversionRequest) -> list[str]:
    node, missing = req.node, []
    if not (req.billing_organisation or "").strip():
        missing.append("the customer's organisation")
    if not (req.billing_address or "").strip():
        missing.append("the customer's billing address")
    country = (req.billing_country or "").strip().upper()
    if len(country) != 2 or not country.isalpha():
        missing.append("the customer's country (two-letter code)")
    elif req.billing_vat_number:
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


def _snapshots(req: ConversionRequest, plist: PriceList | None) -> tuple[dict, dict, dict]:
    node = req.node
    paper = db.session.get(Paperwork, req.id)
    vat_number = req.billing_vat_number
    if vat_number:
        try:
            vat_number = normalise_vat(req.billing_country, vat_number)
        except ValueError:
            pass  # billing_problems() refuses to issue with it; a draft preview shows it as given
    seller = {"code": node.code, "name": node.name, "address": node.address, "country": node.country,
              "vat_number": node.vat_number, "email": node.email,
              "bank_details": plist.bank_details if plist else "",
              "payment_days": plist.payment_days if plist else 30}
    customer = {"organisation": req.billing_organisation, "address": req.billing_address,
                "country": req.billing_country.upper(), "vat_number": vat_number,
                "sector": req.billing_sector.value, "contact": req.requester.display_name,
                "email": req.requester.email}
    subject = {"reference": req.reference, "strain": req.strain.emma_id,
               "strain_name": req.strain.strain_name, "source_symbol": req.strain.allele_symbol,
               "product_symbol": req.product_symbol, "product_strain_name": req.product_strain_name,
               "po_reference": paper.po_reference if paper else None}
    return seller, customer, subject


def _take_number(node: Node, year: int) -> int:
    """The next number of the node's sequence for `year`: the counter row is locked FOR UPDATE
    until the transaction ends (on SQLite the write lock taken by the insert serialises)."""
    bind = db.session.get_bind()
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(InvoiceCounter).values(node_id=node.id, year=year, last_number=0)
                       .on_conflict_do_nothing())
    counter = db.session.scalar(select(InvoiceCounter).where(
        InvoiceCounter.node_id == node.id, InvoiceCounter.year == year
    ).with_for_update().execution_options(populate_existing=True))
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
    status = db.session.scalar(select(Invoice.status).where(Invoice.id == invoice.id)
                               .execution_options(populate_existing=True))
    if status != "draft":
        db.session.rollback()
        raise Conflict("This invoice was issued at the same moment by someone else.")


def _issue(user: User, invoice: Invoice) -> Invoice:
    req = invoice.request
    missing = billing_problems(req)
    if missing:
        db.session.rollback()
        raise Invalid(f"Cannot issue the invoice for {req.reference}: missing billing data: "
                      f"{'; '.join(missing)}.")
    if invoice.total <= 0:
        db.session.rollback()
        raise Invalid("An invoice must total more than 0.00: use a credit note to refund.")
    treatment = vat_treatment(req.node.country, req.billing_country, req.billing_vat_number)
    plist = price_list_on(req.node, today())
    invoice.seller, invoice.customer, invoice.subject = _snapshots(req, plist)
    invoice.vat_treatment, invoice.vat_rate, invoice.vat_mention = (
        treatment.kind, treatment.rate, treatment.mention)
    _set_lines(invoice, [{"service": l.service, "description": l.description, "quantity": l.quantity,
                          "unit_price": l.unit_price} for l in invoice.lines], treatment.rate)
    _number(invoice)
    _still_draft(invoice)
    return _finish(user, invoice)


# ---- credit notes ----------------------------------------------------------------------
def credit_note(user: User, invoice_id: int, *, reason: str | None, lines=None) -> Invoice:
    """A credit note against an issued invoice: negative amounts, same sequence, at most the
    amount not yet credited. Staff of the issuing node or coordinators."""
    original = get_invoice(user, invoice_id, for_update=True)
    if not (user.role is Role.coordinator or (user.role is Role.staff and original.node_id == user.node_id)):
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
        cleaned = [{"service": l.service, "description": l.description, "quantity": l.quantity,
                    "unit_price": -l.unit_price} for l in original.lines]
    else:
        cleaned = clean_lines(lines, credit=True)
    note = Invoice(kind="credit_note", status="draft", request=original.request,
                   node=original.node, credits=original, reason=reason,
                   currency=original.currency, tier=original.tier, created_by_id=user.id,
                   seller=original.seller, customer=original.customer, subject=original.subject,
                   vat_treatment=original.vat_treatment, vat_rate=original.vat_rate,
                   vat_mention=original.vat_mention)
    db.session.add(note)
    _set_lines(note, cleaned, original.vat_rate or Decimal("0"))
    if note.total >= 0:
        db.session.rollback()
        raise Invalid("A credit note must credit more than 0.00.")
    _number(note)  # the lock also serialises concurrent credit notes on SQLite
    left = original.total - credited_total(original)
    if -note.total > left:
        db.session.rollback()
        raise Conflict(f"{original.number} has {original.currency} {left} left to credit; this credit note "
                       f"is {original.currency} {-note.total}.")
    return _finish(user, note)


# ---- documents --------------------------------------------------------------------------
def invoice_pdf(user: User, invoice_id: int) -> tuple[Invoice, bytes]:
    """The stored bytes of an issued document; a draft is rendered as a marked preview."""
    invoice = get_invoice(user, invoice_id)
    if invoice.is_draft:
        from .pdf import render_invoice

        return invoice, render_invoice(invoice, preview=True)
    if invoice.pdf is None:  # bulk-loaded by seed-bench: rendered from its frozen snapshots, not stored
        from .pdf import render_invoice

        return invoice, render_invoice(invoice, preview=False)
    return invoice, invoice.pdf


@dataclass
class Certificate:
    request: ConversionRequest
    completed_on: date | None
    steps: list[dict]
    qc: list[QcResult]
    cryo: list[Cryopreservation]


def certificate_pdf(user: User, request_id: int) -> tuple[ConversionRequest, bytes]:
    from .pdf import render_certificate

    req = get_request(user, request_id)
    if req.status != "completed":
        raise Conflict(f"Request {req.reference} is {req.status}: the conversion certificate is "
                       "available once it is completed.")
    completed = db.session.scalar(select(RequestEvent.at).where(
        RequestEvent.request_id == req.id, RequestEvent.to_status == "completed"
    ).order_by(RequestEvent.id.desc()).limit(1))
    in_force = records_in_force(req)  # passing QC of recorded animals; nothing voided
    steps = [{**s, "how": "TAT-Cre" if in_force.tat_cre_used and s["recombinase"] == "Cre"
              else f"{s['recombinase']} deleter"} for s in req.steps]
    return req, render_certificate(Certificate(req, completed.date() if completed else None, steps,
                                               in_force.qc, in_force.cryo))
