"""Invoice pages: lists (+ CSV), one invoice (edit draft lines, issue, credit), a request's
invoices, price lists. Every change goes through conversion.invoices.operations."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.auth import role_required
from ..accounts.models import Role
from ..catalogue.models import Node
from ..errors import ApiError
from ..exports import csv_writer
from ..extensions import db, utctoday
from ..inputs import parse_id
from . import operations as ops
from .models import SERVICE_LABELS, TIERS, Invoice, Service
from .serialize import amount

bp = Blueprint("invoices", __name__)
ANY_ROLE = (Role.requester, Role.staff, Role.coordinator)


@bp.app_template_global()
def invoice_documents(req) -> dict:
    """For the request page's documents panel (invoices/_request_documents.html)."""
    invoices = ops.invoices_of(current_user, req)  # the page loaded req for this user
    can_draft = (current_user.role is Role.staff and req.node_id is not None
                 and req.node_id == current_user.node_id and ops.billable(req))
    return {"invoices": invoices, "can_draft": can_draft, "amount": amount}


def _node_filter() -> str | None:
    if current_user.role is Role.coordinator:
        return (request.args.get("node") or "").strip()[:20] or None
    return None


@bp.route("/invoices")
@role_required(*ANY_ROLE)
def index():
    node = _node_filter()
    before = parse_id(request.args.get("before"))  # past 32 bits: ignored, not an overflow
    try:
        invoices = ops.list_invoices(current_user, node=node, before=before, limit=50)
    except ApiError as exc:
        flash(exc.message, "error")
        return redirect(url_for("invoices.index"))
    nodes = db.session.scalars(db.select(Node).order_by(Node.code)).all() \
        if current_user.role is Role.coordinator else []
    return render_template("invoices/index.html", invoices=invoices, node=node, nodes=nodes,
                           more=len(invoices) == 50, amount=amount)


CSV_COLUMNS = ["number", "kind", "status", "credits", "issued_on", "due_on", "node", "request",
               "customer", "country", "customer_vat_number", "vat_treatment", "vat_rate", "net", "vat",
               "total", "currency"]


@bp.route("/invoices.csv")
@role_required(*ANY_ROLE)
def export_csv():
    try:
        invoices = ops.list_invoices(current_user, node=_node_filter(), limit=None)
    except ApiError as exc:
        abort(422, exc.message)
    out = io.StringIO()
    writer = csv_writer(out)  # every cell quoted and neutralised (conversion/exports.py)
    writer.writerow(CSV_COLUMNS)
    for inv in invoices:
        customer = inv.customer or {}
        row = [inv.number, inv.kind, inv.status, inv.credits.number if inv.credits else None,
               inv.issued_on, inv.due_on, inv.node.code, inv.request.reference,
               customer.get("organisation", inv.request.billing_organisation),
               customer.get("country", inv.request.billing_country), customer.get("vat_number"),
               inv.vat_treatment, amount(inv.vat_rate)]
        # amounts are ours (Decimal): a credit note's -1500.00 stays a number
        writer.writerow(row + [Decimal(amount(v)) for v in (inv.net, inv.vat, inv.total)] + [inv.currency])
    name = f"invoices-{_node_filter() or 'all'}-{utctoday().isoformat()}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/invoices/<int:invoice_id>")
@role_required(*ANY_ROLE)
def show(invoice_id: int):
    try:
        invoice = ops.get_invoice(current_user, invoice_id)
    except ApiError:
        abort(404)
    is_node_staff = current_user.role is Role.staff and invoice.node_id == current_user.node_id
    can_credit = (not invoice.is_draft and not invoice.is_credit_note
                  and (is_node_staff or current_user.role is Role.coordinator))
    credit_notes = [] if invoice.is_credit_note else db.session.scalars(
        ops.visible_invoices(current_user).where(Invoice.credits_id == invoice.id)
        .order_by(Invoice.id)).all()
    return render_template(
        "invoices/show.html", invoice=invoice, amount=amount, editable=invoice.is_draft and is_node_staff,
        can_credit=can_credit, credited=ops.credited_total(invoice) if can_credit else None,
        credit_notes=credit_notes, blank_rows=range(len(invoice.lines) + 1, len(invoice.lines) + 4))


def _done(invoice_id: int, message: str):
    flash(message, "success")
    return redirect(url_for("invoices.show", invoice_id=invoice_id))


def _failed(exc: ApiError, target: str):
    if exc.status == 404:
        abort(404)
    flash(exc.message, "error")
    return redirect(target)


def _form_lines() -> list[dict]:
    lines = []
    for i in range(1, ops.MAX_LINES + 4):
        description = request.form.get(f"description_{i}", "").strip()
        price = request.form.get(f"unit_price_{i}", "").strip()
        if not description and not price:
            continue
        lines.append({"description": description, "quantity": request.form.get(f"quantity_{i}", "1").strip() or "1",
                      "unit_price": price, "service": request.form.get(f"service_{i}") or None})
    return lines


