"""VAT numbers and the EU member states (the UK is outside the EU)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from stdnum import get_cc_module
from stdnum.exceptions import ValidationError

EU_MEMBER_STATES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
VAT_PREFIX = {"GR": "EL"}


def is_eu(country: str) -> bool:
    return country.upper() in EU_MEMBER_STATES


def normalise_vat(country: str, number: str) -> str:
    """The VAT number in compact form with its country prefix; ValueError when invalid."""
    country = country.upper()
    compact = "".join(ch for ch in number.upper() if ch.isalnum())
    prefix = VAT_PREFIX.get(country, country)
    if compact.startswith(prefix):
        compact = compact[len(prefix):]
    module = None
    if country == "GB" or is_eu(country):
        module = get_cc_module("gb" if country == "GB" else country.lower(), "vat")
    if module is None:
        if not 4 <= len(compact) <= 20:
            raise ValueError(f"VAT number {number!r} does not look like a tax number")
        return prefix + compact
    try:
        return prefix + module.validate(compact)
    except ValidationError as exc:
        raise ValueError(f"VAT number {number!r} is not a valid {country} VAT number ({exc.message})") from None


# ---- VAT on an invoice ----------------------------------------------------------
STANDARD_RATES = {  # percent, the seller's country; data, not code
    "FR": Decimal("20"), "DE": Decimal("19"), "FI": Decimal("25.5"), "GB": Decimal("20"),
    "IT": Decimal("22"), "ES": Decimal("21"), "AT": Decimal("20"), "CZ": Decimal("21"),
    "GR": Decimal("24"),
}
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


def standard_rate(country: str) -> Decimal:
    try:
        return STANDARD_RATES[country.upper()]
    except KeyError:
        raise ValueError(f"no standard VAT rate is known for {country}") from None


def vat_treatment(seller_country: str, customer_country: str, customer_vat: str | None) -> VatTreatment:
    """The VAT rule for a supply from a node in `seller_country` to a customer."""
    seller, customer = seller_country.upper(), customer_country.upper()
    if customer == seller:
        return VatTreatment("domestic", standard_rate(seller))
    if is_eu(seller) and is_eu(customer):
        if customer_vat:
            return VatTreatment("reverse_charge", Decimal("0"), REVERSE_CHARGE_MENTION)
        return VatTreatment("eu_no_vat_number", standard_rate(seller))
    return VatTreatment("export", Decimal("0"), EXPORT_MENTION.get("EU" if is_eu(seller) else seller,
                                                         EXPORT_MENTION[None]))
