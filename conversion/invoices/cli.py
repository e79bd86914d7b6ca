"""`flask vat rates` and `flask vat set-rate`: the dated standard VAT rates (no deploy needed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..countries import country_name, parse_country
from ..extensions import db
from .models import VatRate
from .vat import set_rate

vat_cli = AppGroup("vat", help="Standard VAT rates per country, from a date on.")


@vat_cli.command("rates")
@click.option("--country", default=None, help="Only this country (ISO code).")
def rates(country):
    """List the rates, newest first per country."""
    stmt = select(VatRate).order_by(VatRate.country, VatRate.valid_from.desc())
    if country:
        stmt = stmt.where(VatRate.country == country.strip().upper())
    for row in db.session.scalars(stmt):
        click.echo(f"{row.country}  {country_name(row.country):<20} {row.rate:>6} %  from {row.valid_from}")


@vat_cli.command("set-rate")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 code, e.g. FI.")
@click.option("--rate", required=True, help="Percent, e.g. 25.5.")
@click.option("--from", "valid_from", required=True, help="First day the rate applies (YYYY-MM-DD).")
def set_rate_command(country, rate, valid_from):
    """Add a country's standard rate from a date on (invoices already issued keep theirs)."""
    try:
        code = parse_country(country)
        value = Decimal(rate)
        day = date.fromisoformat(valid_from)
    except (ValueError, InvalidOperation) as exc:
        raise click.UsageError(str(exc) or "rate must be a number such as 25.5") from None
    if not value.is_finite() or not Decimal("0") <= value < Decimal("100") or value != value.quantize(Decimal("0.01")):
        raise click.UsageError("rate must be a percentage from 0 to 99.99 with at most 2 decimals.")
    set_rate(code, value, day)
    db.session.commit()
    click.echo(f"{code} ({country_name(code)}): {value} % from {day}.")