@bp.route("/invoices/<int:invoice_id>/lines", methods=["POST"])
@role_required(Role.staff)
def edit_lines(invoice_id: int):
    try:
        ops.update_draft(current_user, invoice_id, _form_lines())
    except ApiError as exc:
        return _failed(exc, url_for("invoices.show", invoice_id=invoice_id))
    return _done(invoice_id, "Draft lines saved.")


@bp.route("/invoices/<int:invoice_id>/issue", methods=["POST"])
@role_required(Role.staff)
def issue(invoice_id: int):
    try:
        invoice = ops.issue_invoice(current_user, invoice_id)
    except ApiError as exc:
        return _failed(exc, url_for("invoices.show", invoice_id=invoice_id))
    return _done(invoice.id, f"Invoice {invoice.number} issued.")


@bp.route("/invoices/<int:invoice_id>/delete", methods=["POST"])
@role_required(Role.staff)
def delete(invoice_id: int):
    try:
        invoice = ops.get_invoice(current_user, invoice_id)
        request_id = invoice.request_id
        ops.delete_draft(current_user, invoice_id)
    except ApiError as exc:
        return _failed(exc, url_for("invoices.show", invoice_id=invoice_id))
    flash("Draft deleted.", "success")
    return redirect(url_for("invoices.for_request", request_id=request_id))


@bp.route("/invoices/<int:invoice_id>/credit-note", methods=["POST"])
@role_required(Role.staff, Role.coordinator)
def credit(invoice_id: int):
    lines = None
    if request.form.get("amount", "").strip():
        lines = [{"description": request.form.get("description", "").strip() or "Partial credit",
                  "quantity": "1", "unit_price": request.form["amount"].strip()}]
    try:
        note = ops.credit_note(current_user, invoice_id, reason=request.form.get("reason"), lines=lines)
    except ApiError as exc:
        return _failed(exc, url_for("invoices.show", invoice_id=invoice_id))
    return _done(note.id, f"Credit note {note.number} issued.")


@bp.route("/invoices/request/<int:request_id>", methods=["GET", "POST"])
@role_required(*ANY_ROLE)
def for_request(request_id: int):
    """A request's invoices; node staff draft a new invoice here."""
    from ..requests.operations import get_request

    try:
        req = get_request(current_user, request_id)
    except ApiError:
        abort(404)
    if request.method == "POST":
        try:
            invoice = ops.create_invoice(current_user, request_id, draft=True)
        except ApiError as exc:
            return _failed(exc, url_for("invoices.for_request", request_id=request_id))
        return _done(invoice.id, "Draft invoice prepared from the price list and the recorded work: "
                                 "check the lines, then issue it.")
    invoices = ops.request_invoices(current_user, request_id)
    can_draft = current_user.role is Role.staff and req.node_id == current_user.node_id and ops.billable(req)
    return render_template("invoices/request.html", req=req, invoices=invoices, can_draft=can_draft,
                           amount=amount)


@bp.route("/prices", methods=["GET", "POST"])
@role_required(Role.staff, Role.coordinator)
def prices():
    """Price lists per node; coordinators add a new version from a date on."""
    if current_user.role is Role.staff:
        nodes = [current_user.node]
    else:
        nodes = db.session.scalars(db.select(Node).where(Node.offers_conversion).order_by(Node.code)).all()
    code = (request.values.get("node") or nodes[0].code if nodes else "").strip().upper()
    node = next((n for n in nodes if n.code == code), nodes[0] if nodes else None)
    if request.method == "POST":
        if current_user.role is not Role.coordinator:
            abort(403)
        table = {(s.value, t): request.form.get(f"{s.value}_{t}", "") for s in Service for t in TIERS}
        try:
            plist = ops.save_price_list(
                current_user, code, valid_from=request.form.get("valid_from", ""), prices=table,
                bank_details=request.form.get("bank_details"),
                payment_days=request.form.get("payment_days", "30"))  # checked: ASCII digits, 0-120
        except ApiError as exc:
            flash(exc.message, "error")
            return redirect(url_for("invoices.prices", node=code))
        flash(f"Price list of {code} from {plist.valid_from} saved.", "success")
        return redirect(url_for("invoices.prices", node=code))
    lists = ops.price_lists(node) if node else []
    current = ops.price_list_on(node, ops.today()) if node else None
    return render_template("invoices/prices.html", nodes=nodes, node=node, lists=lists, current=current,
                           services=list(Service), labels=SERVICE_LABELS, tiers=TIERS, amount=amount,
                           today=ops.today(), editable=current_user.role is Role.coordinator)
