"""Catalogue queries, always scoped to what the viewer may see."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select, text
from sqlalchemy.orm import joinedload

from ..extensions import db, utcnow
from .models import Access, Material, Node, Strain


def can_see_hidden(user) -> bool:
    """Confidential and retracted strains are shown to coordinators only."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "role", None) is not None
        and user.role.value == "coordinator"
    )


def visible_strains(user) -> Select:
    stmt = select(Strain).options(joinedload(Strain.holder_node))
    if not can_see_hidden(user):
        stmt = stmt.where(Strain.access == Access.public)
    return stmt


def escape_like(text: str) -> str:
    """Text matched literally inside a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Catalogue filter "allele class": LIKE patterns on the symbol (canonical `Gene<tm1a(...)...>` or
# `<sup>` form), so that no column is needed. The label is what the page shows.
ALLELE_CLASSES: dict[str, tuple[str, tuple[str, ...]]] = {
    "a": ("tm1a knockout-first", ("<tm%a(",)),
    "b": ("tm1b lacZ-tagged null", ("<tm%b(",)),
    "c": ("tm1c conditional", ("<tm%c(",)),
    "d": ("tm1d deletion", ("<tm%d(",)),
    "e": ("tm1e targeted non-conditional", ("<tm%e(",)),
    "e.1": ("tm1e.1", ("<tm%e.1(",)),
    "deletion": ("tm1 deletion (KOMP, Velocigene)", ("<tm_(", "<tm__(")),
    "dot": ("tm1.1 / tm1.2", ("<tm_.1(", "<tm_.2(", "<tm__.1(", "<tm__.2(")),
    "em": ("em CRISPR", ("<em",)),
}


def _class_condition(key: str):
    patterns = ALLELE_CLASSES[key][1]
    return or_(*(Strain.allele_symbol.like(f"%{prefix}{p[1:]}%") for p in patterns for prefix in ("<", "<sup>")))


def _conditions(
    user, q: str | None, node: str | None = None, allele_class: str | None = None, material: str | None = None
) -> list:
    where = [] if can_see_hidden(user) else [Strain.access == Access.public]
    q = (q or "").strip()
    if any(c in q for c in "<>‹›"):  # `Gene<sup>tm1b...` finds the canonical `Gene<tm1b...`
        from ..alleles import plain_form

        q = plain_form(q)
    if q:
        pattern = f"%{escape_like(q.lower())}%"
        where.append(
            or_(
                *(
                    col.ilike(pattern, escape="\\")
                    for col in (Strain.emma_id, Strain.gene, Strain.allele_symbol, Strain.strain_name)
                )
            )
        )
    if node:
        where.append(Strain.holder_node_id.in_(select(Node.id).where(Node.code == node)))
    if allele_class in ALLELE_CLASSES:
        where.append(_class_condition(allele_class))
    if material in {m.value for m in Material}:
        where.append(Strain.material == Material(material))
    return where


def search_strains(user, q: str | None, limit: int = 50, offset: int = 0, **filters) -> list[Strain]:
    """Visible strains matching the text and the filters (node, allele_class, material), by gene."""
    stmt = (
        select(Strain)
        .options(joinedload(Strain.holder_node))
        .where(*_conditions(user, q, **filters))
        .order_by(Strain.gene, Strain.emma_id)
        .limit(limit)
        .offset(offset)
    )
    return list(db.session.scalars(stmt))


def count_strains(user, q: str | None, **filters) -> int:
    return db.session.execute(select(func.count(Strain.id)).where(*_conditions(user, q, **filters))).scalar_one()


def holder_nodes() -> list[Node]:
    """Nodes that hold at least one catalogue strain (the catalogue's node filter)."""
    return list(db.session.scalars(select(Node).where(Node.id.in_(select(Strain.holder_node_id))).order_by(Node.code)))


def get_strain(user, emma_id: str) -> Strain | None:
    return db.session.scalar(visible_strains(user).where(Strain.emma_id == emma_id.strip().upper()))


def get_node(code: str) -> Node | None:
    return db.session.scalar(select(Node).where(Node.code == code.strip().upper()))


def all_nodes() -> list[Node]:
    return list(db.session.scalars(select(Node).order_by(Node.code)))


# ---- the archive loop -------------------------------------------------------------
# EMMA ids of strains EMMA derives itself come from their own block, above any imported id: an
# import may not use it (importer.py), so a derived id never collides with an archived line's.
DERIVED_ID_FIRST = 90001
DERIVED_ID_LAST = 99999


def is_derived_block(emma_id: str) -> bool:
    return emma_id[3:].isdigit() and int(emma_id[3:]) >= DERIVED_ID_FIRST


def _lock_derived_ids() -> None:
    """Serialise the choice of new derived ids (PostgreSQL: a transaction advisory lock; SQLite:
    the writer already holds the database's write lock)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 17_900_001})


def next_derived_emma_id() -> str:
    """The next id of the derived block (EM:90001, EM:90002 ...)."""
    _lock_derived_ids()
    last = db.session.scalar(select(func.max(Strain.emma_id)).where(Strain.emma_id >= f"EM:{DERIVED_ID_FIRST:05d}"))
    number = int(last[3:]) + 1 if last else DERIVED_ID_FIRST
    if number > DERIVED_ID_LAST:
        raise RuntimeError("The block of EMMA ids for derived strains is used up.")
    return f"EM:{number:05d}"


def find_archived(symbol: str, *, public_only: bool = True) -> Strain | None:
    """The catalogue strain carrying this allele, compared in canonical form (`<sup>`, `‹...›` and
    spacing do not matter; strains imported before symbols were stored canonically included)."""
    from ..alleles import SymbolError, canonical_symbol, parse_symbol

    try:
        wanted = parse_symbol(symbol)
    except SymbolError:
        return None
    stmt = select(Strain).where(Strain.gene == wanted.gene).order_by(Strain.emma_id)
    if public_only:
        stmt = stmt.where(Strain.access == Access.public)
    for strain in db.session.scalars(stmt):
        try:
            if canonical_symbol(strain.allele_symbol) == str(wanted):
                return strain
        except SymbolError:
            continue
    return None


def create_derived_strain(
    *,
    parent: Strain,
    allele_symbol: str,
    strain_name: str,
    holder: Node,
    material: Material,
    stock_count: int | None,
    request_id: int,
    reference: str,
) -> Strain:
    """The catalogue entry of a finished conversion (no commit: the caller's transition commits).
    It inherits the parent's access, genOway licence and MGI gene id (not a declared design: the
    product is what Cre or Flp made of it)."""
    from ..alleles import canonical_symbol, parse_symbol, plain_form

    symbol = canonical_symbol(allele_symbol)
    strain = Strain(
        emma_id=next_derived_emma_id(),
        strain_name=plain_form(strain_name),
        allele_symbol=symbol,
        gene=parse_symbol(symbol).gene,
        holder_node=holder,
        material=material,
        access=parent.access,
        industry_licence=parent.industry_licence,
        mgi_id=parent.mgi_id,
        derived_from=parent,
        derived_by_request_id=request_id,
        derived_by_reference=reference,
        archived_at=utcnow(),
        stock_count=stock_count,
    )
    db.session.add(strain)
    db.session.flush()
    return strain


def derivatives_of(user, strain: Strain) -> list[Strain]:
    """Strains derived from `strain` that `user` may see."""
    return list(
        db.session.scalars(visible_strains(user).where(Strain.derived_from_id == strain.id).order_by(Strain.emma_id))
    )
