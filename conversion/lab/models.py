"""Lab records of a request: paperwork, matings, animals, QC results, cryopreservation.

The lifecycle's guards read these (see ConversionRequest's guard facts)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..catalogue.models import DeleterStrain
from ..extensions import UTCDateTime, db, iso_utc, utcnow


class _Recorded:
    """Who recorded a row and when."""

    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Paperwork(db.Model):
    __tablename__ = "paperwork"

    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), primary_key=True)
    mta_signed_on: Mapped[Optional[date]] = mapped_column(Date)
    po_reference: Mapped[Optional[str]] = mapped_column(String(100))
    paid_on: Mapped[Optional[date]] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    recorded_by: Mapped[User] = relationship()

    def to_dict(self) -> dict:
        return {"mta_signed_on": self.mta_signed_on and self.mta_signed_on.isoformat(),
                "po_reference": self.po_reference,
                "paid_on": self.paid_on and self.paid_on.isoformat()}


class Mating(_Recorded, db.Model):
    __tablename__ = "matings"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    step: Mapped[int]
    generation: Mapped[int]
    method: Mapped[str] = mapped_column(String(20), default="deleter")  # deleter | tat_cre
    deleter_id: Mapped[Optional[int]] = mapped_column(ForeignKey("deleter_strains.id"))
    set_up_on: Mapped[date] = mapped_column(Date)
    dam: Mapped[Optional[str]] = mapped_column(String(60))
    sire: Mapped[Optional[str]] = mapped_column(String(60))
    litter_born_on: Mapped[Optional[date]] = mapped_column(Date)
    pups_born: Mapped[Optional[int]]
    pups_weaned: Mapped[Optional[int]]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    deleter: Mapped[Optional[DeleterStrain]] = relationship()

    def to_dict(self) -> dict:
        return {"id": self.id, "step": self.step, "generation": self.generation,
                "method": self.method,
                "deleter": self.deleter.label() if self.deleter else None,
                "set_up_on": self.set_up_on.isoformat(), "dam": self.dam, "sire": self.sire,
                "litter_born_on": self.litter_born_on and self.litter_born_on.isoformat(),
                "pups_born": self.pups_born, "pups_weaned": self.pups_weaned}


class Animal(_Recorded, db.Model):
    __tablename__ = "animals"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    step: Mapped[int]
    stage: Mapped[str] = mapped_column(String(20))  # the request's state when recorded
    label: Mapped[str] = mapped_column(String(60))
    born_on: Mapped[Optional[date]] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))
    allele: Mapped[str] = mapped_column(String(20))
    deleter_transgene: Mapped[Optional[str]] = mapped_column(String(10))
    mating_id: Mapped[Optional[int]] = mapped_column(ForeignKey("matings.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "step": self.step, "stage": self.stage,
                "born_on": self.born_on and self.born_on.isoformat(), "sex": self.sex,
                "allele": self.allele, "deleter_transgene": self.deleter_transgene,
                "mating_id": self.mating_id}


class QcResult(_Recorded, db.Model):
    __tablename__ = "qc_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    step: Mapped[int]
    assay: Mapped[str] = mapped_column(String(30))
    result: Mapped[str] = mapped_column(String(10))  # pass | fail
    animal_label: Mapped[Optional[str]] = mapped_column(String(60))
    note: Mapped[Optional[str]] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    def to_dict(self) -> dict:
        return {"id": self.id, "step": self.step, "assay": self.assay, "result": self.result,
                "animal_label": self.animal_label, "note": self.note,
                "recorded_at": iso_utc(self.recorded_at)}


class Cryopreservation(_Recorded, db.Model):
    __tablename__ = "cryopreservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    material: Mapped[str] = mapped_column(String(10))  # sperm | embryos
    count: Mapped[int]
    location: Mapped[str] = mapped_column(String(200))
    test_thaw: Mapped[Optional[str]] = mapped_column(String(10))  # pass | fail | None
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    def to_dict(self) -> dict:
        return {"id": self.id, "material": self.material, "count": self.count,
                "location": self.location, "test_thaw": self.test_thaw}
