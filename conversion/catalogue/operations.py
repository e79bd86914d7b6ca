"""Catalogue queries, always scoped to what the viewer may see."""
from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from .models import Access, Material, Node, Strain


def can_see_hidden(user) -> bool:
    """Confidential and retracted strains are shown to coordinators only."""
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and getattr(user, "role", None) is not None and user.role.value == "coordinator")


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
    return or_(*(Strain.allele_symbol.like(f"%{prefix}{p[1:]}%")
                 for p in patterns for prefix in ("<", "<sup>")))


def _conditions(user, q: str | None, node: str | None = None, allele_class: str | None = None,
                material: str | None = None) -> list:
    where = [] if can_see_hidden(user) else [Strain.access == Access.public]
    q = (q or "").strip()
    if q:
        pattern = f"%{escape_like(q.lower())}%"
        where.append(or_(*(
            col.ilike(pattern, escape="\\")
            for col in (Strain.emma_id, Strain.gene, Strain.allele_symbol, Strain.strain_name)
        )))
    if node:
        where.append(Strain.holder_node_id.in_(select(Node.id).where(Node.code == node)))
    if allele_class in ALLELE_CLASSES:
        where.append(_class_condition(allele_class))
    if material in {m.value for m in Material}:
        where.append(Strain.material == Material(material))
    return where


def search_strains(user, q: str | None, limit: int = 50, offset: int = 0, **filters) -> list[Strain]:
    """Visible strains matching the text and the filters (node, allele_class, material), by gene."""
    stmt = (select(Strain).options(joinedload(Strain.holder_node)).where(*_conditions(user, q, **filters))
            .order_by(Strain.gene, Strain.emma_id).limit(limit).offset(offset))
    return list(db.session.scalars(stmt))


def count_strains(user, q: str | None, **filters) -> int:
    return db.session.scalar(select(func.count(Strain.id)).where(*_conditions(user, q, **filters)))


def holder_nodes() -> list[Node]:
    """Nodes that hold at least one catalogue strain (the catalogue's node filter)."""
    return list(db.session.scalars(select(Node).where(Node.id.in_(select(Strain.holder_node_id)))
                                   .order_by(Node.code)))


def get_strain(user, emma_id: str) -> Strain | None:
    return db.session.scalar(visible_strains(user).where(Strain.emma_id == emma_id.strip().upper()))


def get_node(code: str) -> Node | None:
    return db.session.scalar(select(Node).where(Node.code == code.strip().upper()))


def all_nodes() -> list[Node]:
    return list(db.session.scalars(select(Node).order_by(Node.code)))
