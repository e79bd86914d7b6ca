"""Invoice pages: lists (+ CSV), one invoice (edit draft lines, issue, credit), a request's
invoices, price lists. Every change goes through conversion.invoices.operations."""

from __future__ import annotations

import io
from decimal import Decimal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.auth import role_required
from ..accounts.models import Role
from ..catalogue.operations import all_nodes
from ..errors import ApiError
from ..exports import csv_writer
from ..extensions import utctoday
from ..inputs import parse_id
from ..requests.models import Sector
from . import operations as ops
from .models import SERVICE_LABELS, Service
from .serialize import amount

bp = Blueprint("invoices", __name__)
ANY_ROLE = (Role.requester, Role.staff, Role.coordinator)


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
    nodes = all_nodes() if current_user.role is Role.coordinator else []
    return render_template(
        "invoices/index.html",
        invoices=invoices,
        node=node,
        nodes=nodes,
        more=len(invoices) == 50,
        amount=amount,
        balances=ops.balances(invoices),
    )


CSV_COLUMNS = [
    "number",
    "kind",
    "status",
    "credits",
    "issued_on",
    "due_on",
    "node",
    "request",
    "customer",
    "country",
    "customer_vat_number",
    "vat_treatment",
    "vat_rate",
    "net",
    "vat",
    "total",
    "balance",
    "currency",
]


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
    balances = ops.balances(invoices)
    for inv in invoices:
        customer = inv.customer or {}
        row = [
            inv.number,
            inv.kind,
            inv.status,
            inv.credits.number if inv.credits else None,
            inv.issued_on,
            inv.due_on,
            inv.node.code,
            inv.request.reference,
            customer.get("organisation", inv.request.billing_organisation),
            customer.get("country", inv.request.billing_country),
            customer.get("vat_number"),
            inv.vat_treatment,
            amount(inv.vat_rate),
        ]
        # amounts are ours (Decimal): a credit note's -1500.00 stays a number
        balance = balances[inv.id]
        writer.writerow(
            row
            + [Decimal(amount(v)) for v in (inv.net, inv.vat, inv.total)]
            + [Decimal(amount(balance)) if balance is not None else None, inv.currency]
        )
    name = f"invoices-{_node_filter() or 'all'}-{utctoday().isoformat()}.csv"
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.route("/invoices/<int:invoice_id>")
@role_required(*ANY_ROLE)
def show(invoice_id: int, typed: list[dict] | None = None, status: int = 200):
    """One invoice; `typed`: lines as the person typed them (kept on the page when refused)."""
    try:
        invoice = ops.get_invoice(current_user, invoice_id)
    except ApiError:
        abort(404)
    is_node_staff = current_user.is_staff_of(invoice.node_id)
    can_credit = (
        not invoice.is_draft and not invoice.is_credit_note and (is_node_staff or current_user.role is Role.coordinator)
    )
    rows = (
        typed
        if typed is not None
        else [
            {
                "description": l.description,
                "quantity": amount(l.quantity),
                "unit_price": amount(l.unit_price),
                "service": l.service,
            }
            for l in invoice.lines
        ]
    )
    return render_template(
        "invoices/show.html",
        invoice=invoice,
        amount=amount,
        editable=invoice.is_draft and is_node_staff,
        can_credit=can_credit,
        credited=ops.credited_total(invoice) if can_credit else None,
        balance=ops.balance(invoice),
        credit_notes=ops.credit_notes_of(current_user, invoice),
        rows=rows,
        blank_rows=range(len(rows) + 1, len(rows) + 4),
        unsaved=typed is not None,
        in_force=ops.invoice_in_force(invoice.request, other_than=invoice.id)
        if invoice.is_draft and is_node_staff
        else None,
    ), status


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
        lines.append(
            {
                "description": description,
                "quantity": request.form.get(f"quantity_{i}", "1").strip() or "1",
                "unit_price": price,
                "service": request.form.get(f"service_{i}") or None,
            }
        )
    return lines


