"""Recording lab work on a request: paperwork, matings and litters, animals, QC, cryopreservation
and test thaws, shipments; corrections and voids; the facts the lifecycle's guards read; the
records in force that documents are built from.

Only staff of the assigned node record lab work (coordinators may record paperwork too); each
record is accepted only in the states where that work happens, and the records of a completed,
cancelled or rejected request are frozen. Every operation commits once, or changes nothing."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any, Literal, overload

from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    String,
    Text,
    bindparam,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy import event as orm_events
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from workflows.lifecycle import FINAL_STATES, OPEN_STATES, STATES, machine

from ..accounts.models import Role, User
from ..catalogue.models import DeleterStrain, deleter_label
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import UTCDateTime, by_key, db, iso_utc, utcnow, utctoday
from ..inputs import parse_date
from ..reads import Read, slot_columns
from ..requests.models import ConversionRequest
from ..requests.operations import get_request
from .models import (
    FATES,
    KINDS,
    MATERIALS,
    SHIPMENT_MATERIALS,
    Animal,
    Cryopreservation,
    CryoThaw,
    LabCorrection,
    LabRecord,
    Litter,
    Mating,
    Paperwork,
    QcResult,
    Shipment,
    animal_json,
    cryo_json,
    litter_json,
    mating_json,
    paperwork_json,
    qc_json,
    shipment_json,
    thaw_json,
)

ANIMAL_ALLELES = ("tm1a", "tm1b", "tm1c", "tm1d", "tm1e", "tm1e.1", "tm1", "tm1.1", "tm1.2", "wt")
OPEN_FOR_PAPERWORK = OPEN_STATES  # paperwork can be recorded while the request is open
# Where each kind of record is taken (corrections and voids: any state but a final one).
STATES_FOR = {
    "animals": ("rederivation", "breeding", "qc"),
    "matings": ("breeding",),
    "litters": ("breeding", "qc"),
    "qc": ("breeding", "qc"),
    "cryo": ("cryopreservation",),
    "thaws": ("cryopreservation", "ready"),
    "shipments": ("ready", "shipped"),
}
MAX_ROWS = 200


# ---- access ------------------------------------------------------------------------
def _frozen(req: ConversionRequest) -> None:
    if req.status in FINAL_STATES:
        raise Conflict(f"{req.reference} is {req.status}: its lab records are frozen.")


def _for_work(
    user: User, request_id: int, states: tuple[str, ...] | None, what: str, coordinators: bool = False
) -> ConversionRequest:
    """The request locked for a write by `user` (node staff), in one of `states` (None: any
    state that is not final)."""
    req = get_request(user, request_id, for_update=True)
    is_node_staff = user.is_staff_of(req.node_id)
    if not (is_node_staff or (coordinators and user.role is Role.coordinator)):
        raise Forbidden(f"Only staff of the assigned node record {what}.")
    _frozen(req)
    if states is not None and req.status not in states:
        raise Conflict(
            f"{what[:1].upper() + what[1:]} cannot be recorded while the request is {req.status} "
            f"(only in: {', '.join(states)})."
        )
    return req


# ---- values ------------------------------------------------------------------------
def _date(value, field: str, required: bool = True) -> date | None:
    if value in (None, ""):
        if required:
            raise Invalid(f"{field} is required (YYYY-MM-DD).")
        return None
    parsed = parse_date(value, field)  # strictly YYYY-MM-DD
    if parsed is None:  # text of spaces only: as blank
        if required:
            raise Invalid(f"{field} is required (YYYY-MM-DD).")
        return None
    if parsed > utctoday():
        raise Invalid(f"{field} cannot be in the future.")
    if parsed.year < 1990:
        raise Invalid(f"{field} is implausibly early.")
    return parsed


@overload
def _text(value, field: str, max_len: int, required: Literal[True] = True) -> str: ...
@overload
def _text(value, field: str, max_len: int, required: bool) -> str | None: ...
def _text(value, field: str, max_len: int, required: bool = True) -> str | None:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise Invalid(f"{field} must be text.")
    if required and not text:
        raise Invalid(f"{field} is required.")
    if len(text) > max_len:
        raise Invalid(f"{field} is longer than {max_len} characters.")
    return text or None


@overload
def _choice(value, field: str, choices: tuple[str, ...], required: Literal[True] = True) -> str: ...
@overload
def _choice(value, field: str, choices: tuple[str, ...], required: bool) -> str | None: ...
def _choice(value, field: str, choices: tuple[str, ...], required: bool = True) -> str | None:
    if value in (None, "") and not required:
        return None
    text = str(value).strip().lower() if isinstance(value, str) else None
    match = next((c for c in choices if c.lower() == text), None)
    if match is None:
        raise Invalid(f"{field} must be one of {', '.join(choices)}.")
    return match


def _int(value, field: str, low: int, high: int, required: bool = True) -> int | None:
    if value in (None, "") and not required:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{field} must be a whole number from {low} to {high}.")
    return value


def _bool(value, field: str) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "y"):
        return True
    if text in ("false", "no", "0", "n"):
        return False
    raise Invalid(f"{field} must be true or false.")


SEX = {
    "m": "male",
    "male": "male",
    "f": "female",
    "female": "female",
    "u": "unknown",
    "?": "unknown",
    "unknown": "unknown",
}
TRANSGENE = {
    "+": "positive",
    "pos": "positive",
    "positive": "positive",
    "-": "negative",
    "neg": "negative",
    "negative": "negative",
}


def _sex(value) -> str:
    got = SEX.get(str(value).strip().lower()) if isinstance(value, str) else None
    if got is None:
        raise Invalid("sex must be male, female or unknown (m/f/u).")
    return got


def _transgene(value, required: bool) -> str | None:
    if value in (None, ""):
        if required:
            raise Invalid("deleter_transgene is required (positive or negative, + or -).")
        return None
    got = TRANSGENE.get(str(value).strip().lower()) if isinstance(value, str) else None
    if got is None:
        raise Invalid("deleter_transgene must be positive or negative (+ or -).")
    return got


# ---- lookups -----------------------------------------------------------------------
@overload
def _animal(req: ConversionRequest, label, field: str = "animal", *, required: Literal[True] = True) -> Animal: ...
@overload
def _animal(req: ConversionRequest, label, field: str = "animal", *, required: bool) -> Animal | None: ...
def _animal(req: ConversionRequest, label, field: str = "animal", *, required: bool = True) -> Animal | None:
    """A recorded, not voided animal of the request by label (422 naming it otherwise)."""
    text = _text(label, field, 60, required=required)
    if text is None:
        return None
    animal = db.session.scalar(select(Animal).where(Animal.request_id == req.id, Animal.label == text))
    if animal is None:
        raise Invalid(f"{field}: no animal {text!r} is recorded for {req.reference}: record it first.")
    if animal.voided:
        raise Invalid(f"{field}: animal {text!r} of {req.reference} is voided ({animal.void_reason}).")
    return animal


def _mating(req: ConversionRequest, value, field: str = "mating") -> Mating | None:
    """A mating of the request by its number ("M2", "2") or id (`mating_id` of older clients)."""
    if value in (None, ""):
        return None
    mating = None
    if isinstance(value, int) and not isinstance(value, bool):
        mating = db.session.scalar(select(Mating).where(Mating.request_id == req.id, Mating.id == value))
    elif isinstance(value, str):
        text = value.strip().upper().removeprefix("M")
        if text.isdigit() and len(text) < 6:
            mating = db.session.scalar(select(Mating).where(Mating.request_id == req.id, Mating.number == int(text)))
    if mating is None:
        raise Invalid(f"{field}: {value!r} is not a mating of {req.reference}.")
    if mating.voided:
        raise Invalid(f"{field}: mating {mating.label} is voided.")
    return mating


def _find_deleter(req: ConversionRequest, text: str) -> DeleterStrain:
    wanted = text.strip()
    if req.node is None:
        raise Conflict(f"{req.reference} has no node assigned: it has no deleter strains.")
    for deleter in req.node.deleters:
        if wanted.upper() == (deleter.emma_id or "").upper() or wanted == deleter.name:
            return deleter
    names = "; ".join(d.label() for d in req.node.deleters)
    raise Invalid(f"{req.node.code} has no deleter strain {wanted!r}. Its deleters: {names}.")


_NODE_DELETERS = Read(
    select(DeleterStrain.name, DeleterStrain.emma_id, DeleterStrain.recombinase)
    .where(DeleterStrain.node_id == bindparam("node_id"))
    .order_by(DeleterStrain.id)
)


def deleters_for_step(req: ConversionRequest) -> list:
    """The name, EMMA id and recombinase of each deleter strain of the request's node, in order
    (one statement built once, whatever the session already holds): the mating form offers those
    carrying the recombinase of the step being worked on."""
    return _NODE_DELETERS.all({"node_id": req.node_id})


def _record(req: ConversionRequest, kind: str, record_id: int) -> LabRecord:
    model = KINDS.get(kind)
    if model is None:
        raise NotFound(f"No kind of lab record {kind!r}: use one of {', '.join(KINDS)}.")
    row = db.session.get(model, record_id) if isinstance(record_id, int) and 0 < record_id < 2**31 else None
    if row is None or row.request_id != req.id:
        raise NotFound(f"No {kind} record {record_id} on {req.reference}.")
    return row


def _commit() -> None:
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict("Someone changed this record at the same time: reload it and make your change again.") from None


# ---- paperwork ---------------------------------------------------------------------
def record_paperwork(user: User, request_id: int, *, mta_signed_on=None, po_reference=None, paid_on=None) -> Paperwork:
    req = _for_work(user, request_id, OPEN_FOR_PAPERWORK, "paperwork", coordinators=True)
    paper = db.session.get(Paperwork, req.id) or Paperwork(request_id=req.id)
    mta = _date(mta_signed_on, "mta_signed_on", required=False)
    po = _text(po_reference, "po_reference", 100, required=False)
    paid = _date(paid_on, "paid_on", required=False)
    if mta is None and po is None and paid is None:
        raise Invalid("Give at least one of mta_signed_on, po_reference, paid_on.")
    paper.mta_signed_on = mta or paper.mta_signed_on
    paper.po_reference = po or paper.po_reference
    paper.paid_on = paid or paper.paid_on
    paper.recorded_by_id = user.id
    db.session.add(paper)
    db.session.commit()
    return paper


# ---- matings and litters ------------------------------------------------------------
def _litter_values(body: dict) -> dict:
    out: dict[str, Any] = {
        "born_on": _date(body.get("born_on"), "born_on", required=False),
        "weaned_on": _date(body.get("weaned_on"), "weaned_on", required=False),
        "genotyped_on": _date(body.get("genotyped_on"), "genotyped_on", required=False),
        "pups_born": _int(body.get("pups_born"), "pups_born", 0, 50, required=False),
        "pups_weaned": _int(body.get("pups_weaned"), "pups_weaned", 0, 50, required=False),
    }
    if out["pups_born"] is not None and out["pups_weaned"] is not None and out["pups_weaned"] > out["pups_born"]:
        raise Invalid("More pups weaned than born.")
    if out["born_on"] and out["weaned_on"] and out["weaned_on"] < out["born_on"]:
        raise Invalid("weaned_on is before born_on.")
    return out


def _parent(req: ConversionRequest, value, field: str, sex: str) -> Animal | None:
    """A parent: a recorded animal of the request (None: from the node's deleter stock)."""
    if value in (None, "") or (isinstance(value, str) and value.strip().lower() in ("deleter", "stock")):
        return None
    animal = _animal(req, value, field)
    if animal.sex not in (sex, "unknown"):
        raise Invalid(f"{field}: {animal.label} is recorded as {animal.sex}.")
    return animal


def record_mating(
    user: User,
    request_id: int,
    *,
    deleter=None,
    set_up_on=None,
    generation=None,
    method: str = "deleter",
    dam=None,
    sire=None,
    successful=None,
    litter_born_on=None,
    pups_born=None,
    pups_weaned=None,
) -> Mating:
    """A mating numbered M1, M2 ... per request; with litter fields, its first litter too."""
    req = _for_work(user, request_id, STATES_FOR["matings"], "matings")
    method = _choice(method or "deleter", "method", ("deleter", "tat_cre"))
    needed = req.step_recombinase
    chosen = None
    if method == "tat_cre":
        if needed != "Cre":
            raise Invalid(f"TAT-Cre replaces Cre only; step {req.current_step} needs {needed}.")
    else:
        chosen = _find_deleter(req, _text(deleter, "deleter", 300))
        if chosen.recombinase.value != needed:
            raise Invalid(
                f"Step {req.current_step} ({req.step_source_label} → {req.step_product_label}) "
                f"needs a {needed} deleter; {chosen.label()} carries {chosen.recombinase.value}."
            )
    generation = _int(generation, "generation", 1, 20)
    litter = _litter_values({"born_on": litter_born_on, "pups_born": pups_born, "pups_weaned": pups_weaned})
    number = (db.session.scalar(select(func.max(Mating.number)).where(Mating.request_id == req.id)) or 0) + 1
    mating = Mating(
        request_id=req.id,
        number=number,
        step=req.current_step,
        generation=generation,
        method=method,
        deleter=chosen,
        set_up_on=_date(set_up_on, "set_up_on"),
        dam=_parent(req, dam, "dam", "female"),
        sire=_parent(req, sire, "sire", "male"),
        successful=_bool(successful, "successful"),
        recorded_by_id=user.id,
    )
    db.session.add(mating)
    if any(v is not None for v in litter.values()):
        db.session.add(Litter(request_id=req.id, mating=mating, recorded_by_id=user.id, **litter))
    db.session.commit()
    return mating


# ---- animals ----------------------------------------------------------------------
def _alleles_of(req: ConversionRequest) -> tuple[str, ...]:
    """The genotype calls an animal of this request may carry: the usual ones, and the request's own
    source and step products (tm2b, em1.1 ...)."""
    own = [req.source_class] + [s["to_class"] for s in req.steps]
    return ANIMAL_ALLELES + tuple(a for a in dict.fromkeys(own) if a not in ANIMAL_ALLELES)


def _animal_row(
    req: ConversionRequest, body: dict, user: User, litter: Litter | None = None, mating: Mating | None = None
) -> Animal:
    if not isinstance(body, dict):
        raise Invalid("each animal must be an object.")
    label = _text(body.get("label"), "label", 60)
    mating = mating or _mating(req, body.get("mating") or body.get("mating_id"))
    return Animal(
        request_id=req.id,
        step=req.current_step,
        stage=req.status,
        label=label,
        born_on=_date(body.get("born_on"), "born_on", required=False) or (litter.born_on if litter else None),
        sex=_sex(body.get("sex")),
        allele=_choice(body.get("allele"), "allele", _alleles_of(req)),
        deleter_transgene=_transgene(body.get("deleter_transgene"), required=req.status != "rederivation"),
        fate=_choice(body.get("fate") or "alive", "fate", FATES),
        mating=mating or (litter.mating if litter else None),
        litter=litter,
        recorded_by_id=user.id,
    )


def _check_labels(req: ConversionRequest, labels: list[str], where: Callable[[int], str]) -> None:
    """409 naming a label used twice in the batch or already recorded for the request."""
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):
        if label in seen:
            raise Conflict(f"{where(i)}label {label} is given twice (also {where(seen[label]).rstrip(': ')}).")
        seen[label] = i
    with db.session.no_autoflush:  # the new rows are not in the session yet
        taken = (
            dict(
                db.session.execute(
                    select(Animal.label, Animal.voided_at).where(Animal.request_id == req.id, Animal.label.in_(labels))
                ).all()
            )
            if labels
            else {}
        )
    for i, label in enumerate(labels):
        if label in taken:
            voided = " (voided: correct that record instead)" if taken[label] else ""
            raise Conflict(f"{where(i)}an animal labelled {label} is already recorded for {req.reference}{voided}.")


