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
        return {
            "id": self.id,
            "version": self.version,
            "recorded_at": iso_utc(self.recorded_at),
            "voided": self.voided,
            "void": {"at": iso_utc(self.voided_at), "reason": self.void_reason} if self.voided else None,
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
        return {
            "mta_signed_on": _day(self.mta_signed_on),
            "po_reference": self.po_reference,
            "paid_on": _day(self.paid_on),
        }


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
        return {
            **self.base_dict(),
            "number": self.label,
            "step": self.step,
            "generation": self.generation,
            "method": self.method,
            "deleter": self.deleter.label() if self.deleter else None,
            "set_up_on": _day(self.set_up_on),
            "dam": self.dam.label if self.dam else self.dam_text,
            "sire": self.sire.label if self.sire else self.sire_text,
            "successful": self.successful,
            "litters": [lt.to_dict() for lt in self.litters],
        }


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
        return {
            **self.base_dict(),
            "mating_id": self.mating_id,
            "born_on": _day(self.born_on),
            "weaned_on": _day(self.weaned_on),
            "pups_born": self.pups_born,
            "pups_weaned": self.pups_weaned,
            "genotyped_on": _day(self.genotyped_on),
        }


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
        return {
            **self.base_dict(),
            "label": self.label,
            "step": self.step,
            "stage": self.stage,
            "born_on": _day(self.born_on),
            "sex": self.sex,
            "allele": self.allele,
            "deleter_transgene": self.deleter_transgene,
            "mating_id": self.mating_id,
            "mating": self.mating.label if self.mating else None,
            "litter_id": self.litter_id,
            "fate": self.fate,
        }


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
        label = self.animal.label if self.animal else self.animal_label
        return {
            **self.base_dict(),
            "step": self.step,
            "assay": self.assay,
            "result": self.result,
            "animal": label,
            "animal_label": label,
            "animal_recorded": self.animal_id is not None,
            "note": self.note,
        }


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

    @property
    def test_thaw(self) -> str | None:
        """The latest test thaw's result (pass, fail) or None; voided thaws count nowhere."""
        thaws = self.thaws_in_force
        return thaws[-1].result if thaws else None

    def to_dict(self) -> dict:
        return {
            **self.base_dict(),
            "material": self.material,
            "count": self.count,
            "location": self.location,
            "frozen_on": _day(self.frozen_on),
            "donors": self.donors,
            "test_thaw": self.test_thaw,
            "thaws": [t.to_dict() for t in self.thaws],
        }


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
        return {
            **self.base_dict(),
            "cryo_id": self.cryo_id,
            "thawed_on": _day(self.thawed_on),
            "result": self.result,
            "note": self.note,
        }


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
        return {
            **self.base_dict(),
            "courier": self.courier,
            "tracking": self.tracking,
            "shipped_on": _day(self.shipped_on),
            "material": self.material,
            "quantity": self.quantity,
        }


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
