"""VAT on an invoice or a quote: the treatment of a supply and the dated standard rates.

Standard rates are rows of `vat_rates` (country, rate, valid_from): a rate change is a new row
(`flask --app wsgi vat set-rate`), never a deploy. Invoices keep the rate they were issued
with. Countries, the EU and VAT numbers: conversion/countries.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from ..countries import EU_MEMBER_STATES, is_eu, normalise_vat  # noqa: F401  (re-exported)
from ..extensions import db, utctoday
from .models import VatRate

# The rates loaded by the migration and `seed-demo` (percent, from the date given): data, not code.
INITIAL_RATES = [
    ("AT", "20", "2016-01-01"),
    ("BE", "21", "2016-01-01"),
    ("BG", "20", "2016-01-01"),
    ("CY", "19", "2016-01-01"),
    ("CZ", "21", "2016-01-01"),
    ("DE", "19", "2021-01-01"),
    ("DK", "25", "2016-01-01"),
    ("EE", "22", "2024-01-01"),
    ("EE", "24", "2025-07-01"),
    ("ES", "21", "2016-01-01"),
    ("FI", "24", "2016-01-01"),
    ("FI", "25.5", "2024-09-01"),
    ("FR", "20", "2016-01-01"),
    ("GR", "24", "2016-06-01"),
    ("HR", "25", "2016-01-01"),
    ("HU", "27", "2016-01-01"),
    ("IE", "23", "2021-03-01"),
    ("IT", "22", "2016-01-01"),
    ("LT", "21", "2016-01-01"),
    ("LU", "17", "2024-01-01"),
    ("LV", "21", "2016-01-01"),
    ("MT", "18", "2016-01-01"),
    ("NL", "21", "2016-01-01"),
    ("PL", "23", "2016-01-01"),
    ("PT", "23", "2016-01-01"),
    ("RO", "19", "2017-01-01"),
    ("RO", "21", "2025-08-01"),
    ("SE", "25", "2016-01-01"),
    ("SI", "22", "2016-01-01"),
    ("SK", "20", "2016-01-01"),
    ("SK", "23", "2025-01-01"),
    ("GB", "20", "2016-01-01"),
]
REVERSE_CHARGE_MENTION = "Reverse charge - VAT Directive 2006/112/EC, Art. 196"
EXPORT_MENTION = {
    "EU": "Export outside the EU - no VAT charged",
    "GB": "Export outside the UK - outside the scope of UK VAT",
    None: "Export - no VAT charged",
}


@dataclass(frozen=True)
class VatTreatment:
    kind: str  # domestic | reverse_charge | eu_no_vat_number | export
    rate: Decimal
    mention: str | None = None


def standard_rate(country: str, on: date | None = None) -> Decimal:
    """The standard rate of `country` in force on `on` (today by default); ValueError if none."""
    on = on or utctoday()
    rate = db.session.scalar(
        select(VatRate.rate)
        .where(VatRate.country == country.upper(), VatRate.valid_from <= on)
        .order_by(VatRate.valid_from.desc())
        .limit(1)
    )
    if rate is None:
        raise ValueError(f"no standard VAT rate is known for {country} on {on}")
    return Decimal(rate)


def set_rate(country: str, rate: Decimal, valid_from: date) -> VatRate:
    """Add (or correct, before it starts) the rate of a country from `valid_from` on. No commit."""
    row = db.session.scalar(select(VatRate).where(VatRate.country == country, VatRate.valid_from == valid_from))
    if row is None:
        row = VatRate(country=country, valid_from=valid_from, rate=rate)
        db.session.add(row)
    else:
        row.rate = rate
    return row


def seed_vat_rates(_nodes=None) -> None:
    """Load INITIAL_RATES where missing (idempotent; `seed-demo`, which commits)."""
    have = set(db.session.execute(select(VatRate.country, VatRate.valid_from)).all())
    for country, rate, valid_from in INITIAL_RATES:
        if (country, date.fromisoformat(valid_from)) not in have:
            db.session.add(VatRate(country=country, rate=Decimal(rate), valid_from=date.fromisoformat(valid_from)))
    db.session.flush()


def vat_treatment(
    seller_country: str, customer_country: str, customer_vat: str | None, on: date | None = None
) -> VatTreatment:
    """The VAT rule for a supply from a node in `seller_country` to a customer, on `on`."""
    seller, customer = seller_country.upper(), customer_country.upper()
    if customer == seller:
        return VatTreatment("domestic", standard_rate(seller, on))
    if is_eu(seller) and is_eu(customer):
        if customer_vat:
            return VatTreatment("reverse_charge", Decimal("0"), REVERSE_CHARGE_MENTION)
        return VatTreatment("eu_no_vat_number", standard_rate(seller, on))
    return VatTreatment(
        "export", Decimal("0"), EXPORT_MENTION.get("EU" if is_eu(seller) else seller, EXPORT_MENTION[None])
    )