def _save_animals(req: ConversionRequest, rows: list[Animal]) -> None:
    db.session.add_all(rows)
    try:
        db.session.commit()
    except IntegrityError:  # a colleague recorded the same label at the same moment
        db.session.rollback()
        raise Conflict("An animal with one of these labels was recorded meanwhile: reload and check.") from None


def record_animals(user: User, request_id: int, animals: list[dict]) -> list[Animal]:
    """Record one or several animals at once (all or none)."""
    req = _for_work(user, request_id, STATES_FOR["animals"], "animals")
    if not isinstance(animals, list) or not animals:
        raise Invalid("Give at least one animal.")
    if len(animals) > MAX_ROWS:
        raise Invalid(f"At most {MAX_ROWS} animals at once.")

    def where(i: int) -> str:
        return f"animal {i + 1}: " if len(animals) > 1 else ""

    rows = []
    for i, body in enumerate(animals):
        try:
            rows.append(_animal_row(req, body, user))
        except Invalid as exc:
            raise Invalid(where(i) + exc.message) from None
    _check_labels(req, [r.label for r in rows], where)
    _save_animals(req, rows)
    return rows


def record_litter(
    user: User, request_id: int, *, mating=None, pups: list[dict], **litter_fields
) -> tuple[Litter, list[Animal]]:
    """A litter of a mating with its pups, one row per pup (all or none)."""
    req = _for_work(user, request_id, STATES_FOR["litters"], "litters")
    found = _mating(req, mating)
    if found is None:
        raise Invalid("mating: say which mating the litter comes from (e.g. M1).")
    # mating_id, not the relationship: a refused litter must not linger in the mating's litters
    litter = Litter(request_id=req.id, mating_id=found.id, recorded_by_id=user.id, **_litter_values(litter_fields))
    if not pups:
        raise Invalid("Give at least one pup (one row per pup).")
    if len(pups) > 50:
        raise Invalid("At most 50 pups in a litter.")
    rows = []
    for i, body in enumerate(pups):
        try:
            rows.append(_animal_row(req, body, user, litter=litter, mating=found))
        except Invalid as exc:
            raise Invalid(f"pup {i + 1}: {exc.message}") from None
    if litter.pups_born is not None and len(rows) > litter.pups_born:
        raise Invalid(f"{len(rows)} pups given but the litter has {litter.pups_born} born.")
    if litter.pups_born is None:
        litter.pups_born = len(rows)
    _check_labels(req, [r.label for r in rows], lambda i: f"pup {i + 1}: ")
    db.session.add(litter)
    _save_animals(req, rows)
    db.session.refresh(litter)
    return litter, rows


