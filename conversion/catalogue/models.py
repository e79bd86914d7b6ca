"""EMMA nodes, their deleter strains, and the strain catalogue."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import UTCDateTime, db, iso_utc


class Material(str, enum.Enum):
    frozen_sperm = "frozen_sperm"
    frozen_embryos = "frozen_embryos"
    live = "live"


class Access(str, enum.Enum):
    public = "public"
    confidential = "confidential"
    retracted = "retracted"


class Recombinase(str, enum.Enum):
    Cre = "Cre"
    Flp = "Flp"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, validate_strings=True, length=20)


class Node(db.Model):
    __tablename__ = "nodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    lab_code: Mapped[str] = mapped_column(String(20))
    offers_conversion: Mapped[bool] = mapped_column(Boolean, default=False)
    vat_number: Mapped[str | None] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(String(200), default="")

    deleters: Mapped[list[DeleterStrain]] = relationship(back_populates="node", order_by="DeleterStrain.name")

    def __repr__(self) -> str:
        return f"<Node {self.code}>"


class DeleterStrain(db.Model):
    __tablename__ = "deleter_strains"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    emma_id: Mapped[str | None] = mapped_column(String(8))
    recombinase: Mapped[Recombinase] = mapped_column(_enum(Recombinase, "recombinase"))

    node: Mapped[Node] = relationship(back_populates="deleters")

    def label(self) -> str:
        return deleter_label(self.name, self.emma_id)


def deleter_label(name: str, emma_id: str | None) -> str:
    return f"{name} ({emma_id})" if emma_id else name


class Strain(db.Model):
    __tablename__ = "strains"

    id: Mapped[int] = mapped_column(primary_key=True)
    emma_id: Mapped[str] = mapped_column(String(8), unique=True)
    strain_name: Mapped[str] = mapped_column(String(300))
    allele_symbol: Mapped[str] = mapped_column(String(200), index=True)
    gene: Mapped[str] = mapped_column(String(100), index=True)
    holder_node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"), index=True)
    material: Mapped[Material] = mapped_column(_enum(Material, "material"))
    access: Mapped[Access] = mapped_column(_enum(Access, "access"), default=Access.public)
    industry_licence: Mapped[str | None] = mapped_column(String(20))
    # "conditional": a CRISPR em allele declared floxed (its symbol cannot show it); else None.
    design: Mapped[str | None] = mapped_column(String(20))
    mgi_id: Mapped[str | None] = mapped_column(String(20))  # the gene's MGI accession, MGI:1234567
    # A strain EMMA derived itself (the archive loop): its parent strain, the conversion request that
    # made it (id and reference; no foreign key: requests already refer to strains), when it was
    # archived and how many straws or embryos were stored then.
    derived_from_id: Mapped[int | None] = mapped_column(ForeignKey("strains.id"), index=True)
    derived_by_request_id: Mapped[int | None] = mapped_column(index=True)
    derived_by_reference: Mapped[str | None] = mapped_column(String(20))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stock_count: Mapped[int | None]

    holder_node: Mapped[Node] = relationship()
    derived_from: Mapped[Strain | None] = relationship(remote_side=[id])

    @property
    def is_public(self) -> bool:
        return self.access == Access.public

    def to_dict(self) -> dict:
        return {
            "emma_id": self.emma_id,
            "strain_name": self.strain_name,
            "allele_symbol": self.allele_symbol,
            "gene": self.gene,
            "holder_node": self.holder_node.code,
            "material": self.material.value,
            "access": self.access.value,
            "industry_licence": self.industry_licence,
            "design": self.design,
            "mgi_id": self.mgi_id,
            "derived_from": self.derived_from.emma_id if self.derived_from_id else None,
            "derived_by": self.derived_by_reference,
            "archived_at": iso_utc(self.archived_at) if self.archived_at else None,
        }
