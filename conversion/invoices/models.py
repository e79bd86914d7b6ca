"""Price lists, invoice numbering, invoices and credit notes.

Money is Decimal in Numeric(12,2) columns, never float. An issued invoice (or credit note)
is frozen: its row and its lines refuse every update and delete (see the listeners below)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..catalogue.models import Node, Strain
from ..extensions import UTCDateTime, db, utcnow
from ..requests.models import ConversionRequest

CENT = Decimal("0.01")
Money = Numeric(12, 2, asdecimal=True)


def cents(value: Decimal) -> Decimal:
    """Round half-up to cents (symmetric: -0.005 -> -0.01)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class Service(str, enum.Enum):
    rederivation = "rederivation"
    conversion_step = "conversion_step"
    tat_cre = "tat_cre"
    cryopreservation = "cryopreservation"
    shipping_live = "shipping_live"
    shipping_frozen = "shipping_frozen"


SERVICE_LABELS = {
    Service.rederivation: "Rederivation of the line (IVF / embryo transfer, founder genotyping)",
    Service.conversion_step: "Conversion step (deleter cross, breeding, QC genotyping)",
    Service.tat_cre: "TAT-Cre treatment of IVF embryos",
    Service.cryopreservation: "Cryopreservation of the converted line, with test thaw",
    Service.shipping_live: "Shipping of live animals",
    Service.shipping_frozen: "Shipping of frozen material (dry shipper)",
}


class PriceList(db.Model):
    """A node's prices from `valid_from` on; a newer list replaces it from its own date."""

    __tablename__ = "price_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    payment_days: Mapped[int] = mapped_column(default=30)
    bank_details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    node: Mapped[Node] = relationship()
    prices: Mapped[list[Price]] = relationship(
        back_populates="price_list", cascade="all, delete-orphan", order_by="Price.id"
    )

    __table_args__ = (UniqueConstraint("node_id", "valid_from", name="uq_price_lists_node_valid_from"),)

    def amount(self, service: Service | str, tier: str) -> Decimal | None:
        service = Service(service).value
        for price in self.prices:
            if price.service == service and price.tier == tier:
                return price.amount
        return None

    def table(self) -> dict[str, dict[str, Decimal]]:
        """{service: {tier: amount}}"""
        out: dict[str, dict[str, Decimal]] = {}
        for price in self.prices:
            out.setdefault(price.service, {})[price.tier] = price.amount
        return out


class Price(db.Model):
    __tablename__ = "prices"

    id: Mapped[int] = mapped_column(primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_lists.id"), index=True)
    service: Mapped[str] = mapped_column(String(30))
    tier: Mapped[str] = mapped_column(String(20))  # a requests.models.Sector value
    amount: Mapped[Decimal] = mapped_column(Money)

    price_list: Mapped[PriceList] = relationship(back_populates="prices")

    __table_args__ = (UniqueConstraint("price_list_id", "service", "tier", name="uq_prices_list_service_tier"),)


class InvoiceCounter(db.Model):
    """The last number issued per node and year; locked FOR UPDATE while a number is taken."""

    __tablename__ = "invoice_counters"

    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Invoice(db.Model):
    """An invoice or a credit note (kind), a draft until issued; issued rows never change."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="invoice")  # invoice | credit_note
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft | issued
    number: Mapped[str | None] = mapped_column(String(30), unique=True)
    year: Mapped[int | None]
    sequence: Mapped[int | None]
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"))
    credits_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    tier: Mapped[str] = mapped_column(String(20))
    vat_treatment: Mapped[str | None] = mapped_column(String(20))
    vat_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2, asdecimal=True))
    vat_mention: Mapped[str | None] = mapped_column(Text)
    net: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    vat: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    seller: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # snapshots taken at issue
    customer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    subject: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # request, strain, allele, PO
    issued_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Asked for explicitly as a further invoice of a request that has one in force already.
    additional: Mapped[bool] = mapped_column(default=False, server_default=false())

    request: Mapped[ConversionRequest] = relationship()
    node: Mapped[Node] = relationship()
    credits: Mapped[Invoice | None] = relationship(remote_side="Invoice.id")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position"
    )

    __table_args__ = (
        UniqueConstraint("node_id", "year", "sequence", name="uq_invoices_node_year_sequence"),
        Index("ix_invoices_node_id_issued_on", "node_id", "issued_on"),
    )

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    @property
    def is_credit_note(self) -> bool:
        return self.kind == "credit_note"

    @property
    def title(self) -> str:
        return "Credit note" if self.is_credit_note else "Invoice"


class InvoiceLine(db.Model):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    position: Mapped[int]
    service: Mapped[str | None] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Money)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    net: Mapped[Decimal] = mapped_column(Money)
    vat: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


# ---- issued documents are frozen ----------------------------------------------
def _stored_status(connection, invoice_id: int | None) -> str | None:
    """The status in the database (not the session): what was issued stays issued."""
    if invoice_id is None:
        return None
    table = Invoice.__table__
    return connection.scalar(select(table.c.status).where(table.c.id == invoice_id))


@event.listens_for(Invoice, "before_update")
@event.listens_for(Invoice, "before_delete")
def _issued_invoice_is_frozen(mapper, connection, target):
    if _stored_status(connection, target.id) == "issued":
        raise ValueError(f"Invoice {target.number} is issued and cannot change: issue a credit note.")


@event.listens_for(InvoiceLine, "before_update")
@event.listens_for(InvoiceLine, "before_delete")
def _issued_lines_are_frozen(mapper, connection, target):
    if _stored_status(connection, target.invoice_id) == "issued":
        raise ValueError("The invoice is issued: its lines cannot change.")


class VatRate(db.Model):
    """A country's standard VAT rate (percent) from `valid_from` on: data, so a change needs no deploy."""

    __tablename__ = "vat_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    rate: Mapped[Decimal] = mapped_column(Numeric(5, 2, asdecimal=True))
    valid_from: Mapped[date] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("country", "valid_from", name="uq_vat_rates_country_valid_from"),)


class IdempotencyKey(db.Model):
    """An `Idempotency-Key` a user sent with an invoice call, and what it made: a retry of the
    same call answers that invoice instead of making another."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(200))  # the call, e.g. "POST /requests/12/invoices"
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)


class Quote(db.Model):
    """A numbered estimate for a requester, valid until a date; never changes once made (only the
    request it was attached to is filled in when the requester submits)."""

    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(30), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    strain_id: Mapped[int] = mapped_column(ForeignKey("strains.id"))
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"))
    target: Mapped[str] = mapped_column(String(10))
    product_symbol: Mapped[str] = mapped_column(String(200))
    deliverable: Mapped[str] = mapped_column(String(20))
    sector: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    vat_number: Mapped[str | None] = mapped_column(String(30))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    vat_treatment: Mapped[str] = mapped_column(String(20))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2, asdecimal=True))
    vat_mention: Mapped[str | None] = mapped_column(Text)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # amounts as strings
    net: Mapped[Decimal] = mapped_column(Money)
    vat: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    requester: Mapped[User] = relationship()
    strain: Mapped[Strain] = relationship()
    node: Mapped[Node] = relationship()


@event.listens_for(Quote, "before_update")
def _quote_is_frozen(mapper, connection, target):
    # The number and the PDF are set once, right after the row is made; the request once, at submission.
    once = {"request_id", "number", "pdf", "pdf_sha256"}
    for attr in inspect(target).attrs:
        history = attr.history
        if not history.has_changes():
            continue
        if attr.key not in once or any(old is not None for old in history.deleted):
            raise ValueError(f"Quote {target.number} cannot change: make a new quote.")