GENOTYPE_COLUMNS = ("label", "sex", "allele", "deleter_transgene", "born_on", "mating")


def import_genotypes(user: User, request_id: int, text: str) -> list[Animal]:
    """Genotyping results pasted or uploaded as CSV (comma, semicolon or tab separated): one animal
    a line, `label, sex, allele, deleter transgene[, born on[, mating]]`, an optional header line.
    Every bad line is reported by its number, and nothing is saved unless every line is good."""
    req = _for_work(user, request_id, STATES_FOR["animals"], "animals")
    if not isinstance(text, str) or not text.strip():
        raise Invalid("Paste or upload at least one line: label, sex, allele, deleter transgene.")
    lines = text.splitlines()
    if len(lines) > MAX_ROWS + 1:
        raise Invalid(f"At most {MAX_ROWS} lines at once.")
    errors: list[str] = []
    rows: list[Animal] = []
    numbers: list[int] = []
    for number, line in enumerate(lines, 1):
        delimiter = "\t" if "\t" in line else (";" if line.count(";") > line.count(",") else ",")
        parts = [p.strip() for p in next(csv.reader([line], delimiter=delimiter), [])]
        if not any(parts) or parts[0].startswith("#"):
            continue
        if parts[0].lower() == "label" and not rows and not errors:
            continue  # a header
        if not 3 <= len(parts) <= len(GENOTYPE_COLUMNS):
            errors.append(
                f"Line {number}: give label, sex, allele, deleter transgene (and optionally born on, mating)."
            )
            continue
        try:
            rows.append(_animal_row(req, dict(zip(GENOTYPE_COLUMNS, parts)), user))
            numbers.append(number)
        except Invalid as exc:
            errors.append(f"Line {number}: {exc.message}")
    labels = [r.label for r in rows]
    first: dict[str, int] = {}
    taken = (
        set(db.session.scalars(select(Animal.label).where(Animal.request_id == req.id, Animal.label.in_(labels))))
        if labels
        else set()
    )
    for label, number in zip(labels, numbers):
        if label in taken:
            errors.append(f"Line {number}: an animal labelled {label} is already recorded.")
        elif label in first:
            errors.append(f"Line {number}: label {label} is also on line {first[label]}.")
        first.setdefault(label, number)
    if errors:
        db.session.rollback()
        errors.sort(key=lambda e: int(e.split(":")[0].split()[1]))
        raise Invalid(
            "Nothing was saved. "
            + " ".join(e if e.endswith(".") else e + "." for e in errors[:20])
            + (f" And {len(errors) - 20} more." if len(errors) > 20 else "")
        )
    if not rows:
        raise Invalid("No animal lines found.")
    _save_animals(req, rows)
    return rows


