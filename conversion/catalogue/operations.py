"""Catalogue queries, always scoped to what the viewer may see."""
from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from .models import Access, Node, Strain


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


def search_strains(user, q: str | None, limit: int = 50, offset: int = 0) -> list[Strain]:
    stmt = visible_strains(user)
    q = (q or "").strip()
    if q:
        pattern = f"%{escape_like(q.lower())}%"
        stmt = stmt.where(or_(*(
            col.ilike(pattern, escape="\\")
            for col in (Strain.emma_id, Strain.gene, Strain.allele_symbol, Strain.strain_name)
        )))
    stmt = stmt.order_by(Strain.gene, Strain.emma_id).limit(limit).offset(offset)
    return list(db.session.scalars(stmt))


def get_strain(user, emma_id: str) -> Strain | None:
    return db.session.scalar(visible_strains(user).where(Strain.emma_id == emma_id.strip().upper()))


def get_node(code: str) -> Node | None:
    return db.session.scalar(select(Node).where(Node.code == code.strip().upper()))


def all_nodes() -> list[Node]:
    return list(db.session.scalars(select(Node).order_by(Node.code)))