@bp.route("/invoices/<int:invoice_id>/lines", methods=["POST"])
@role_required(Role.staff)
def edit_lines(invoice_id: int):
    try:
        ops.update_draft(current_user, invoice_id, _form_lines())
    except ApiError as exc:
        return _failed(exc, url_for("invoices.show", invoice_id=invoice_id))
    return _done(invoice_id, "Draft lines saved.")


@bp.route("/invoices/<int:invoice_id>/confirm", methods=["POST"])
@role_required(Role.staff)
def confirm(invoice_id: int):
    """The step before issuing: the lines as saved, with totals. The edit form's lines come along:
    if they differ from the saved ones, nothing is issued (save them first)."""
    try:
        invoice = ops.get_invoice(current_user, invoice_id)
    except ApiError:
        abort(404)
    if not invoice.is_draft:
        flash(f"Invoice {invoice.number} is already issued.", "error")
        return redirect(url_for("invoices.show", invoice_id=invoice.id))
    typed = _form_lines()
    if ops.unsaved_edits(invoice, typed):
        flash(
            "The lines have unsaved changes: save them (or reload the page to drop them) before issuing. "
            "Nothing was issued.",
            "error",
        )
        return show(invoice_id, typed=typed, status=409)
    req = invoice.request
    treatment, net, vat, total = ops.issue_preview(invoice)
    return render_template(
        "invoices/confirm.html",
        invoice=invoice,
        amount=amount,
        treatment=treatment,
        net=net,
        vat=vat,
        total=total,
        problems=ops.billing_problems(req),
        fingerprint=ops.lines_fingerprint(invoice),
        in_force=ops.invoice_in_force(req, other_than=invoice.id),
    )


@bp.route("/invoices/<int:invoice_id>/issue", methods=["POST"])
@role_required(Role.staff)
def issue(invoice_id: int):
    try:
        invoice = ops.issue_invoice(current_user, invoice_id, confirmed=request.form.get("confirmed", ""))
    except ApiError as exc:
        return _failed(exc, url_for("invoices.show", invoice_id=invoice_id))
    return _done(invoice.id, f"Invoice {invoice.number} issued.")


@bp.route("/invoices/<int:invoice_id>/delete", methods=["POST"])
@role_required(Role.staff)
def delete(invoice_id: int):
    try:
        request_id = ops.delete_draft(current_user, invoice_id)
    except ApiError as exc:
        return _failed(exc, url_for("invoices.show", invoice_id=invoice_id))
    flash("Draft deleted.", "success")
    return redirect(url_for("invoices.for_request", request_id=request_id))


@bp.route("/invoices/<int:invoice_id>/credit-note", methods=["POST"])
@role_required(Role.staff, Role.coordinator)
def credit(invoice_id: int):
    lines = None
    try:
        ops.get_invoice(current_user, invoice_id)
    except ApiError:
        abort(404)
    if request.form.get("confirm") != "y":
        flash("Tick the confirmation to issue a credit note: nothing was credited.", "error")
        return redirect(url_for("invoices.show", invoice_id=invoice_id) + "#credit")
    if request.form.get("amount", "").strip():
        lines = [
            {
                "description": request.form.get("description", "").strip() or "Partial credit",
                "quantity": "1",
                "unit_price": request.form["amount"].strip(),
            }
        ]
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
            invoice = ops.create_invoice(
                current_user, request_id, draft=True, additional=request.form.get("additional") == "y"
            )
        except ApiError as exc:
            return _failed(exc, url_for("invoices.for_request", request_id=request_id))
        return _done(
            invoice.id,
            "Draft invoice prepared from the price list and the recorded work: check the lines, then issue it.",
        )
    invoices = ops.invoices_of(current_user, req)
    return render_template(
        "invoices/request.html",
        req=req,
        invoices=invoices,
        can_draft=ops.can_draft(current_user, req),
        amount=amount,
        balances=ops.balances(invoices),
        in_force=ops.invoice_in_force(req),
    )