# ---- QC ---------------------------------------------------------------------------
def record_qc(
    user: User, request_id: int, *, assay=None, result=None, animal=None, animal_label=None, note=None
) -> QcResult:
    from ..alleles import normalize_assay

    req = _for_work(user, request_id, STATES_FOR["qc"], "QC results")
    try:
        name = normalize_assay(_text(assay, "assay", 30))
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    tested = _animal(req, animal if animal not in (None, "") else animal_label, "animal", required=False)
    row = QcResult(
        request_id=req.id,
        step=req.current_step,
        assay=name,
        result=_choice(result, "result", ("pass", "fail")),
        animal=tested,
        animal_label=tested.label if tested else None,
        note=_text(note, "note", 2000, required=False),
        recorded_by_id=user.id,
    )
    db.session.add(row)
    db.session.commit()
    return row


# ---- cryopreservation, thaws, stock, shipments --------------------------------------
def record_cryo(
    user: User,
    request_id: int,
    *,
    material=None,
    count=None,
    location=None,
    test_thaw=None,
    frozen_on=None,
    donors=None,
) -> Cryopreservation:
    """A freezing session; `test_thaw` (optional) records a first test thaw of it, today."""
    req = _for_work(user, request_id, STATES_FOR["cryo"], "cryopreservation")
    row = Cryopreservation(
        request_id=req.id,
        material=_choice(material, "material", MATERIALS),
        count=_int(count, "count", 1, 10000),
        location=_text(location, "location", 200),
        frozen_on=_date(frozen_on, "frozen_on", required=False),
        donors=_donors(req, donors),
        recorded_by_id=user.id,
    )
    thaw = _choice(test_thaw, "test_thaw", ("pass", "fail"), required=False)
    db.session.add(row)
    if thaw:
        db.session.add(CryoThaw(request_id=req.id, cryo=row, thawed_on=utctoday(), result=thaw, recorded_by_id=user.id))
    db.session.commit()
    return row


def _donors(req: ConversionRequest, value) -> str | None:
    """Donor animals: recorded labels, comma separated."""
    text = _text(value, "donors", 300, required=False)
    if text is None:
        return None
    labels = [p.strip() for p in text.split(",") if p.strip()]
    return ", ".join(_animal(req, label, "donors").label for label in labels) or None


def record_thaw(user: User, request_id: int, cryo_id: int, *, thawed_on=None, result=None, note=None) -> CryoThaw:
    req = _for_work(user, request_id, STATES_FOR["thaws"], "test thaws")
    session = _record(req, "cryo", cryo_id)
    if session.voided:
        raise Conflict(f"Cryopreservation {session.id} is voided: a thaw cannot be recorded against it.")
    thaw = CryoThaw(
        request_id=req.id,
        cryo=session,
        thawed_on=_date(thawed_on, "thawed_on"),
        result=_choice(result, "result", ("pass", "fail")),
        note=_text(note, "note", 2000, required=False),
        recorded_by_id=user.id,
    )
    db.session.add(thaw)
    db.session.flush()
    _check_stock(req)
    db.session.commit()
    return thaw


def stock(req: ConversionRequest, records: dict | None = None) -> dict[str, dict[str, int]]:
    """{material: {stored, thawed, shipped, left}} from the records in force: `left` is what is
    stored and not yet shipped (the contract's limit for a shipment), `thawed` the samples used
    by test thaws; live animals are the deleter-negative carriers of the product, alive.
    `records`: the request's record JSON already read (read_records), voided ones included."""
    live = req.deliverable.value == "live_animals"
    if records is None:
        db.session.flush()  # a write path's pending changes count
        records = read_records(req.id, ("cryo", "shipments", "animals") if live else ("cryo", "shipments"))
    out: dict[str, dict[str, int]] = {}

    def entry(material: str) -> dict[str, int]:
        return out.setdefault(material, {"stored": 0, "thawed": 0, "shipped": 0, "left": 0})

    for c in records["cryo"]:
        if not c["voided"]:
            entry(c["material"])["stored"] += c["count"]
            entry(c["material"])["thawed"] += sum(1 for t in c["thaws"] if not t["voided"])
    if live:
        entry("live_animals")["stored"] = sum(
            1
            for a in records["animals"]
            if not a["voided"]
            and a["allele"] == req.product_class
            and a["deleter_transgene"] == "negative"
            and a["fate"] in ("alive", "shipped")
        )
    for s in records["shipments"]:
        if not s["voided"]:
            entry(s["material"])["shipped"] += s["quantity"]
    for e in out.values():
        e["left"] = e["stored"] - e["shipped"]
    return out


def _check_stock(req: ConversionRequest) -> None:
    """Invalid when a change leaves less than nothing of some material."""
    for material, entry in stock(req).items():
        if entry["left"] < 0 or entry["thawed"] > entry["stored"]:
            db.session.rollback()
            raise Invalid(
                f"Not enough {material.replace('_', ' ')} in stock: {entry['stored']} stored, "
                f"{entry['thawed']} thawed, {entry['shipped']} shipped."
            )


def record_shipment(
    user: User, request_id: int, *, courier=None, tracking=None, shipped_on=None, material=None, quantity=None
) -> Shipment:
    req = _for_work(user, request_id, STATES_FOR["shipments"], "shipments")
    row = Shipment(
        request_id=req.id,
        courier=_text(courier, "courier", 100),
        tracking=_text(tracking, "tracking", 100),
        shipped_on=_date(shipped_on, "shipped_on"),
        material=_choice(material, "material", SHIPMENT_MATERIALS),
        quantity=_int(quantity, "quantity", 1, 10000),
        recorded_by_id=user.id,
    )
    entry = stock(req).get(row.material)
    if entry is None or entry["left"] < row.quantity:
        have = entry["left"] if entry else 0
        raise Invalid(
            f"Only {have} {row.material.replace('_', ' ')} stored and not yet shipped: "
            f"{row.quantity} cannot be shipped."
        )
    db.session.add(row)
    db.session.commit()
    return row


def stock_in_force(req: ConversionRequest) -> tuple[str, int] | None:
    """stock_asked receiver: (material, count) of the frozen stock in force, for the strain the
    finished conversion becomes (the material with the most units when both were frozen)."""
    frozen = {m: e["stored"] for m, e in stock(req).items() if m in ("sperm", "embryos") and e["stored"]}
    if not frozen:
        return None
    material = max(sorted(frozen), key=frozen.__getitem__)
    return material, frozen[material]


# ---- corrections and voids -------------------------------------------------------------
def _animal_fields(req, row) -> dict:
    return {
        "label": lambda v: {"label": _text(v, "label", 60)},
        "born_on": lambda v: {"born_on": _date(v, "born_on", required=False)},
        "sex": lambda v: {"sex": _sex(v)},
        "allele": lambda v: {"allele": _choice(v, "allele", _alleles_of(req))},
        "deleter_transgene": lambda v: {"deleter_transgene": _transgene(v, required=False)},
        "fate": lambda v: {"fate": _choice(v, "fate", FATES)},
        "mating": lambda v: {"mating": _mating(req, v)},
    }


