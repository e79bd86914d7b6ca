"""Quotes: a numbered, priced estimate for a requester before (and when) they submit.

The price list is that of the node that would do the work: the one asked for, else the
best-ranked node able to (the deleters the plan needs, then holding the stock, then least
busy) that has a price list in force. A quote never changes once made; submitting a request
attaches a quote to it, and assigning it to another node adds that node's own quote."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..accounts.models import Role, User
from ..catalogue.models import Node, Strain
from ..catalogue.operations import get_node, get_strain
from ..countries import normalise_vat, parse_country
from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from ..requests.models import ConversionRequest, Deliverable, Sector
from ..requests.operations import assignment_context, rank_nodes
from .models import PriceList, Quote, cents
from .pricing import ZERO, price_list_on, priced_lines, today
from .vat import VatTreatment, vat_treatment

VALID_DAYS = 90


@dataclass
class Estimate:
    """A priced conversion, before it is stored as a quote."""

    strain: Strain
    node: Node
    plist: PriceList
    target: str
    product_symbol: str
    deliverable: str
    sector: str
    country: str
    vat_number: str | None
    treatment: VatTreatment
    lines: list[dict]  # description, service, quantity, unit_price, net, vat (Decimal)
    net: Decimal
    vat: Decimal
    total: Decimal
    valid_until: date

    @property
    def currency(self) -> str:
        return self.plist.currency


def _plan(strain: Strain, target: str):
    from ..alleles import SymbolError, plan_conversion

    try:
        plan = plan_conversion(strain.allele_symbol, target)
    except (SymbolError, ValueError) as exc:
        raise Invalid(str(exc)) from None
    if not plan.feasible:
        raise Invalid(f"This conversion is not possible: {plan.reason}")
    return plan


def _node_for(strain: Strain, steps: list[dict], code: str | None, day: date) -> tuple[Node, PriceList]:
    needed = {s["recombinase"] for s in steps}
    if code:
        node = get_node(code)
        if node is None:
            raise Invalid(f"Unknown node {code!r}: use a node code such as ICS or MRC.")
        ranked = rank_nodes(needed, strain.holder_node_id, assignment_context())
        problem = next((s.problem for s in ranked if s.node.id == node.id), None)
        if problem:
            raise Invalid(f"{problem}.")
        plist = price_list_on(node, day)
        if plist is None:
            raise Invalid(f"{node.code} has no price list in force: ask EMMA for a quote.")
        return node, plist
    for suggestion in rank_nodes(needed, strain.holder_node_id, assignment_context()):
        if suggestion.ok:
            plist = price_list_on(suggestion.node, day)
            if plist is not None:
                return suggestion.node, plist
    raise Invalid("No EMMA node with a price list in force can do this conversion: ask EMMA for a quote.")


def estimate(
    user: User,
    *,
    strain,
    target,
    sector,
    country,
    node: str | None = None,
    vat_number: str | None = None,
    deliverable: str = "frozen_sperm",
    use_tat_cre: bool = False,
) -> Estimate:
    """Price a conversion for `user` (nothing stored); Invalid says what is wrong."""
    found = strain if isinstance(strain, Strain) else get_strain(user, strain or "")
    if found is None:
        raise Invalid(f"No strain {strain!r} in the catalogue.")
    plan = _plan(found, str(target or ""))
    if sector not in {s.value for s in Sector}:
        raise Invalid("sector must be academic or industry.")
    try:
        country = parse_country(country)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    vat_number = (vat_number or "").strip() or None
    if vat_number:
        try:
            vat_number = normalise_vat(country, vat_number)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
    if deliverable not in {d.value for d in Deliverable}:
        raise Invalid("deliverable must be frozen_sperm, frozen_embryos or live_animals.")
    if sector == Sector.industry.value and found.industry_licence == "genoway":
        raise Invalid(f"{found.emma_id} is licensed to industry through genOway: ask genOway for a quote.")
    steps = plan.to_dict()["step_details"]
    day = today()
    chosen, plist = _node_for(found, steps, node, day)
    try:
        treatment = vat_treatment(chosen.country, country, vat_number, on=day)
    except ValueError as exc:
        raise Invalid(f"Cannot work out the VAT: {exc}.") from None
    tat = bool(use_tat_cre) and any(s["recombinase"] == "Cre" for s in steps)
    lines = []
    for line in priced_lines(
        plist,
        sector,
        strain=found,
        source_class=plan.source_class,
        steps=steps,
        product_symbol=plan.product_symbol,
        deliverable=Deliverable(deliverable),
        tat_cre=tat,
    ):
        net = cents(line["quantity"] * line["unit_price"])
        lines.append({**line, "net": net, "vat": cents(net * treatment.rate / 100)})
    net = sum((ln["net"] for ln in lines), ZERO)
    vat = sum((ln["vat"] for ln in lines), ZERO)
    return Estimate(
        found,
        chosen,
        plist,
        plan.target,
        plan.product_symbol,
        deliverable,
        sector,
        country,
        vat_number,
        treatment,
        lines,
        net,
        vat,
        net + vat,
        day + timedelta(days=VALID_DAYS),
    )


def _store(est: Estimate, requester: User, request_id: int | None = None) -> Quote:
    """Store an estimate as a numbered quote with its PDF (no commit)."""
    from .pdf import render_quote

    quote = Quote(
        requester_id=requester.id,
        request_id=request_id,
        strain=est.strain,
        node=est.node,
        target=est.target,
        product_symbol=est.product_symbol,
        deliverable=est.deliverable,
        sector=est.sector,
        country=est.country,
        vat_number=est.vat_number,
        currency=est.currency,
        vat_treatment=est.treatment.kind,
        vat_rate=est.treatment.rate,
        vat_mention=est.treatment.mention,
        lines=[{k: (f"{v:.2f}" if isinstance(v, Decimal) else v) for k, v in ln.items()} for ln in est.lines],
        net=est.net,
        vat=est.vat,
        total=est.total,
        issued_on=today(),
        valid_until=est.valid_until,
    )
    db.session.add(quote)
    db.session.flush()
    quote.number = f"Q-{quote.issued_on.year}-{quote.id:05d}"
    with db.session.no_autoflush:
        pdf = render_quote(quote, est.plist)
    quote.pdf, quote.pdf_sha256 = pdf, hashlib.sha256(pdf).hexdigest()
    return quote


def create_quote(user: User, **fields) -> Quote:
    """POST /quotes: a requester's numbered quote (stored with its PDF)."""
    if user.role is not Role.requester:
        raise Forbidden("Quotes are made for requesters: sign in as one.")
    quote = _store(estimate(user, **fields), user)
    db.session.commit()
    return quote


