"""Lab records of a request: paperwork, matings and their litters, animals, QC results,
cryopreservation sessions and their test thaws, shipments; and the corrections made to them.

Nothing is deleted or silently overwritten: a record is corrected with a reason (the old value,
who, when and why are kept as a LabCorrection) or voided with a reason (it stays, marked, and
no guard, document or count uses it). Every correctable record carries a version number: a
correction made from a stale copy is refused (409) instead of overwriting a colleague's."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from ..accounts.models import User
from ..catalogue.models import DeleterStrain
from ..extensions import UTCDateTime, db, iso_utc, utcnow

MATERIALS = ("sperm", "embryos")
SHIPMENT_MATERIALS = ("sperm", "embryos", "live_animals")
FATES = ("alive", "breeding", "culled", "cryo_donor", "shipped", "dead")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


class LabRecord:
    """Columns every correctable record has: who recorded it, its void mark, its version."""

    KIND = ""  # the URL segment: animals, matings, litters, qc, cryo, thaws, shipments

    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)

    if TYPE_CHECKING:  # every record model declares these
        id: Mapped[int]
        request_id: Mapped[int]

        def to_dict(self) -> dict: ...

    @declared_attr
    def recorded_by_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("users.id"))

    @declared_attr
    def voided_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id"))

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.__table__.c.version}

    @property
    def voided(self) -> bool:
        return self.voided_at is not None

    def base_dict(self) -> dict:
        return base_json(self)


# The JSON of each kind of record, from an ORM instance or a Core row with the same attribute names
# (lab.operations.lab_records reads rows with Core: a fifth of the ORM's CPU); what a relationship
# would give (a label, the litters, the thaws) is passed in.
def base_json(r) -> dict:
    voided = r.voided_at is not None
    return {
        "id": r.id,
        "version": r.version,
        "recorded_at": iso_utc(r.recorded_at),
        "voided": voided,
        "void": {"at": iso_utc(r.voided_at), "reason": r.void_reason} if voided else None,
    }


def paperwork_json(p) -> dict:
    return {"mta_signed_on": _day(p.mta_signed_on), "po_reference": p.po_reference, "paid_on": _day(p.paid_on)}


def mating_json(m, deleter: str | None, dam: str | None, sire: str | None, litters: list[dict]) -> dict:
    return {
        **base_json(m),
        "number": f"M{m.number}",
        "step": m.step,
        "generation": m.generation,
        "method": m.method,
        "deleter": deleter,
        "set_up_on": _day(m.set_up_on),
        "dam": dam or m.dam_text,
        "sire": sire or m.sire_text,
        "successful": m.successful,
        "litters": litters,
    }


def litter_json(lt) -> dict:
    return {
        **base_json(lt),
        "mating_id": lt.mating_id,
        "born_on": _day(lt.born_on),
        "weaned_on": _day(lt.weaned_on),
        "pups_born": lt.pups_born,
        "pups_weaned": lt.pups_weaned,
        "genotyped_on": _day(lt.genotyped_on),
    }


def animal_json(a, mating_number: int | None) -> dict:
    return {
        **base_json(a),
        "label": a.label,
        "step": a.step,
        "stage": a.stage,
        "born_on": _day(a.born_on),
        "sex": a.sex,
        "allele": a.allele,
        "deleter_transgene": a.deleter_transgene,
        "mating_id": a.mating_id,
        "mating": f"M{mating_number}" if mating_number is not None else None,
        "litter_id": a.litter_id,
        "fate": a.fate,
    }


def qc_json(q, animal: str | None) -> dict:
    label = animal or q.animal_label
    return {
        **base_json(q),
        "step": q.step,
        "assay": q.assay,
        "result": q.result,
        "animal": label,
        "animal_label": label,
        "animal_recorded": q.animal_id is not None,
        "note": q.note,
    }


def cryo_json(c, thaws: list[dict]) -> dict:
    return {
        **base_json(c),
        "material": c.material,
        "count": c.count,
        "location": c.location,
        "frozen_on": _day(c.frozen_on),
        "donors": c.donors,
        "test_thaw": next((t["result"] for t in reversed(thaws) if not t["voided"]), None),  # the latest in force
        "thaws": thaws,
    }


def thaw_json(t) -> dict:
    return {
        **base_json(t),
        "cryo_id": t.cryo_id,
        "thawed_on": _day(t.thawed_on),
        "result": t.result,
        "note": t.note,
    }


def shipment_json(s) -> dict:
    return {
        **base_json(s),
        "courier": s.courier,
        "tracking": s.tracking,
        "shipped_on": _day(s.shipped_on),
        "material": s.material,
        "quantity": s.quantity,
    }


class Paperwork(db.Model):
    __tablename__ = "paperwork"

    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), primary_key=True)
    mta_signed_on: Mapped[date | None] = mapped_column(Date)
    po_reference: Mapped[str | None] = mapped_column(String(100))
    paid_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    recorded_by: Mapped[User] = relationship()

    def to_dict(self) -> dict:
        return paperwork_json(self)


class Mating(LabRecord, db.Model):
    """A cross, numbered per request (M1, M2 ...): a dam and a sire, each a recorded animal of the
    request or (left empty) from the node's deleter stock."""

    __tablename__ = "matings"
    KIND = "matings"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    number: Mapped[int]
    step: Mapped[int]
    generation: Mapped[int]
    method: Mapped[str] = mapped_column(String(20), default="deleter")  # deleter | tat_cre
    deleter_id: Mapped[int | None] = mapped_column(ForeignKey("deleter_strains.id"))
    set_up_on: Mapped[date] = mapped_column(Date)
    dam_text: Mapped[str | None] = mapped_column("dam", String(60))  # as typed before migration 0012
    sire_text: Mapped[str | None] = mapped_column("sire", String(60))
    dam_id: Mapped[int | None] = mapped_column(ForeignKey("animals.id", use_alter=True))
    sire_id: Mapped[int | None] = mapped_column(ForeignKey("animals.id", use_alter=True))
    successful: Mapped[bool | None]

    deleter: Mapped[DeleterStrain | None] = relationship()
    dam: Mapped[Animal | None] = relationship(foreign_keys=[dam_id], post_update=True)
    sire: Mapped[Animal | None] = relationship(foreign_keys=[sire_id], post_update=True)
    litters: Mapped[list[Litter]] = relationship(back_populates="mating", order_by="Litter.id")

    __table_args__ = (UniqueConstraint("request_id", "number", name="uq_matings_request_id_number"),)

    @property
    def label(self) -> str:
        return f"M{self.number}"

    def to_dict(self) -> dict:
        return mating_json(
            self,
            self.deleter.label() if self.deleter else None,
            self.dam.label if self.dam else None,
            self.sire.label if self.sire else None,
            [lt.to_dict() for lt in self.litters],
        )