def _mating_fields(req, row) -> dict:
    return {
        "set_up_on": lambda v: {"set_up_on": _date(v, "set_up_on")},
        "generation": lambda v: {"generation": _int(v, "generation", 1, 20)},
        "dam": lambda v: {"dam": _parent(req, v, "dam", "female")},
        "sire": lambda v: {"sire": _parent(req, v, "sire", "male")},
        "successful": lambda v: {"successful": _bool(v, "successful")},
        "deleter": lambda v: {"deleter": _find_deleter(req, _text(v, "deleter", 300))},
    }


def _litter_fields(req, row) -> dict:
    return {
        "born_on": lambda v: {"born_on": _date(v, "born_on", required=False)},
        "weaned_on": lambda v: {"weaned_on": _date(v, "weaned_on", required=False)},
        "pups_born": lambda v: {"pups_born": _int(v, "pups_born", 0, 50, required=False)},
        "pups_weaned": lambda v: {"pups_weaned": _int(v, "pups_weaned", 0, 50, required=False)},
        "genotyped_on": lambda v: {"genotyped_on": _date(v, "genotyped_on", required=False)},
    }


def _check_litter(row: Litter) -> None:
    """A corrected litter still adds up: no more weaned than born, weaned after birth, and no
    fewer born than its pups recorded (and not voided)."""
    if row.pups_born is not None and row.pups_weaned is not None and row.pups_weaned > row.pups_born:
        raise Invalid(f"More pups weaned ({row.pups_weaned}) than born ({row.pups_born}).")
    if row.born_on and row.weaned_on and row.weaned_on < row.born_on:
        raise Invalid("weaned_on is before born_on.")
    if row.pups_born is not None:
        with db.session.no_autoflush:
            pups = db.session.scalar(
                select(func.count(Animal.id)).where(Animal.litter_id == row.id, Animal.voided_at.is_(None))
            )
        if pups and row.pups_born < pups:
            raise Invalid(
                f"pups_born: {pups} pups of this litter are recorded; it cannot have {row.pups_born} born "
                "(void the pups recorded by mistake first)."
            )


def _thaw_fields(req, row) -> dict:
    return {
        "thawed_on": lambda v: {"thawed_on": _date(v, "thawed_on")},
        "result": lambda v: {"result": _choice(v, "result", ("pass", "fail"))},
        "note": lambda v: {"note": _text(v, "note", 2000, required=False)},
    }


def _qc_fields(req, row) -> dict:
    from ..alleles import normalize_assay

    def assay(v):
        try:
            return {"assay": normalize_assay(_text(v, "assay", 30))}
        except ValueError as exc:
            raise Invalid(str(exc)) from None

    def animal(v):
        tested = _animal(req, v, "animal", required=False)
        return {"animal": tested, "animal_label": tested.label if tested else None}

    return {
        "assay": assay,
        "result": lambda v: {"result": _choice(v, "result", ("pass", "fail"))},
        "animal": animal,
        "note": lambda v: {"note": _text(v, "note", 2000, required=False)},
    }


def _cryo_fields(req, row) -> dict:
    return {
        "material": lambda v: {"material": _choice(v, "material", MATERIALS)},
        "count": lambda v: {"count": _int(v, "count", 1, 10000)},
        "location": lambda v: {"location": _text(v, "location", 200)},
        "frozen_on": lambda v: {"frozen_on": _date(v, "frozen_on", required=False)},
        "donors": lambda v: {"donors": _donors(req, v)},
    }


def _shipment_fields(req, row) -> dict:
    return {
        "courier": lambda v: {"courier": _text(v, "courier", 100)},
        "tracking": lambda v: {"tracking": _text(v, "tracking", 100)},
        "shipped_on": lambda v: {"shipped_on": _date(v, "shipped_on")},
        "material": lambda v: {"material": _choice(v, "material", SHIPMENT_MATERIALS)},
        "quantity": lambda v: {"quantity": _int(v, "quantity", 1, 10000)},
    }


FIELDS: dict[str, Callable[[ConversionRequest | None, Any], dict]] = {
    "animals": _animal_fields,
    "matings": _mating_fields,
    "litters": _litter_fields,
    "qc": _qc_fields,
    "cryo": _cryo_fields,
    "thaws": _thaw_fields,
    "shipments": _shipment_fields,
}


def correctable(kind: str) -> list[str]:
    return list(FIELDS[kind](None, None)) if kind in FIELDS else []


def _reason(reason) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid("A reason is required: say why the record is corrected or voided.")
    if len(reason) > 2000:
        raise Invalid("reason is longer than 2000 characters.")
    return reason.strip()


def _check_version(row: LabRecord, version) -> None:
    if version in (None, ""):
        return
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int):
        raise Invalid("version must be the record's version number, as last read.")
    if version != row.version:
        raise Conflict(
            f"This {row.KIND} record was changed by someone else since you read it (version "
            f"{version}, now {row.version}): reload it and make your change again."
        )


def correct(
    user: User, request_id: int, kind: str, record_id: int, changes: dict, *, reason=None, version=None
) -> dict:
    """Change fields of a record, keeping the old values, who, when and why."""
    req = _for_work(user, request_id, None, "corrections")
    row = _record(req, kind, record_id)
    reason = _reason(reason)
    _check_version(row, version)
    if row.voided:
        raise Conflict(f"This {kind} record is voided: it cannot be corrected.")
    fields = FIELDS[kind](req, row)
    if not isinstance(changes, dict) or not changes:
        raise Invalid(f"Give the fields to change: {', '.join(fields)}.")
    unknown = sorted(set(changes) - set(fields))
    if unknown:
        raise Invalid(f"{', '.join(unknown)} cannot be corrected; these can: {', '.join(fields)}.")
    new_values = {}
    for name, value in changes.items():
        new_values.update(fields[name](value))
    before = row.to_dict()
    if isinstance(row, Animal) and "label" in new_values and new_values["label"] != row.label:
        _check_labels(req, [new_values["label"]], lambda i: "")
    for attr, value in new_values.items():
        setattr(row, attr, value)
    if isinstance(row, Litter):
        try:
            _check_litter(row)
        except Invalid:
            db.session.rollback()
            raise
    db.session.flush()
    after = row.to_dict()
    diff = {name: [before.get(name), after.get(name)] for name in changes if before.get(name) != after.get(name)}
    if not diff:
        db.session.rollback()
        raise Invalid("Nothing changed: the record already has these values.")
    _check_stock(req)
    db.session.add(
        LabCorrection(request_id=req.id, kind=kind, record_id=row.id, by_id=user.id, reason=reason, changes=diff)
    )
    _commit()
    return record_json(row)


def void(user: User, request_id: int, kind: str, record_id: int, *, reason=None, version=None) -> dict:
    """Mark a record void with a reason: it stays, shown struck through, and counts nowhere."""
    req = _for_work(user, request_id, None, "voids")
    row = _record(req, kind, record_id)
    reason = _reason(reason)
    _check_version(row, version)
    if row.voided:
        raise Conflict(f"This {kind} record is already voided.")
    row.voided_at, row.voided_by_id, row.void_reason = utcnow(), user.id, reason
    db.session.flush()
    _check_stock(req)
    _commit()
    return record_json(row)


