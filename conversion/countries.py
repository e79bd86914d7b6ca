"""Countries: ISO 3166-1 alpha-2 codes from pycountry, their names, the EU and VAT numbers.

The one place that knows countries: the request form, the API, quotes and the PDFs all read
their names and codes here (LU is "Luxembourg" everywhere). Greece's VAT numbers carry the EU
prefix EL, not its ISO code GR."""

from __future__ import annotations

from functools import lru_cache

import pycountry
from stdnum import get_cc_module
from stdnum.exceptions import ValidationError

EU_MEMBER_STATES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
VAT_PREFIX = {"GR": "EL"}  # the EU's VAT prefix where it differs from the ISO code
NAME_OVERRIDES = {"TW": "Taiwan"}  # pycountry's official wording is not what people pick from


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    out = {}
    for country in pycountry.countries:
        out[country.alpha_2] = NAME_OVERRIDES.get(
            country.alpha_2, getattr(country, "common_name", None) or country.name
        )
    return out


def countries() -> list[tuple[str, str]]:
    """(code, name) of every country, sorted by name: the choices of a country picker."""
    return sorted(_names().items(), key=lambda item: item[1])


def country_name(code: str | None) -> str:
    """'LU' -> 'Luxembourg'; an unknown code is returned as given."""
    return _names().get((code or "").strip().upper(), code or "")


def parse_country(value) -> str:
    """The ISO 3166-1 alpha-2 code of `value` (any case); ValueError for anything else."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) == 2 and code in _names():
        return code
    if isinstance(value, str) and value.strip():
        named = next((c for c, n in _names().items() if n.lower() == value.strip().lower()), None)
        hint = f" ({value.strip()} is {named})" if named else ""
        raise ValueError(
            f"Country {value.strip()[:60]!r} is not an ISO 3166-1 two-letter country code"
            f"{hint}: use a code such as DE or GB."
        )
    raise ValueError("Country is required: use a two-letter ISO 3166-1 code such as DE or GB.")


def is_eu(country: str) -> bool:
    return (country or "").upper() in EU_MEMBER_STATES


def vat_prefix(country: str) -> str:
    country = country.upper()
    return VAT_PREFIX.get(country, country)


_PREFIX_COUNTRY = {vat_prefix(c): c for c in EU_MEMBER_STATES} | {"GB": "GB", "XI": "GB"}


def normalise_vat(country: str, number: str) -> str:
    """The VAT number in compact form with its country's prefix; ValueError when invalid or
    when it carries another country's prefix (DE123... for a customer in Georgia)."""
    country = country.upper()
    compact = "".join(ch for ch in number.upper() if ch.isalnum())
    prefix = vat_prefix(country)
    if compact.startswith(prefix):
        compact = compact[len(prefix) :]
    elif compact[:2] in _PREFIX_COUNTRY and compact[:2].isalpha() and compact[:2] != country:
        other = _PREFIX_COUNTRY[compact[:2]]
        raise ValueError(
            f"VAT number {number!r} is a VAT number of {country_name(other)}, but the "
            f"country is {country_name(country)} ({country}): choose the country of the "
            "VAT number"
        )
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
        raise ValueError(
            f"VAT number {number!r} is not a valid {country} VAT number ({getattr(exc, 'message', exc)})"
        ) from None