class Litter(LabRecord, db.Model):
    """A litter of a mating: born, weaned, genotyped; its pups are animals with litter_id.
    Corrected or voided on its own (a voided litter counts nowhere; its pups are animals,
    corrected or voided on their own)."""

    __tablename__ = "litters"
    KIND = "litters"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    mating_id: Mapped[int] = mapped_column(ForeignKey("matings.id"), index=True)
    born_on: Mapped[date | None] = mapped_column(Date)
    weaned_on: Mapped[date | None] = mapped_column(Date)
    pups_born: Mapped[int | None]
    pups_weaned: Mapped[int | None]
    genotyped_on: Mapped[date | None] = mapped_column(Date)

    mating: Mapped[Mating] = relationship(back_populates="litters")

    def to_dict(self) -> dict:
        return litter_json(self)


class Animal(LabRecord, db.Model):
    """A founder or pup: label unique in the request, genotype at the target locus (`allele`: the
    source allele, the product allele or wt) and at the deleter transgene, parents, fate."""

    __tablename__ = "animals"
    KIND = "animals"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    step: Mapped[int]
    stage: Mapped[str] = mapped_column(String(20))  # the request's state when recorded
    label: Mapped[str] = mapped_column(String(60))
    born_on: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))
    allele: Mapped[str] = mapped_column(String(20))
    deleter_transgene: Mapped[str | None] = mapped_column(String(10))
    mating_id: Mapped[int | None] = mapped_column(ForeignKey("matings.id"))
    litter_id: Mapped[int | None] = mapped_column(ForeignKey("litters.id"))
    fate: Mapped[str] = mapped_column(String(20), default="alive")

    mating: Mapped[Mating | None] = relationship(foreign_keys=[mating_id])
    litter: Mapped[Litter | None] = relationship()

    __table_args__ = (UniqueConstraint("request_id", "label", name="uq_animals_request_id_label"),)

    def to_dict(self) -> dict:
        return animal_json(self, self.mating.number if self.mating else None)