def corrections_of(request_id: int) -> dict[tuple[str, int], list[dict]]:
    out: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for c in db.session.scalars(
        select(LabCorrection)
        .where(LabCorrection.request_id == request_id)
        .options(joinedload(LabCorrection.by))
        .order_by(LabCorrection.id)
    ):
        out[(c.kind, c.record_id)].append(c.to_dict())
    return out


def record_json(row: LabRecord, corrections: dict | None = None) -> dict:
    """A record's JSON with its corrections (and, voided, who voided it)."""
    if corrections is None:
        corrections = corrections_of(row.request_id)
    out = row.to_dict()
    out["corrections"] = corrections.get((row.KIND, row.id), [])
    # litters and test thaws are records of their own, shown within their mating or session
    if isinstance(row, Mating):
        out["litters"] = [record_json(lt, corrections) for lt in row.litters]
    elif isinstance(row, Cryopreservation):
        out["thaws"] = [record_json(t, corrections) for t in row.thaws]
    if row.voided and row.voided_by_id:
        by = db.session.get(User, row.voided_by_id)
        out["void"]["by"] = by.email if by else None
    return out


# ---- reading ------------------------------------------------------------------------
def _rows(model, req_id: int, *options) -> list:
    return list(
        db.session.scalars(
            select(model).where(model.request_id == req_id).options(*options).order_by(model.id)
        ).unique()
    )


# The states each kind read by lab_records is recorded in (a mating's litters come with it, a
# session's thaws with it: a litter needs a mating, a thaw a session).
READ_KINDS = ("matings", "animals", "qc", "cryo", "shipments")
_RECORDED_IN = {kind: frozenset(STATES_FOR[kind]) for kind in READ_KINDS}


def _reachable_before() -> dict[str, frozenset[str]]:
    """{state: the states a request in it can have been in}, from the lifecycle's transitions
    (holds and cancellations aside: a held request is read by its held state; a cancelled one
    may have been anywhere)."""
    came_from: dict[str, set[str]] = defaultdict(set)
    for trigger, event in machine.events.items():
        if trigger in ("hold", "resume", "cancel"):
            continue
        for source, transitions in event.transitions.items():
            for t in transitions:
                came_from[str(t.dest)].add(source)
    out = {}
    for state in STATES:
        seen, todo = {state}, [state]
        while todo:
            for before in came_from[todo.pop()] - seen:
                seen.add(before)
                todo.append(before)
        out[state] = frozenset(seen)
    out["cancelled"] = out["on_hold"] = frozenset(STATES)
    return out


REACHABLE_BEFORE = _reachable_before()


def kinds_recorded(req) -> tuple[str, ...]:
    """The kinds of READ_KINDS the request can have records of: those recorded in a state the
    lifecycle can have taken it through (a held request: by its held state; a cancelled one: any).
    A request still before rederivation, or rejected, has none (lab_records reads the paperwork)."""
    state = req.held_status if req.status == "on_hold" else req.status
    reached = REACHABLE_BEFORE.get(state or "", frozenset(STATES))
    return tuple(kind for kind in READ_KINDS if not _RECORDED_IN[kind].isdisjoint(reached))


def lab_records(req: ConversionRequest, user: User | None = None, rows: list | None = None) -> dict:
    """Every record of the request, voided ones included (marked), with their corrections, and
    the stock. A requester sees the shipments only (courier, tracking: never storage positions).
    Only the kinds the request's states can have are read (kinds_recorded): the others are empty.
    `rows`: ALL_RECORDS' rows of the request, already read (the API detail)."""
    kinds = kinds_recorded(req)
    requester = user is not None and user.role is Role.requester
    if requester:
        shipments = read_records(req.id, ("shipments",), rows)["shipments"] if "shipments" in kinds else []
        return {"shipments": [{k: s[k] for k in PUBLIC_SHIPMENT} for s in shipments if not s["voided"]]}
    records = read_records(req.id, ("paperwork", *kinds), rows)
    for kind in READ_KINDS:
        records.setdefault(kind, [])
    records["stock"] = stock(req, records)
    return records


PUBLIC_SHIPMENT = ("id", "courier", "tracking", "shipped_on", "material", "quantity")


# What lab_records reads: ONE Core statement per set of kinds, built once per process and run on the
# session's connection. Each kind is one arm of a UNION ALL over a common set of columns ("slots":
# the columns every record has, then integers, dates, texts and a flag, each kind's fields in the
# slots of their type); the rows come ordered by kind and id and each is read back under its own
# attribute names and shaped by the same *_json function as the model's to_dict. Six statements
# (one per kind, with all of each table's columns) cost twice the CPU (1.2 -> 0.6 ms per request at
# 50,000 requests, issue 20): psycopg and SQLAlchemy spend more per statement and per result column
# than PostgreSQL does on these index reads.
_SLOT_TYPES: dict[str, Any] = {
    "id": Integer(),
    "version": Integer(),
    "recorded_at": UTCDateTime(),
    "voided_at": UTCDateTime(),
    "void_reason": Text(),
    "void_by": String(),
    "parent": Integer(),
    **{f"i{n}": Integer() for n in range(1, 5)},
    **{f"d{n}": Date() for n in range(1, 4)},
    **{f"s{n}": Text() for n in range(1, 8)},
    "b1": Boolean(),
}
_SLOTS = tuple(_SLOT_TYPES)


def _slot_prefix(expr) -> str:
    kind = expr.type
    if isinstance(kind, Boolean):
        return "b"
    if isinstance(kind, Integer):
        return "i"
    if isinstance(kind, Date):
        return "d"
    assert isinstance(kind, String), expr  # Text is a String
    return "s"


class _Arm:
    """One kind's arm of the union: its SELECT over the slots, and where each attribute is in a row."""

    def __init__(self, number: int, kind: str, model, fields: dict, *, common: dict | None = None, joins=()):
        self.kind, self.number = kind, number
        if common is None:  # a correctable record (LabRecord)
            common = {
                "id": model.id,
                "version": model.version,
                "recorded_at": model.recorded_at,
                "voided_at": model.voided_at,
                "void_reason": model.void_reason,
                "void_by": by_key(User.email, User.id, model.voided_by_id),
            }
        exprs: dict[str, Any] = dict(common)
        slots: dict[str, str] = {name: name for name in common}  # attribute -> slot
        used: dict[str, int] = defaultdict(int)
        for attr, expr in fields.items():
            if attr in ("mating_id", "cryo_id") and kind in ("litters", "thaws"):
                exprs["parent"], slots[attr], slots["parent"] = expr, "parent", "parent"
                continue
            prefix = _slot_prefix(expr)
            used[prefix] += 1
            slot = f"{prefix}{used[prefix]}"
            assert slot in _SLOT_TYPES, (kind, slot)
            exprs[slot], slots[attr] = expr, slot
        stmt = select(*slot_columns("kind", number, _SLOT_TYPES, exprs)).select_from(model)
        for target, on in joins:
            stmt = stmt.outerjoin(target, on)
        self.stmt = stmt.where(model.request_id == bindparam("request_id"))
        self.index = {attr: _SLOTS.index(slot) + 1 for attr, slot in slots.items()}  # +1: "kind" first

    def view(self, row) -> SimpleNamespace:
        """The row under the kind's attribute names (what the *_json functions read)."""
        return SimpleNamespace(**{attr: row[i] for attr, i in self.index.items()})


