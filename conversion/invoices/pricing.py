"""Pricing: price lists, money parsing, and the priced lines of a conversion (an invoice draft
or a quote), from the plan and the lab records in force."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts.models import Role, User
from ..catalogue.models import Material, Node, Strain
from ..catalogue.operations import get_node
from ..errors import Conflict, Forbidden, Invalid
from ..extensions import db, utctoday
from ..inputs import parse_date, parse_decimal, parse_int
from ..lab.models import Cryopreservation
from ..lab.operations import records_in_force
from ..requests.models import ConversionRequest, Deliverable, RequestEvent, Sector
from .models import SERVICE_LABELS, Price, PriceList, Service, cents

ZERO = Decimal("0.00")
MAX_LINES = 50


today = utctoday  # the invoice dates are UTC days


# ---- lab records that count ---------------------------------------------------------
def tat_cre_used(req: ConversionRequest) -> bool:
    return records_in_force(req).tat_cre_used


# ---- price lists ----------------------------------------------------------------
def price_list_on(node: Node, day: date) -> PriceList | None:
    return db.session.scalar(
        select(PriceList)
        .where(PriceList.node_id == node.id, PriceList.valid_from <= day)
        .options(selectinload(PriceList.prices))
        .order_by(PriceList.valid_from.desc())
        .limit(1)
    )


def price_lists(node: Node) -> list[PriceList]:
    return list(
        db.session.scalars(
            select(PriceList)
            .where(PriceList.node_id == node.id)
            .options(selectinload(PriceList.prices))
            .order_by(PriceList.valid_from.desc())
        )
    )


def save_price_list(
    user: User | None,
    node_code: str,
    *,
    valid_from,
    prices: dict,
    bank_details: str | None = None,
    payment_days: int = 30,
    allow_past: bool = False,
) -> PriceList:
    """Create the node's price list from `valid_from` (or replace one not yet in force).

    `prices` maps (service, sector) to an amount. Lists already in force are never edited:
    issued invoices keep their frozen lines anyway, and drafts keep the prices they had."""
    if user is not None and user.role is not Role.coordinator:
        raise Forbidden("Only coordinators edit price lists.")
    node = get_node(node_code or "")
    if node is None:
        raise Invalid(f"Unknown node {node_code!r}.")
    valid_from = parse_date(valid_from, "valid_from", required=True)
    if valid_from <= today() and not allow_past:
        raise Invalid(
            "A new price list starts tomorrow at the earliest: prices already in force "
            "(today's included) stay as they were."
        )
    payment_days = parse_int(payment_days, "payment_days", lo=0, hi=120)
    amounts = {}
    for service in Service:
        for sector in Sector:
            value = prices.get((service.value, sector.value))
            if value in (None, ""):
                raise Invalid(f"Price missing: {SERVICE_LABELS[service]} ({sector.value}).")
            amount = parse_amount(value, f"{service.value} ({sector.value})")
            if amount < 0:
                raise Invalid(f"{service.value} ({sector.value}) cannot be negative.")
            amounts[(service.value, sector.value)] = amount
    plist = db.session.scalar(select(PriceList).where(PriceList.node_id == node.id, PriceList.valid_from == valid_from))
    if plist is None:
        previous = price_list_on(node, valid_from)
        plist = PriceList(
            node=node, valid_from=valid_from, currency="EUR", bank_details=previous.bank_details if previous else ""
        )
        db.session.add(plist)
    elif valid_from <= today() and not allow_past:
        raise Conflict(
            f"The {node.code} price list of {valid_from} is in force and cannot be edited: "
            "start a new one from a later date."
        )
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
        out.append(
            {
                "description": description.strip(),
                "quantity": quantity,
                "unit_price": unit_price,
                "service": service if service in {s.value for s in Service} else None,
            }
        )
    return out


def assigned_node(req: ConversionRequest) -> Node:
    """The node working on `req`: a request is billable only once a node has it."""
    if req.node is None:
        raise Conflict(f"Request {req.reference} has no node yet: it cannot be priced or invoiced.")
    return req.node


def accepted_on(req: ConversionRequest) -> date:
    """Prices are those in force when the node accepted the request (the quoted price)."""
    at = db.session.scalar(
        select(RequestEvent.at)
        .where(RequestEvent.request_id == req.id, RequestEvent.trigger == "accept")
        .order_by(RequestEvent.id.desc())
        .limit(1)
    )
    return at.date() if at else today()


def priced_lines(
    plist: PriceList,
    sector: str,
    *,
    strain: Strain,
    source_class: str,
    steps: list[dict],
    product_symbol: str,
    deliverable: Deliverable,
    tat_cre: bool,
    cryo: Sequence[Cryopreservation] = (),
) -> list[dict]:
    """The lines of a conversion priced from `plist` for `sector` (a quote or an invoice draft)."""
    node = plist.node

    def line(service: Service, description: str, quantity: int = 1) -> dict:
        amount = plist.amount(service, sector)
        if amount is None:
            raise Invalid(
                f"The {node.code} price list of {plist.valid_from} has no {sector} price for {service.value}."
            )
        return {
            "service": service.value,
            "description": description,
            "quantity": Decimal(quantity),
            "unit_price": amount,
        }

    lines = []
    if strain.material is not Material.live:
        how = "IVF with frozen sperm" if strain.material is Material.frozen_sperm else "thawing of frozen embryos"
        lines.append(
            line(
                Service.rederivation,
                f"Rederivation of {strain.emma_id} ({source_class}) by {how}, embryo transfer, founder genotyping",
            )
        )
    for i, step in enumerate(steps, 1):
        how = "TAT-Cre" if tat_cre and step["recombinase"] == "Cre" else f"{step['recombinase']} deleter cross"
        lines.append(
            line(
                Service.conversion_step,
                f"Conversion step {i} of {len(steps)}: {step['from_class']} to "
                f"{step['to_class']} ({how}), breeding and QC genotyping",
            )
        )
    if tat_cre:
        lines.append(line(Service.tat_cre, "TAT-Cre treatment of IVF embryos (cell-permeable Cre protein)"))
    stored = ", ".join(f"{c.material} ({c.count} samples)" for c in cryo)
    lines.append(
        line(
            Service.cryopreservation,
            f"Cryopreservation of {product_symbol}: {stored}, with test thaw"
            if stored
            else f"Cryopreservation of {product_symbol} with test thaw",
        )
    )
    if deliverable is Deliverable.live_animals:
        lines.append(line(Service.shipping_live, "Shipping of live animals (up to 3 heterozygous mice)"))
    else:
        what = "sperm" if deliverable is Deliverable.frozen_sperm else "embryos"
        lines.append(line(Service.shipping_frozen, f"Shipping of frozen {what} in a dry shipper"))
    return lines


def drafted_lines(req: ConversionRequest) -> tuple[list[dict], PriceList]:
    """Lines from the plan and the lab records in force, priced from the node's list for the sector."""
    node = assigned_node(req)
    day = accepted_on(req)
    plist = price_list_on(node, day) or price_list_on(node, today())
    if plist is None:
        raise Invalid(
            f"{node.code} has no price list in force on {day}: a coordinator must add one (or give the lines yourself)."
        )
    in_force = records_in_force(req)  # voided records count nowhere; each session once
    lines = priced_lines(
        plist,
        req.billing_sector.value,
        strain=req.strain,
        source_class=req.source_class,
        steps=req.steps,
        product_symbol=req.product_symbol,
        deliverable=req.deliverable,
        tat_cre=in_force.tat_cre_used,
        cryo=in_force.cryo,
    )
    return lines, plist
