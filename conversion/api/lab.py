"""Lab records of a request: paperwork, matings and litters, animals (one, a batch, a CSV import),
QC, cryopreservation sessions and their test thaws, shipments; corrections and voids (litters and
test thaws too: kinds `litters` and `thaws`).

Every new record answers 201 with its JSON (with `id`); a correction (PATCH, `reason` required)
or a void answers 200 with the record and its `corrections`. Give `version` (as last read) to
have a correction refused (409) when a colleague changed the record meanwhile."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from ..lab import operations as lab
from ..lab.models import KINDS
from ..requests import operations as ops
from ..requests.serialize import request_detail
from . import error_responses, require_user
from .requests import RequestSchema

blp = Blueprint("api_lab", __name__, description="Lab records of a request (node staff)")

Str = ma.fields.String
Int = ma.fields.Integer
ERRORS = (401, 403, 404, 409, 422)


def _len(n: int):
    return ma.validate.Length(max=n)


def _opt(n: int):
    return Str(load_default=None, allow_none=True, validate=_len(n))


def _json(payload, status: int):
    resp = current_app.json.response(payload)
    resp.status_code = status
    return resp


def _errors(*codes):
    return error_responses(blp, *codes)


# ---- bodies --------------------------------------------------------------------------
class PaperworkSchema(ma.Schema):
    mta_signed_on = _opt(20)
    po_reference = _opt(100)
    paid_on = _opt(20)


class MatingSchema(ma.Schema):
    deleter = Str(
        load_default=None,
        allow_none=True,
        validate=_len(300),
        metadata={"description": "EMMA id or name of one of the node's deleter strains"},
    )
    method = Str(load_default="deleter", validate=ma.validate.OneOf(["deleter", "tat_cre"]))
    set_up_on = Str(required=True, validate=_len(20))
    generation = Int(required=True, strict=True)
    dam = _opt(60)
    sire = _opt(60)
    successful = ma.fields.Boolean(
        load_default=None,
        allow_none=True,
        metadata={"description": "the mating gave pups carrying the step's product; start_qc needs one"},
    )
    litter_born_on = _opt(20)
    pups_born = Int(load_default=None, allow_none=True, strict=True)
    pups_weaned = Int(load_default=None, allow_none=True, strict=True)


class AnimalSchema(ma.Schema):
    label = Str(required=True, validate=_len(60))
    born_on = _opt(20)
    sex = Str(required=True, validate=_len(10), metadata={"description": "male, female or unknown"})
    allele = Str(required=True, validate=_len(20), metadata={"description": "tm1a, tm1b, ... or wt"})
    deleter_transgene = _opt(10)
    mating = _opt(10)
    mating_id = Int(load_default=None, allow_none=True, strict=True)
    fate = _opt(20)


class AnimalsSchema(ma.Schema):
    animals = ma.fields.List(ma.fields.Nested(AnimalSchema), required=True)


class ImportSchema(ma.Schema):
    text = Str(
        required=True,
        validate=_len(200_000),
        metadata={"description": "CSV or pasted lines: label, sex, allele, deleter transgene[, born on[, mating]]"},
    )


class PupSchema(ma.Schema):
    label = Str(required=True, validate=_len(60))
    sex = Str(required=True, validate=_len(10))
    allele = Str(required=True, validate=_len(20))
    deleter_transgene = _opt(10)
    fate = _opt(20)


class LitterSchema(ma.Schema):
    mating = Str(required=True, validate=_len(10), metadata={"description": "M1, M2 ..."})
    born_on = _opt(20)
    weaned_on = _opt(20)
    genotyped_on = _opt(20)
    pups_born = Int(load_default=None, allow_none=True, strict=True)
    pups_weaned = Int(load_default=None, allow_none=True, strict=True)
    pups = ma.fields.List(ma.fields.Nested(PupSchema), required=True)


class QcSchema(ma.Schema):
    assay = Str(required=True, validate=_len(30))
    result = Str(required=True, validate=_len(10))
    animal = Str(
        load_default=None,
        allow_none=True,
        validate=_len(60),
        metadata={"description": "label of a recorded, not voided animal of the request"},
    )
    animal_label = _opt(60)
    note = _opt(2000)


class CryoSchema(ma.Schema):
    material = Str(required=True, validate=_len(10))
    count = Int(required=True, strict=True)
    location = Str(required=True, validate=_len(200))
    frozen_on = _opt(20)
    donors = _opt(300)
    test_thaw = _opt(10)


class ThawSchema(ma.Schema):
    thawed_on = Str(required=True, validate=_len(20))
    result = Str(required=True, validate=_len(10))
    note = _opt(2000)


class ShipmentSchema(ma.Schema):
    courier = Str(required=True, validate=_len(100))
    tracking = Str(required=True, validate=_len(100))
    shipped_on = Str(required=True, validate=_len(20))
    material = Str(required=True, validate=_len(20), metadata={"description": "sperm, embryos or live_animals"})
    quantity = Int(required=True, strict=True)


class CorrectionSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    reason = Str(
        load_default=None,
        allow_none=True,
        validate=_len(2000),
        metadata={"description": "Required: why the record is corrected"},
    )
    version = Int(
        load_default=None,
        allow_none=True,
        strict=True,
        metadata={"description": "The version you read; 409 when the record changed since"},
    )


class VoidSchema(ma.Schema):
    reason = Str(load_default=None, allow_none=True, validate=_len(2000))
    version = Int(load_default=None, allow_none=True, strict=True)


# ---- answers (documentation; the endpoints answer the records' own JSON) -----------------
class CorrectionOut(ma.Schema):
    at = Str()
    by = Str()
    reason = Str()
    changes = ma.fields.Dict(metadata={"description": '{"field": [old, new]}'})


class RecordOut(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    id = Int()
    version = Int()
    voided = ma.fields.Boolean()
    void = ma.fields.Dict(allow_none=True)
    recorded_at = Str()
    corrections = ma.fields.List(ma.fields.Nested(CorrectionOut))


class RecordList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RecordOut))


class ThawOut(RecordOut):
    """A test thaw: a record of its own (kind `thaws`), corrected or voided like any other."""

    cryo_id = Int()
    thawed_on = Str()
    result = Str(metadata={"description": "pass or fail"})
    note = Str(allow_none=True)


class LitterOut(RecordOut):
    """A litter: a record of its own (kind `litters`), corrected or voided like any other."""

    mating_id = Int()
    mating = Str(metadata={"description": "M1, M2 ..."})
    born_on = Str(allow_none=True)
    weaned_on = Str(allow_none=True)
    pups_born = Int(allow_none=True)
    pups_weaned = Int(allow_none=True)
    genotyped_on = Str(allow_none=True)
    pups = ma.fields.List(ma.fields.Nested(RecordOut))


# The kinds of record a correction or a void addresses (the URL's <kind>).
KIND_PARAMETER = {
    "in": "path",
    "name": "kind",
    "required": True,
    "description": "the kind of record",
    "schema": {"type": "string", "enum": list(KINDS)},
}


# ---- endpoints ------------------------------------------------------------------------------
@blp.route("/requests/<int:request_id>/paperwork", methods=["POST"])
@blp.arguments(PaperworkSchema)
@blp.response(200, RequestSchema)
@_errors(*ERRORS)
def paperwork(body, request_id):
    """Record the MTA signature date and the PO reference (or payment date)."""
    user = require_user()
    lab.record_paperwork(user, request_id, **body)
    return request_detail(ops.get_request(user, request_id, detail=True), user)


@blp.route("/requests/<int:request_id>/matings", methods=["POST"])
@blp.arguments(MatingSchema)
@blp.response(201, RecordOut)
@_errors(*ERRORS)
def matings(body, request_id):
    """Record a mating, numbered M1, M2 ... per request: a deleter strain (or `method` tat_cre),
    `dam` and `sire` as recorded animals' labels (left out: the node's deleter stock); litter
    fields record its first litter."""
    return _json(lab.record_json(lab.record_mating(require_user(), request_id, **body)), 201)


@blp.route("/requests/<int:request_id>/litters", methods=["POST"])
@blp.arguments(LitterSchema)
@blp.response(201, LitterOut)
@_errors(*ERRORS)
def litters(body, request_id):
    """Record a litter of a mating with its pups, one entry per pup (all or none)."""
    user = require_user()
    pups = body.pop("pups")
    litter, saved = lab.record_litter(user, request_id, pups=pups, **body)
    return _json(
        {**lab.record_json(litter, {}), "mating": litter.mating.label, "pups": [lab.record_json(a, {}) for a in saved]},
        201,
    )


@blp.route("/requests/<int:request_id>/animals", methods=["POST"])
@blp.arguments(AnimalSchema)
@blp.response(201, RecordOut)
@_errors(*ERRORS)
def animals(body, request_id):
    """Record one animal (founder or pup): its label is unique in the request (409 naming it)."""
    animal = lab.record_animals(require_user(), request_id, [body])[0]
    return _json(lab.record_json(animal, {}), 201)


@blp.route("/requests/<int:request_id>/animals/batch", methods=["POST"])
@blp.arguments(AnimalsSchema)
@blp.response(201, RecordList)
@_errors(*ERRORS)
def animals_batch(body, request_id):
    """Record several animals at once (all or none)."""
    saved = lab.record_animals(require_user(), request_id, body["animals"])
    return _json({"items": [lab.record_json(a, {}) for a in saved]}, 201)


@blp.route("/requests/<int:request_id>/animals/import", methods=["POST"])
@blp.arguments(ImportSchema)
@blp.response(201, RecordList)
@_errors(*ERRORS)
def animals_import(body, request_id):
    """Import genotyping results as CSV text; bad lines are named by number and nothing is saved."""
    saved = lab.import_genotypes(require_user(), request_id, body["text"])
    return _json({"items": [lab.record_json(a, {}) for a in saved]}, 201)


@blp.route("/requests/<int:request_id>/qc", methods=["POST"])
@blp.arguments(QcSchema)
@blp.response(201, RecordOut)
@_errors(*ERRORS)
def qc(body, request_id):
    """Record a QC assay result for the current step; `animal` names a recorded, not voided
    animal of the request (422 naming it otherwise)."""
    return _json(lab.record_json(lab.record_qc(require_user(), request_id, **body), {}), 201)


@blp.route("/requests/<int:request_id>/cryo", methods=["POST"])
@blp.arguments(CryoSchema)
@blp.response(201, RecordOut)
@_errors(*ERRORS)
def cryo(body, request_id):
    """Record a cryopreservation session (material, count, storage position, donors); `test_thaw`
    records a first test thaw of it today."""
    return _json(lab.record_json(lab.record_cryo(require_user(), request_id, **body), {}), 201)


@blp.route("/requests/<int:request_id>/cryo/<int:cryo_id>/thaws", methods=["POST"])
@blp.arguments(ThawSchema)
@blp.response(201, ThawOut)
@_errors(*ERRORS)
def thaws(body, request_id, cryo_id):
    """Record a test thaw of one sample of a session (`complete_cryopreservation` needs a passing one)."""
    return _json(lab.record_json(lab.record_thaw(require_user(), request_id, cryo_id, **body), {}), 201)


@blp.route("/requests/<int:request_id>/shipments", methods=["POST"])
@blp.arguments(ShipmentSchema)
@blp.response(201, RecordOut)
@_errors(*ERRORS)
def shipments(body, request_id):
    """Record a shipment, taken from the stock (422 when more than is stored and not yet
    shipped); `ship` needs one."""
    return _json(lab.record_json(lab.record_shipment(require_user(), request_id, **body), {}), 201)


@blp.route("/requests/<int:request_id>/<kind>/<int:record_id>", methods=["PATCH"])
@blp.doc(parameters=[KIND_PARAMETER])
@blp.arguments(CorrectionSchema)
@blp.response(200, RecordOut)
@_errors(*ERRORS)
def correct(body, request_id, kind, record_id):
    """Correct fields of a record (`kind`: animals, matings, litters, qc, cryo, thaws, shipments)
    with a `reason`: the old values, who, when and why are kept in `corrections`. Litters correct
    born_on, weaned_on, pups_born, pups_weaned, genotyped_on; test thaws thawed_on, result, note;
    a mating is marked successful with `{"successful": true}` (`start_qc` needs one)."""
    reason, version = body.pop("reason", None), body.pop("version", None)
    return _json(lab.correct(require_user(), request_id, kind, record_id, body, reason=reason, version=version), 200)


@blp.route("/requests/<int:request_id>/<kind>/<int:record_id>/void", methods=["POST"])
@blp.doc(parameters=[KIND_PARAMETER])
@blp.arguments(VoidSchema)
@blp.response(200, RecordOut)
@_errors(*ERRORS)
def void(body, request_id, kind, record_id):
    """Void a record (`kind`: animals, matings, litters, qc, cryo, thaws, shipments) with a `reason`:
    it stays, marked voided, and no guard, document or count uses it (a voided test thaw no longer
    lets `complete_cryopreservation` through, nor shows on the certificate)."""
    return _json(lab.void(require_user(), request_id, kind, record_id, **body), 200)
