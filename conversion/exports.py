"""CSV exports that are safe to open in a spreadsheet (docs/security.md, "CSV exports").

A spreadsheet runs a cell starting with = + - @ (or a tab or CR before one) as a formula. The
file may be opened with `,` as the separator or, in many European locales, with `;` (and
some importers split on tabs): so every piece of a cell that would start a cell under any of
those separators is neutralised with a leading apostrophe, and every cell is quoted."""

from __future__ import annotations

import csv
import re
from decimal import Decimal

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A place where a spreadsheet could start a cell (start of the text, or after , ; tab CR LF),
# spaces, then a formula character: an apostrophe goes before the formula character.
PIECE_START = re.compile(r"(^|[,;\t\r\n])( *)(?=[=+\-@\t\r])")


def csv_cell(value) -> str:
    """`value` as text that no spreadsheet runs as a formula, whatever its separator. Numbers
    (Decimal, int) are ours and stay numbers: a credit note's -1500.00 is not text."""
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return PIECE_START.sub(lambda m: f"{m.group(1)}{m.group(2)}'", text)


class SafeWriter:
    """csv.writer that quotes every cell and neutralises each one with csv_cell."""

    def __init__(self, out):
        self._writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")

    def writerow(self, row) -> None:
        self._writer.writerow([csv_cell(cell) for cell in row])


def csv_writer(out) -> SafeWriter:
    return SafeWriter(out)
