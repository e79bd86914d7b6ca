"""All-or-nothing CSV import of catalogue strains."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select

from ..extensions import db
from .models import Access, Material, Node, Strain

REQUIRED_COLUMNS = ("emma_id", "strain_name", "allele_symbol", "holder_node", "material", "access")
OPTIONAL_COLUMNS = ("industry_licence", "design", "mgi_id")
EMMA_ID = re.compile(r"EM:\d{5}")
MGI_ID = re.compile(r"MGI:\d{1,10}")
MAX_FIELD = 300
# Room left in the columns for what is derived from a row: a product allele (tm1e -> tm1e.1,
# tm1 -> tm1.1) and its strain name become catalogue strains themselves (the archive loop).
ROOM = 20


def _column_limits() -> dict[str, int]:
    """The longest value each CSV column may hold: the database columns, less ROOM where a
    derived symbol or name is stored in the same size of column."""
    cols = Strain.__table__.c
    return {
        "emma_id": cols.emma_id.type.length,
        "strain_name": cols.strain_name.type.length - ROOM,
        "allele_symbol": cols.allele_symbol.type.length - ROOM,
        "holder_node": 20,
        "material": 20,
        "access": 20,
        "industry_licence": cols.industry_licence.type.length,
        "design": cols.design.type.length,
        "mgi_id": cols.mgi_id.type.length,
    }


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportFailed(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


def _choice(value: str, enum_cls, what: str, errors: list[str]):
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        errors.append(f"{what} {value!r} is not one of {allowed}")
        return None


def parse_rows(text: str) -> tuple[list[dict], list[str]]:
    """Validate every row; return the strains to create and the errors (line numbered)."""
    from ..alleles import SymbolError, check_design, parse_symbol, plain_form, strain_carries
    from .operations import DERIVED_ID_FIRST, is_derived_block

    if "\x00" in text:
        return [], ["the file contains NUL bytes: is it really a CSV text file?"]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        return [], [f"line 1: missing column(s) {', '.join(missing)} (expected {','.join(REQUIRED_COLUMNS)})"]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        return [], [f"line 1: unknown column(s) {', '.join(unknown)}"]
    reader.fieldnames = header
    nodes = {n.code: n for n in db.session.scalars(select(Node))}
    limits = _column_limits()
    limits["gene"] = Strain.__table__.c.gene.type.length
    existing = set(db.session.scalars(select(Strain.emma_id)))
    seen: dict[str, int] = {}
    rows: list[dict] = []
    errors: list[str] = []
    try:
        for raw in reader:
            line = reader.line_num
            if None in raw:
                errors.append(f"line {line}: more fields than columns")
                continue
            row = {k: (v or "").strip() for k, v in raw.items()}
            if not any(row.values()):
                continue
            problems: list[str] = []
            for col, limit in limits.items():
                if len(row.get(col) or "") > limit:
                    problems.append(f"{col} is longer than {limit} characters")
            emma_id = row["emma_id"].upper()
            if not EMMA_ID.fullmatch(emma_id):
                problems.append(f"bad EMMA ID {row['emma_id']!r} (expected EM: and 5 digits, e.g. EM:05414)")
            elif emma_id in seen:
                problems.append(f"duplicate EMMA ID {emma_id} (also on line {seen[emma_id]})")
            elif emma_id in existing:
                problems.append(f"EMMA ID {emma_id} is already in the catalogue")
            elif is_derived_block(emma_id):
                problems.append(
                    f"EMMA ID {emma_id} is in the block EMMA gives the strains it derives itself "
                    f"(EM:{DERIVED_ID_FIRST:05d} and above): imports use the archive's own ids"
                )
            else:
                seen[emma_id] = line
            if not row["strain_name"]:
                problems.append("empty strain name")
            gene = symbol = design = None
            if not row["allele_symbol"]:
                problems.append("empty allele symbol")
            else:
                try:
                    parsed = parse_symbol(row["allele_symbol"])
                    gene, symbol = parsed.gene, str(parsed)  # stored in canonical form
                except SymbolError as exc:
                    problems.append(f"allele symbol {row['allele_symbol'][:80]!r} cannot be parsed: {exc}")
                else:
                    if len(gene) > limits["gene"]:
                        problems.append(f"gene symbol is longer than {limits['gene']} characters")
                        gene = None
                    try:
                        design = check_design(parsed, row.get("design"))
                    except ValueError as exc:
                        problems.append(str(exc))
                    if row["strain_name"] and not strain_carries(row["strain_name"], symbol):
                        problems.append(
                            f"strain name {row['strain_name'][:80]!r} does not carry its allele "
                            f"{symbol} (e.g. C57BL/6N-{symbol}/Wtsi)"
                        )
            mgi_id = (row.get("mgi_id") or "").upper().replace(" ", "") or None
            if mgi_id is not None and not MGI_ID.fullmatch(mgi_id):
                problems.append(f"mgi_id {row['mgi_id'][:40]!r} must look like MGI:1234567 (the gene's MGI accession)")
            node = nodes.get(row["holder_node"].upper())
            if node is None:
                problems.append(f"unknown node {row['holder_node']!r}")
            material = _choice(row["material"], Material, "material", problems)
            access = _choice(row["access"], Access, "access", problems)
            licence = row.get("industry_licence", "").lower() or None
            if licence not in (None, "genoway"):
                problems.append(f"industry_licence {row['industry_licence']!r} must be 'genoway' or empty")
            if problems:
                errors.extend(f"line {line}: {p}" for p in problems)
                continue
            rows.append(
                dict(
                    emma_id=emma_id,
                    strain_name=plain_form(row["strain_name"]),
                    allele_symbol=symbol,
                    gene=gene,
                    holder_node_id=node.id,
                    material=material,
                    access=access,
                    industry_licence=licence,
                    design=design,
                    mgi_id=mgi_id,
                )
            )
    except csv.Error as exc:
        errors.append(f"line {reader.line_num}: {exc}")
    if not rows and not errors:
        errors.append("the file has no data rows")
    return rows, errors


def import_csv(data: bytes, progress=None) -> int:
    """Import every row or none; raise ImportFailed listing each bad row."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed([f"the file is not UTF-8 text (byte {exc.start})"]) from None
    rows, errors = parse_rows(text)
    if errors:
        raise ImportFailed(errors)
    try:
        for row in rows:
            db.session.add(Strain(**row))
            if progress:
                progress(1)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return len(rows)
