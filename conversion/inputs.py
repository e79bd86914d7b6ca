"""Untrusted input, parsed and bounded in one place (docs/security.md, "Input").

- `load_json(raw)` / `json_body()`: the JSON body of every API call (the `before_request` hook in
  conversion/security.py and the flask-smorest argument parser both use it): integers beyond
  32 bits, non-finite numbers, lone surrogates and NUL characters are refused with a sentence.
- `parse_date`, `parse_int`, `parse_id`, `parse_ids`, `parse_decimal`: the strict scalar rules
  shared by operations, form views and query strings (ASCII digits only, YYYY-MM-DD only).
- `safe_next`: where to go after an action (same-site path, no control characters).

Each raises `BadInput` (an `Invalid`, 422) with a message naming the field; the JSON loader
raises `MalformedJson` (400)."""

from __future__ import annotations

import json
import math
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from flask import g, request

from .errors import ApiError, Invalid

MAX_INT = 2**31 - 1  # the database's integer columns (ids, counts, generations)
MAX_DIGITS = 30  # digits of a number literal in JSON (before any other check)
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INT_RE = re.compile(r"[+-]?[0-9]{1,12}")
DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})")
SURROGATE_RE = re.compile("[\ud800-\udfff]")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class BadInput(Invalid):
    """A value that cannot be what it claims to be (422)."""


class MalformedJson(ApiError):
    """A body that is not acceptable JSON at all (400)."""

    status = 400


# ---- JSON bodies ---------------------------------------------------------------------------------
def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise MalformedJson(f"A number in the JSON body is too long ({len(text)} characters).")
    value = int(text)
    if abs(value) > MAX_INT:
        raise BadInput(f"The number {value} is out of range: whole numbers go up to {MAX_INT}.")
    return value


def _float(text: str) -> float:
    if len(text) > MAX_DIGITS + 10:
        raise MalformedJson(f"A number in the JSON body is too long ({len(text)} characters).")
    value = float(text)
    if not math.isfinite(value) or abs(value) > 1e15:
        raise BadInput(f"The number {text} is out of range.")
    return value


def _constant(name: str):
    raise MalformedJson(f"{name} is not a JSON number.")


def check_text(value, where: str = "the JSON body"):
    """Refuse lone surrogates (no UTF-8 form: the database cannot store them) and NUL
    characters (PostgreSQL refuses them) in every string and key of a parsed value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if SURROGATE_RE.search(item):
                raise MalformedJson(
                    f"A string in {where} holds a lone surrogate (\\ud800-\\udfff): send valid Unicode."
                )
            if "\x00" in item:
                raise MalformedJson(f"NUL characters are not allowed in {where}.")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


def load_json(raw: bytes | str):
    """Parse a JSON body with bounds: MalformedJson (400) for what is not JSON, too long numbers,
    NaN/Infinity, lone surrogates or NUL; BadInput (422) for numbers out of range."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise MalformedJson("The JSON body is not UTF-8.") from None
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise MalformedJson("The JSON body is nested too deeply.") from None
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"Invalid JSON body: {exc.msg} (character {exc.pos}).") from None
    except ValueError as exc:  # e.g. the interpreter's own digit limit
        raise MalformedJson(f"Invalid JSON body: {exc}") from None
    return check_text(value)


def json_body():
    """The current request's JSON body parsed by load_json, once per request: the before_request
    hook of conversion/security.py calls it for every JSON request, and the API's webargs parser
    reads the same result. None for an empty body. Raises MalformedJson (400) or BadInput (422)."""
    if "_json_body" not in g or g._json_body[0] is not request._get_current_object():
        raw = request.get_data(cache=True)
        g._json_body = (request._get_current_object(), load_json(raw) if raw.strip() else None)
    return g._json_body[1]


# ---- scalars -------------------------------------------------------------------------------------
def parse_date(value, field: str, *, required: bool = False) -> date | None:
    """A calendar date written exactly YYYY-MM-DD (not 20260101, 2026-W01-1 or a time)."""
    if isinstance(value, date):
        return value
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise BadInput(f"{field} is required (YYYY-MM-DD).")
        return None
    if not DATE_RE.fullmatch(text):
        raise BadInput(f"{field} must be a date written YYYY-MM-DD, not {text[:40]!r}.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{field}: {text} is not a date of the calendar (YYYY-MM-DD).") from None


def parse_int(value, field: str, *, lo: int = 0, hi: int = MAX_INT) -> int:
    """A whole number in [lo, hi] from JSON or a form: ASCII digits only (no '١٢' or '²')."""
    if isinstance(value, bool):
        raise BadInput(f"{field} must be a whole number.")
    if isinstance(value, int):
        number = value
    else:
        text = "" if value is None else str(value).strip()
        if not INT_RE.fullmatch(text):
            raise BadInput(f"{field} must be a whole number from {lo} to {hi} (digits 0-9).")
        number = int(text)
    if not lo <= number <= hi:
        raise BadInput(f"{field} must be a whole number from {lo} to {hi}.")
    return number


def parse_id(value) -> int | None:
    """A database id from a query string or form (`before=`, `ids`): None when it cannot be one
    (not ASCII digits, 0, or past 32 bits), so that it matches nothing instead of overflowing."""
    text = "" if value is None else str(value).strip()
    if not re.fullmatch(r"[0-9]{1,10}", text):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_INT else None


def parse_ids(values) -> list[int]:
    """The ids among `values` that can be database ids (others can match no row anyway)."""
    return [i for i in (parse_id(v) for v in values) if i is not None]


def parse_decimal(value, field: str) -> Decimal:
    """A plain decimal number (no exponent: '1E+999999999' is refused, never computed with)."""
    if isinstance(value, bool) or value is None:
        raise BadInput(f"{field} must be a number such as 1500.00.")
    if isinstance(value, int):
        return Decimal(value)
    text = repr(value) if isinstance(value, float) else str(value).strip().replace(" ", "")
    if isinstance(value, float) and "e" in text.lower():
        text = f"{value:.2f}" if abs(value) < 1e15 else text
    if not DECIMAL_RE.fullmatch(text):
        raise BadInput(f"{field} must be a number such as 1500.00, not {str(value)[:40]!r}.")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
        raise BadInput(f"{field} must be a number such as 1500.00.") from None


# ---- redirects -----------------------------------------------------------------------------------
def safe_next(target: str | None, default: str) -> str:
    """A same-site relative path to go to after an action, else `default`: no scheme or host,
    no `//` or backslash, and no control characters (a CR/LF would split the Location header)."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not CONTROL_RE.search(target)
        and not SURROGATE_RE.search(target)
        and not urlsplit(target).netloc
    ):
        return target
    return default