class QcResult(LabRecord, db.Model):
    __tablename__ = "qc_results"
    KIND = "qc"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    step: Mapped[int]
    assay: Mapped[str] = mapped_column(String(30))
    result: Mapped[str] = mapped_column(String(10))  # pass | fail
    animal_id: Mapped[int | None] = mapped_column(ForeignKey("animals.id"))
    animal_label: Mapped[str | None] = mapped_column(String(60))  # as recorded before migration 0012
    note: Mapped[str | None] = mapped_column(Text)

    animal: Mapped[Animal | None] = relationship()

    def to_dict(self) -> dict:
        return qc_json(self, self.animal.label if self.animal else None)


class Cryopreservation(LabRecord, db.Model):
    """A freezing session: material, count (straws or embryos), donors, storage position."""

    __tablename__ = "cryopreservations"
    KIND = "cryo"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    material: Mapped[str] = mapped_column(String(10))  # sperm | embryos
    count: Mapped[int]
    location: Mapped[str] = mapped_column(String(200))
    frozen_on: Mapped[date | None] = mapped_column(Date)
    donors: Mapped[str | None] = mapped_column(String(300))  # donor animal labels

    thaws: Mapped[list[CryoThaw]] = relationship(back_populates="cryo", order_by="CryoThaw.id")

    @property
    def thaws_in_force(self) -> list[CryoThaw]:
        return [t for t in self.thaws if not t.voided]

    def to_dict(self) -> dict:
        return cryo_json(self, [t.to_dict() for t in self.thaws])


class CryoThaw(LabRecord, db.Model):
    """A test thaw of one sample of a cryopreservation session (it uses that sample). Corrected or
    voided on its own: a voided thaw counts nowhere (the session's test thaw, the guard of
    `complete_cryopreservation`, the stock, the certificate)."""

    __tablename__ = "cryo_thaws"
    KIND = "thaws"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    cryo_id: Mapped[int] = mapped_column(ForeignKey("cryopreservations.id"), index=True)
    thawed_on: Mapped[date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(10))  # pass | fail
    note: Mapped[str | None] = mapped_column(Text)

    cryo: Mapped[Cryopreservation] = relationship(back_populates="thaws")

    def to_dict(self) -> dict:
        return thaw_json(self)


class Shipment(LabRecord, db.Model):
    """Material sent to the requester: taken from the request's stock."""

    __tablename__ = "shipments"
    KIND = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    courier: Mapped[str] = mapped_column(String(100))
    tracking: Mapped[str] = mapped_column(String(100))
    shipped_on: Mapped[date] = mapped_column(Date)
    material: Mapped[str] = mapped_column(String(20))  # sperm | embryos | live_animals
    quantity: Mapped[int]

    def to_dict(self) -> dict:
        return shipment_json(self)


class LabCorrection(db.Model):
    """One correction of a lab record: the fields changed ({field: [old, new]}), who, when, why.
    Never updated, never deleted."""

    __tablename__ = "lab_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"))
    kind: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)

    by: Mapped[User] = relationship()

    __table_args__ = (Index("ix_lab_corrections_request_id_kind_record_id", "request_id", "kind", "record_id"),)

    def to_dict(self) -> dict:
        return {"at": iso_utc(self.at), "by": self.by.email, "reason": self.reason, "changes": self.changes}


KINDS: dict[str, type[LabRecord]] = {
    m.KIND: m for m in (Animal, Mating, Litter, QcResult, Cryopreservation, CryoThaw, Shipment)
}
