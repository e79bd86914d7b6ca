"""VAT numbers and the EU member states (the UK is outside the EU)."""
from __future__ import annotations

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