def quote_for_request(req: ConversionRequest) -> Quote | None:
    """A quote for a request being submitted or assigned (no commit: runs in its transaction).
    None when no price list can price it (the node then quotes by hand)."""
    try:
        est = estimate(
            req.requester,
            strain=req.strain,
            target=req.target,
            sector=req.billing_sector.value,
            country=req.billing_country,
            vat_number=req.billing_vat_number,
            node=req.node.code if req.node else None,
            deliverable=req.deliverable.value,
            use_tat_cre=req.use_tat_cre,
        )
    except Invalid:
        return None
    return _store(est, req.requester, req.id)


def visible_quotes(user: User):
    stmt = select(Quote)
    if user.role is Role.requester:
        stmt = stmt.where(Quote.requester_id == user.id)
    elif user.role is Role.staff:
        stmt = stmt.join(ConversionRequest, Quote.request_id == ConversionRequest.id).where(
            ConversionRequest.node_id == user.node_id, Quote.node_id == user.node_id
        )
    return stmt


def get_quote(user: User, quote_id: int) -> Quote:
    quote = db.session.scalar(visible_quotes(user).where(Quote.id == quote_id))
    if quote is None:
        raise NotFound(f"No quote {quote_id}, or it is not yours to see.")
    return quote


def quotes_of(user: User, req: ConversionRequest) -> list[Quote]:
    """The quotes attached to a request (already loaded for `user`), newest first."""
    return list(
        db.session.scalars(
            visible_quotes(user)
            .where(Quote.request_id == req.id)
            .options(joinedload(Quote.node))
            .order_by(Quote.id.desc())
        )
    )


class PanelQuote(NamedTuple):
    """A quote row of the request page's panel: the columns it shows."""

    id: int
    number: str | None
    node_code: str
    currency: str
    total: Decimal
    valid_until: date


def quote_pdf(user: User, quote_id: int) -> tuple[Quote, bytes]:
    quote = get_quote(user, quote_id)
    if quote.pdf is None:
        raise NotFound(f"Quote {quote_id} has no PDF.")
    return quote, quote.pdf


def on_request_event(req: ConversionRequest, event) -> None:
    """request_changed receiver: a submitted request gets a quote; an assignment to a node other than the
    quote's adds that node's own quote (in the transition's transaction)."""
    if event.trigger not in ("submit", "assign"):
        return
    if event.trigger == "assign":
        latest = db.session.scalar(
            select(Quote.node_id).where(Quote.request_id == req.id).order_by(Quote.id.desc()).limit(1)
        )
        if latest == req.node_id:
            return
    quote_for_request(req)
