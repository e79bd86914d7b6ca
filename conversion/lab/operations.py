"""Recording lab work on a request: paperwork, matings, animals, QC, cryopreservation.

Only staff of the assigned node record lab work (coordinators may record paperwork too);
each record is accepted only in the states where that work happens."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..accounts.models import Role, User
from ..catalogue.models import DeleterStrain
from ..errors import Conflict, Forbidden, Invalid
from ..extensions import db, utctoday
from ..requests.models import ConversionRequest
from ..requests.operations import get_request
from .models import Animal, Cryopreservation, Mating, Paperwork, QcResult

ANIMAL_ALLELES = ("tm1a", "tm1b", "tm1c", "tm1d", "tm1e", "tm1e.1", "tm1", "tm1.1", "tm1.2", "wt")


def _for_work(user: User, request_id: int, states: tuple[str, ...], what: str,
              coordinators: bool = False) -> ConversionRequest:
    req = get_request(user, request_id, for_update=True)
    is_node_staff = user.role is Role.staff and req.node_id == user.node_id
    if not (is_node_staff or (coordinators and user.role is Role.coordinator)):
        raise Forbidden(f"Only staff of the assigned node record {what}.")
    if req.status not in states:
        raise Conflict(f"{what.capitalize()} cannot be recorded while the request is {req.status} "
                       f"(only in: {', '.join(states)}).")
    return req


def _date(value, field: str, required: bool = True) -> date | None:
    if value in (None, ""):
        if required:
            raise Invalid(f"{field} is required (YYYY-MM-DD).")
        return None
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(str(value))
        except ValueError:
            raise Invalid(f"{field} must be a date as YYYY-MM-DD, not {value!r}.") from None
    if parsed > utctoday():
        raise Invalid(f"{field} cannot be in the future.")
    if parsed.year < 1990:
        raise Invalid(f"{field} is implausibly early.")
    return parsed


def _text(value, field: str, max_len: int, required: bool = True) -> str | None:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise Invalid(f"{field} must be text.")
    if required and not text:
        raise Invalid(f"{field} is required.")
    if len(text) > max_len:
        raise Invalid(f"{field} is longer than {max_len} characters.")
    return text or None


def _choice(value, field: str, choices: tuple[str, ...], required: bool = True) -> str | None:
    if value in (None, "") and not required:
        return None
    text = str(value).strip().lower() if isinstance(value, str) else None
    match = next((c for c in choices if c.lower() == text), None)
    if match is None:
        raise Invalid(f"{field} must be one of {', '.join(choices)}.")
    return match


OPEN_FOR_PAPERWORK = ("submitted", "approved", "assigned", "accepted", "rederivation", "breeding",
                      "qc", "cryopreservation", "ready", "shipped", "on_hold")


def record_paperwork(user: User, request_id: int, *, mta_signed_on=None, po_reference=None,
                     paid_on=None) -> Paperwork:
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


def _find_deleter(req: ConversionRequest, text: str) -> DeleterStrain:
    wanted = text.strip()
    for deleter in req.node.deleters:
        if wanted.upper() == (deleter.emma_id or "").upper() or wanted == deleter.name:
            return deleter
    names = "; ".join(d.label() for d in req.node.deleters)
    raise Invalid(f"{req.node.code} has no deleter strain {wanted!r}. Its deleters: {names}.")


def record_mating(user: User, request_id: int, *, deleter=None, set_up_on=None, generation=None,
                  method: str = "deleter", dam=None, sire=None, litter_born_on=None,
                  pups_born=None, pups_weaned=None) -> Mating:
    req = _for_work(user, request_id, ("breeding",), "matings")
    method = _choice(method or "deleter", "method", ("deleter", "tat_cre"))
    needed = req.step_recombinase
    chosen = None
    if method == "tat_cre":
        if needed != "Cre":
            raise Invalid(f"TAT-Cre replaces Cre only; step {req.current_step} needs {needed}.")
    else:
        chosen = _find_deleter(req, _text(deleter, "deleter", 300))
        if chosen.recombinase.value != needed:
            raise Invalid(f"Step {req.current_step} ({req.step_source_label} → {req.step_product_label}) "
                          f"needs a {needed} deleter; {chosen.label()} carries {chosen.recombinase.value}.")
    if isinstance(generation, bool) or not isinstance(generation, int) or not 1 <= generation <= 20:
        raise Invalid("generation must be a whole number from 1 (first cross with the deleter).")
    counts = {}
    for field, value in (("pups_born", pups_born), ("pups_weaned", pups_weaned)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 50):
            raise Invalid(f"{field} must be a whole number from 0 to 50.")
        counts[field] = value
    if counts["pups_born"] is not None and counts["pups_weaned"] is not None and \
            counts["pups_weaned"] > counts["pups_born"]:
        raise Invalid("More pups weaned than born.")
    mating = Mating(
        request_id=req.id, step=req.current_step, generation=generation, method=method,
        deleter=chosen, set_up_on=_date(set_up_on, "set_up_on"),
        dam=_text(dam, "dam", 60, required=False), sire=_text(sire, "sire", 60, required=False),
        litter_born_on=_date(litter_born_on, "litter_born_on", required=False),
        recorded_by_id=user.id, **counts)
    db.session.add(mating)
    db.session.commit()
    return mating


def record_animals(user: User, request_id: int, animals: list[dict]) -> list[Animal]:
    """Record one or several pups at once (all or none)."""
    req = _for_work(user, request_id, ("rederivation", "breeding", "qc"), "animals")
    if not animals:
        raise Invalid("Give at least one animal.")
    if len(animals) > 100:
        raise Invalid("At most 100 animals at once.")
    rows = []
    for i, body in enumerate(animals, 1):
        where = f"animal {i}: " if len(animals) > 1 else ""
        try:
            label = _text(body.get("label"), "label", 60)
            born_on = _date(body.get("born_on"), "born_on", required=False)
            sex = _choice(body.get("sex"), "sex", ("male", "female", "unknown"))
            allele = _choice(body.get("allele"), "allele", ANIMAL_ALLELES)
            transgene = _choice(body.get("deleter_transgene"), "deleter_transgene",
                                ("positive", "negative"), required=req.status != "rederivation")
            mating_id = body.get("mating_id")
            if mating_id is not None and db.session.scalar(select(Mating.id).where(
                    Mating.id == mating_id, Mating.request_id == req.id)) is None:
                raise Invalid(f"mating {mating_id} is not a mating of this request.")
        except Invalid as exc:
            raise Invalid(where + exc.message) from None
        rows.append(Animal(request_id=req.id, step=req.current_step, stage=req.status, label=label,
                           born_on=born_on, sex=sex, allele=allele, deleter_transgene=transgene,
                           mating_id=mating_id, recorded_by_id=user.id))
    db.session.add_all(rows)
    db.session.commit()
    return rows


def record_qc(user: User, request_id: int, *, assay=None, result=None, animal_label=None,
              note=None) -> QcResult:
    from ..alleles import normalize_assay

    req = _for_work(user, request_id, ("breeding", "qc"), "QC results")
    try:
        name = normalize_assay(_text(assay, "assay", 30))
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    row = QcResult(request_id=req.id, step=req.current_step, assay=name,
                   result=_choice(result, "result", ("pass", "fail")),
                   animal_label=_text(animal_label, "animal_label", 60, required=False),
                   note=_text(note, "note", 2000, required=False), recorded_by_id=user.id)
    db.session.add(row)
    db.session.commit()
    return row


def record_cryo(user: User, request_id: int, *, material=None, count=None, location=None,
                test_thaw=None) -> Cryopreservation:
    req = _for_work(user, request_id, ("cryopreservation",), "cryopreservation")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10000:
        raise Invalid("count must be a whole number of at least 1.")
    row = Cryopreservation(
        request_id=req.id, material=_choice(material, "material", ("sperm", "embryos")), count=count,
        location=_text(location, "location", 200),
        test_thaw=_choice(test_thaw, "test_thaw", ("pass", "fail"), required=False),
        recorded_by_id=user.id)
    db.session.add(row)
    db.session.commit()
    return row


def lab_records(req: ConversionRequest) -> dict:
    def rows(model, *options):
        return [r.to_dict() for r in db.session.scalars(
            select(model).where(model.request_id == req.id).options(*options).order_by(model.id))]

    paper = db.session.get(Paperwork, req.id)
    return {"paperwork": paper.to_dict() if paper else None, "matings": rows(Mating, joinedload(Mating.deleter)),
            "animals": rows(Animal), "qc": rows(QcResult), "cryo": rows(Cryopreservation)}