@bp.route("/prices", methods=["GET", "POST"])
@role_required(Role.staff, Role.coordinator)
def prices():
    """Price lists per node; coordinators add a new version from a date on."""
    if current_user.role is Role.staff:
        nodes = [current_user.node]
    else:
        nodes = [n for n in all_nodes() if n.offers_conversion]
    code = (request.values.get("node") or nodes[0].code if nodes else "").strip().upper()
    node = next((n for n in nodes if n.code == code), nodes[0] if nodes else None)
    if request.method == "POST":
        if current_user.role is not Role.coordinator:
            abort(403)
        table = {(s.value, t.value): request.form.get(f"{s.value}_{t.value}", "") for s in Service for t in Sector}
        try:
            plist = ops.save_price_list(
                current_user,
                code,
                valid_from=request.form.get("valid_from", ""),
                prices=table,
                bank_details=request.form.get("bank_details"),
                payment_days=request.form.get("payment_days", "30"),
            )  # checked: ASCII digits, 0-120
        except ApiError as exc:
            flash(exc.message, "error")
            return redirect(url_for("invoices.prices", node=code))
        flash(f"Price list of {code} from {plist.valid_from} saved.", "success")
        return redirect(url_for("invoices.prices", node=code))
    lists = ops.price_lists(node) if node else []
    current = ops.price_list_on(node, ops.today()) if node else None
    return render_template(
        "invoices/prices.html",
        nodes=nodes,
        node=node,
        lists=lists,
        current=current,
        services=list(Service),
        labels=SERVICE_LABELS,
        tiers=[s.value for s in Sector],
        amount=amount,
        today=ops.today(),
        editable=current_user.role is Role.coordinator,
    )


# ---- quotes (requesters) ------------------------------------------------------------
@bp.route("/quotes/new", methods=["GET", "POST"])
@role_required(Role.requester)
def new_quote():
    """A quote for a strain: choose the product, sector and country; the quote is stored with its PDF."""
    from ..catalogue.operations import get_strain
    from ..countries import countries
    from ..requests.operations import billing_profiles

    strain = get_strain(current_user, request.values.get("strain", ""))
    if strain is None:
        abort(404)
    from ..alleles import SymbolError, all_products

    try:
        products = [p for p in all_products(strain.allele_symbol) if p.feasible]
    except SymbolError:
        products = []
    profiles = billing_profiles(current_user)
    values = {
        "target": products[0].target if products else "",
        "sector": "academic",
        "country": "",
        "vat_number": "",
        "deliverable": "frozen_sperm",
        "node": "",
    }
    if profiles:
        values.update(sector=profiles[0].sector, country=profiles[0].country, vat_number=profiles[0].vat_number or "")
    status = 200
    if request.method == "POST":
        values.update({k: request.form.get(k, "").strip() for k in values})
        try:
            quote = ops.create_quote(
                current_user,
                strain=strain.emma_id,
                target=values["target"],
                sector=values["sector"],
                country=values["country"],
                vat_number=values["vat_number"] or None,
                node=values["node"] or None,
                deliverable=values["deliverable"],
            )
        except ApiError as exc:
            flash(exc.message, "error")
            status = exc.status
        else:
            flash(f"Quote {quote.number} made: valid until {quote.valid_until:%d %b %Y}.", "success")
            return redirect(url_for("invoices.quote", quote_id=quote.id))
    nodes = [n for n in all_nodes() if n.offers_conversion]
    return render_template(
        "invoices/quote_new.html", strain=strain, products=products, values=values, countries=countries(), nodes=nodes
    ), status


@bp.route("/quotes/<int:quote_id>")
@role_required(*ANY_ROLE)
def quote(quote_id: int):
    try:
        found = ops.get_quote(current_user, quote_id)
    except ApiError:
        abort(404)
    return render_template("invoices/quote.html", quote=found)


def confirm_estimate(user, strain, plan, form) -> dict:
    """A plan extra (registry.add_plan_extra): the estimate shown on the check-the-plan step."""
    try:
        est = ops.estimate(
            user,
            strain=strain,
            target=plan.target,
            sector=form.sector.data,
            country=form.country.data,
            vat_number=form.vat_number.data or None,
            deliverable=form.deliverable.data,
            use_tat_cre=bool(form.use_tat_cre.data),
        )
    except ApiError as exc:
        return {"template": "invoices/_estimate.html", "estimate": None, "error": exc.message}
    return {"template": "invoices/_estimate.html", "estimate": est, "error": None}