def _fields(model, *names: str) -> dict:
    return {name: getattr(model, name) for name in names}


_dam, _sire, _qc_animal, _animal_mating = aliased(Animal), aliased(Animal), aliased(Animal), aliased(Mating)
_ARMS: dict[str, _Arm] = {
    arm.kind: arm
    for arm in (
        _Arm(
            0,
            "paperwork",
            Paperwork,
            _fields(Paperwork, "mta_signed_on", "po_reference", "paid_on"),
            common={"id": Paperwork.request_id},
        ),
        _Arm(
            1,
            "matings",
            Mating,
            {
                **_fields(Mating, "number", "step", "generation", "method", "set_up_on", "dam_text", "sire_text"),
                "successful": Mating.successful,
                "deleter_name": DeleterStrain.name,
                "deleter_emma_id": DeleterStrain.emma_id,
                "dam_label": _dam.label,
                "sire_label": _sire.label,
            },
            joins=(
                (DeleterStrain, DeleterStrain.id == Mating.deleter_id),
                (_dam, _dam.id == Mating.dam_id),
                (_sire, _sire.id == Mating.sire_id),
            ),
        ),
        _Arm(
            2,
            "litters",
            Litter,
            _fields(Litter, "mating_id", "born_on", "weaned_on", "pups_born", "pups_weaned", "genotyped_on"),
        ),
        _Arm(
            3,
            "animals",
            Animal,
            {
                **_fields(
                    Animal,
                    "label",
                    "step",
                    "stage",
                    "born_on",
                    "sex",
                    "allele",
                    "deleter_transgene",
                    "mating_id",
                    "litter_id",
                    "fate",
                ),
                "mating_number": _animal_mating.number,
            },
            joins=((_animal_mating, _animal_mating.id == Animal.mating_id),),
        ),
        _Arm(
            4,
            "qc",
            QcResult,
            {
                **_fields(QcResult, "step", "assay", "result", "animal_id", "animal_label", "note"),
                "animal_now": _qc_animal.label,
            },
            joins=((_qc_animal, _qc_animal.id == QcResult.animal_id),),
        ),
        _Arm(
            5,
            "cryo",
            Cryopreservation,
            _fields(Cryopreservation, "material", "count", "location", "frozen_on", "donors"),
        ),
        _Arm(6, "thaws", CryoThaw, _fields(CryoThaw, "cryo_id", "thawed_on", "result", "note")),
        _Arm(7, "shipments", Shipment, _fields(Shipment, "courier", "tracking", "shipped_on", "material", "quantity")),
    )
}
_BY_NUMBER = {arm.number: arm for arm in _ARMS.values()}
_PARTS = {"matings": ("litters",), "cryo": ("thaws",)}  # read with their record
_CORRECTIONS = Read(
    select(LabCorrection.kind, LabCorrection.record_id, LabCorrection.at, LabCorrection.reason, LabCorrection.changes)
    .add_columns(User.email.label("by"))
    .join(User, User.id == LabCorrection.by_id)
    .where(LabCorrection.request_id == bindparam("request_id"))
    .order_by(LabCorrection.id)
)
_UNIONS: dict[tuple[str, ...], Read] = {}


def _arm_names(kinds: tuple[str, ...]) -> list[str]:
    return [name for kind in kinds for name in (kind, *_PARTS.get(kind, ()))]


def _records_union(kinds: tuple[str, ...]):
    arms = [_ARMS[name].stmt for name in _arm_names(kinds)]
    union = union_all(*arms) if len(arms) > 1 else arms[0]
    return union.order_by(literal_column("kind"), literal_column("id"))


def _records_statement(kinds: tuple[str, ...]) -> Read:
    stmt = _UNIONS.get(kinds)
    if stmt is None:
        stmt = _UNIONS[kinds] = Read(_records_union(kinds))
    return stmt


# Every record of a request (parameter `request_id`), for the API detail's one statement
# (requests.hooks.add_detail_extra): lab_records keeps the kinds it would have read.
ALL_RECORDS = _records_union(("paperwork", *READ_KINDS))


_PAPERWORK_READ = "lab.paperwork_read"  # session.info: {request id: paperwork row or None} read_records read


@orm_events.listens_for(Session, "after_flush")
@orm_events.listens_for(Session, "after_commit")
@orm_events.listens_for(Session, "after_soft_rollback")
def _forget_paperwork_read(session, *args) -> None:
    """A write (or another transaction's view) may change the paperwork: read it again."""
    session.info.pop(_PAPERWORK_READ, None)


def read_records(request_id: int, kinds: tuple[str, ...], rows: list | None = None) -> dict:
    """{kind: [record JSON]} of one request for the kinds asked (paperwork: its JSON or None), in
    one statement (_records_statement), or from `rows` of ALL_RECORDS already read. The corrections
    are read only when a record was corrected or voided: both raise its version."""
    if rows is None:
        rows = _records_statement(kinds).all({"request_id": request_id})
    else:
        wanted = {_ARMS[name].number for name in _arm_names(kinds)}
        rows = [row for row in rows if row[0] in wanted]
    found: dict[str, list[SimpleNamespace]] = defaultdict(list)
    for row in rows:
        arm = _BY_NUMBER[row[0]]
        found[arm.kind].append(arm.view(row))
    out: dict[str, Any] = {}
    if "paperwork" in kinds:
        paper = found.pop("paperwork", None)
        out["paperwork"] = paperwork_json(paper[0]) if paper else None
        # what the guards ask next on the request page (Facts.missing_paperwork), until a write;
        # a request with no Session (the API detail's: only Reads) asks no guard
        if db.session.registry.has():
            db.session.info.setdefault(_PAPERWORK_READ, {})[request_id] = paper[0] if paper else None
    corrections: dict[tuple[str, int], list[dict]] = defaultdict(list)
    if any((r.version or 1) > 1 for rows in found.values() for r in rows):
        for c in _CORRECTIONS.all({"request_id": request_id}):
            corrections[(c.kind, c.record_id)].append(
                {"at": iso_utc(c.at), "by": c.by, "reason": c.reason, "changes": c.changes}
            )

    def record(kind: str, row, shaped: dict) -> dict:
        shaped["corrections"] = corrections.get((kind, row.id), [])
        if shaped["voided"] and row.void_by is not None:  # who voided it (users have an email)
            shaped["void"]["by"] = row.void_by
        return shaped

    def parts(kind: str, shape: Callable) -> dict[int, list[dict]]:
        """{record id: [its parts' JSON]}, in id order (a mating's litters, a session's thaws)."""
        of: dict[int, list[dict]] = defaultdict(list)
        for part in found[kind]:
            of[part.parent].append(record(kind, part, shape(part)))
        return of

    if "matings" in kinds:
        litters = parts("litters", litter_json)
        out["matings"] = [
            record(
                "matings",
                m,
                mating_json(
                    m,
                    deleter_label(m.deleter_name, m.deleter_emma_id) if m.deleter_name else None,
                    m.dam_label,
                    m.sire_label,
                    litters.get(m.id, []),
                ),
            )
            for m in found["matings"]
        ]
    if "animals" in kinds:
        out["animals"] = [record("animals", a, animal_json(a, a.mating_number)) for a in found["animals"]]
    if "qc" in kinds:
        out["qc"] = [record("qc", q, qc_json(q, q.animal_now)) for q in found["qc"]]
    if "cryo" in kinds:
        thaws = parts("thaws", thaw_json)
        out["cryo"] = [record("cryo", c, cryo_json(c, thaws.get(c.id, []))) for c in found["cryo"]]
    if "shipments" in kinds:
        out["shipments"] = [record("shipments", s, shipment_json(s)) for s in found["shipments"]]
    return out


@dataclass
class InForce:
    """The records documents are built from: none voided, each once."""

    matings: list[Mating] = field(default_factory=list)
    qc: list[QcResult] = field(default_factory=list)  # passing assays of recorded, not voided animals
    cryo: list[Cryopreservation] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    tat_cre_used: bool = False


def records_in_force(req: ConversionRequest) -> InForce:
    matings = [m for m in _rows(Mating, req.id, selectinload(Mating.deleter)) if not m.voided]
    qc = db.session.scalars(
        select(QcResult)
        .join(Animal, QcResult.animal_id == Animal.id)
        .where(
            QcResult.request_id == req.id,
            QcResult.result == "pass",
            QcResult.voided_at.is_(None),
            Animal.voided_at.is_(None),
        )
        .options(selectinload(QcResult.animal))
        .order_by(QcResult.step, QcResult.id)
    ).all()
    cryo = [c for c in _rows(Cryopreservation, req.id, selectinload(Cryopreservation.thaws)) if not c.voided]
    shipments = [s for s in _rows(Shipment, req.id) if not s.voided]
    return InForce(
        matings, list(qc), cryo, shipments, bool(req.use_tat_cre) or any(m.method == "tat_cre" for m in matings)
    )


# ---- the facts the lifecycle's guards read (registered with requests in init_app) ------------
# The guard facts' statements, built once (each was built and run through the ORM on every call:
# a page asks several). `_fact` runs one as the session's own query would: its pending changes
# flushed first (unless autoflush is off), then on its connection.
_RID: Any = bindparam("request_id")
_SOURCE_FOUNDER = Read(
    select(Animal.id)
    .where(Animal.request_id == _RID, Animal.allele == bindparam("allele"), Animal.voided_at.is_(None))
    .limit(1)
)
_STEP_PRODUCT_ANIMAL = Read(
    select(Animal.id)
    .where(
        Animal.request_id == _RID,
        Animal.allele == bindparam("allele"),
        Animal.deleter_transgene == "negative",
        Animal.voided_at.is_(None),
    )
    .limit(1)
)
_STEP_MATINGS = Read(
    select(Mating.successful).where(
        Mating.request_id == _RID, Mating.step == bindparam("step"), Mating.voided_at.is_(None)
    )
)
_PASSING_ASSAYS = Read(
    select(func.count(QcResult.id).label("count"))
    .outerjoin(Animal, QcResult.animal_id == Animal.id)
    .where(
        QcResult.request_id == _RID,
        QcResult.step == bindparam("step"),
        QcResult.result == "pass",
        QcResult.voided_at.is_(None),
        Animal.voided_at.is_(None),
    )
)
_FAILED_THREE_PRIME_LOXP = Read(
    select(QcResult.id)
    .where(
        QcResult.request_id == _RID,
        QcResult.assay == "3' loxP PCR",
        QcResult.result == "fail",
        QcResult.voided_at.is_(None),
    )
    .limit(1)
)
_SHIPMENT_IN_FORCE = Read(select(Shipment.id).where(Shipment.request_id == _RID, Shipment.voided_at.is_(None)).limit(1))


_SESSIONS_IN_FORCE = (Cryopreservation.request_id == _RID, Cryopreservation.voided_at.is_(None))
_CRYO_IN_FORCE = Read(  # the request's sessions in force, and their passing thaws in force
    select(
        select(func.count(Cryopreservation.id)).where(*_SESSIONS_IN_FORCE).scalar_subquery().label("sessions"),
        select(func.count(CryoThaw.id))
        .join(Cryopreservation, Cryopreservation.id == CryoThaw.cryo_id)
        .where(*_SESSIONS_IN_FORCE, CryoThaw.voided_at.is_(None), CryoThaw.result == "pass")
        .scalar_subquery()
        .label("passing_thaws"),
    )
)


def _fact(read: Read, **params) -> list:
    session = db.session()
    if session.autoflush:
        session.flush()
    return read.all(params)


class GuardFacts:
    """Answers ConversionRequest's guard questions from the records in force."""

    @staticmethod
    def missing_paperwork(req: ConversionRequest) -> list[str]:
        read = db.session.info.get(_PAPERWORK_READ)
        paper = read[req.id] if read and req.id in read else db.session.get(Paperwork, req.id)
        missing = []
        if paper is None or paper.mta_signed_on is None:
            missing.append("MTA signature date")
        if paper is None or not (paper.po_reference or paper.paid_on):
            missing.append("purchase order reference or payment date")
        return missing

    @staticmethod
    def has_source_founder(req: ConversionRequest) -> bool:
        return bool(_fact(_SOURCE_FOUNDER, request_id=req.id, allele=req.source_class))

    @staticmethod
    def has_step_product_animal(req: ConversionRequest) -> bool:
        return bool(_fact(_STEP_PRODUCT_ANIMAL, request_id=req.id, allele=req.step_product_label))

    @staticmethod
    def step_matings_unsuccessful(req: ConversionRequest) -> bool:
        judged = [row.successful for row in _fact(_STEP_MATINGS, request_id=req.id, step=req.current_step)]
        return bool(judged) and all(ok is False for ok in judged)

    @staticmethod
    def passing_assays_in_step(req: ConversionRequest) -> int:
        return _fact(_PASSING_ASSAYS, request_id=req.id, step=req.current_step)[0].count

    @staticmethod
    def failed_three_prime_loxp(req: ConversionRequest) -> bool:
        return bool(_fact(_FAILED_THREE_PRIME_LOXP, request_id=req.id))

    @staticmethod
    def cryo_problem(req: ConversionRequest) -> str | None:
        found = _fact(_CRYO_IN_FORCE, request_id=req.id)[0]
        if not found.sessions:
            return "No cryopreserved material has been recorded yet"
        if not found.passing_thaws:
            return "No passing test thaw recorded: thaw one sample and record the result against its session"
        return None

    @staticmethod
    def shipment_problem(req: ConversionRequest) -> str | None:
        if not _fact(_SHIPMENT_IN_FORCE, request_id=req.id):
            return "No shipment recorded: record the courier, tracking number and what was sent"
        return None
