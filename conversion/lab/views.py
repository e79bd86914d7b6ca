"""The lab workspace on the request page: records by stage of the plan with the forms that add
to them, corrections and voids; the POST endpoints those forms use.

Views never write to the database: they call lab.operations and flash what they answer; a
refusal shows the page again with the form's values and the reason."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from workflows.lifecycle import FINAL_STATES

from ..accounts.models import Role
from ..alleles import QC_ASSAYS
from ..catalogue.models import deleter_label
from ..errors import ApiError
from ..requests import operations as req_ops
from ..requests.models import ConversionRequest
from ..requests.views import field_error, render_request
from . import operations as lab
from .forms import (
    TABLE_ROWS,
    AnimalsForm,
    CorrectForm,
    CryoForm,
    ImportForm,
    MatingForm,
    PaperworkForm,
    QcForm,
    ShipmentForm,
    ThawForm,
    VoidForm,
    opts,
)
from .models import KINDS, SHIPMENT_MATERIALS
from .present import RecordRows, expected_qc, litter_rows, qc_flags

bp = Blueprint("lab", __name__)

# The form that unlocks each trigger (a disabled action's reason links to it).
FIXES = {
    "start_rederivation": "paperwork",
    "start_breeding": "animals",
    "start_qc": "animals",
    "pass_qc": "qc",
    "complete_cryopreservation": "cryo",
    "ship": "shipments",
}
# Which form is open first in each state.
FOCUS = {
    "accepted": "paperwork",
    "assigned": "paperwork",
    "rederivation": "animals",
    "breeding": "mating",
    "qc": "qc",
    "cryopreservation": "cryo",
    "ready": "shipments",
}


def _is_node_staff(req: ConversionRequest) -> bool:
    return current_user.is_staff_of(req.node_id)


def _forms(req: ConversionRequest, records: dict) -> dict:
    """The lab forms this user may use on this request now (empty dict: none)."""
    staff = _is_node_staff(req)
    forms = {}
    if req.status in lab.OPEN_FOR_PAPERWORK and (staff or current_user.role is Role.coordinator):
        forms["paperwork"] = PaperworkForm(prefix="paper")
    if not staff:
        return forms
    if req.status in lab.STATES_FOR["animals"]:
        forms["animals"] = AnimalsForm(prefix="animals")
        forms["import"] = ImportForm(prefix="import")
    if req.status in lab.STATES_FOR["matings"]:
        forms["mating"] = MatingForm(prefix="mating")
    if req.status in lab.STATES_FOR["qc"]:
        forms["qc"] = QcForm(prefix="qc")
    if req.status in lab.STATES_FOR["cryo"]:
        forms["cryo"] = CryoForm(prefix="cryo")
    if req.status in lab.STATES_FOR["thaws"] and any(not c["voided"] for c in records["cryo"]):
        forms["thaw"] = ThawForm(prefix="thaw")
    if req.status in lab.STATES_FOR["shipments"]:
        forms["shipment"] = ShipmentForm(prefix="ship")
    return forms


def _fill_choices(req: ConversionRequest, forms: dict, records: dict) -> None:
    animals = [a for a in records["animals"] if not a["voided"]]
    matings = [m for m in records["matings"] if not m["voided"]]
    if "mating" in forms:
        form = forms["mating"]
        needed = req.step_recombinase
        deleters = [
            (d.name, deleter_label(d.name, d.emma_id))
            for d in lab.deleters_for_step(req)
            if d.recombinase.value == needed
        ]
        choices = ([] if len(deleters) == 1 else [("", "Choose…")]) + deleters
        if needed == "Cre":
            choices.append(("tat_cre", "TAT-Cre protein on IVF embryos (no deleter)"))
        form.deleter.choices = opts(choices)
        stock = [("", f"From the {req.node.code} deleter stock")]
        form.dam.choices = opts(
            stock
            + [(a["label"], f"{a['label']} · {a['allele']}") for a in animals if a["sex"] in ("female", "unknown")]
        )
        form.sire.choices = opts(
            stock + [(a["label"], f"{a['label']} · {a['allele']}") for a in animals if a["sex"] in ("male", "unknown")]
        )
    if "animals" in forms:
        forms["animals"].mating.choices = opts(
            [("", "— none (founders) —" if req.status == "rederivation" else "— none —")]
            + [
                (m["number"], f"{m['number']} · generation {m['generation']} · set up {m['set_up_on']}")
                for m in matings
            ]
        )
    if "qc" in forms:
        # the plan's own assays first (they follow the serial: tm2b PCR), then the usual list
        planned = [a for step in expected_qc(req).values() for a in step]
        forms["qc"].assay.choices = opts((a, a) for a in dict.fromkeys(planned + list(QC_ASSAYS)))
        forms["qc"].animal.choices = opts(
            [("", "Choose the animal tested…")]
            + [
                (
                    a["label"],
                    f"{a['label']} · {a['allele']}{' · ' + a['deleter_transgene'] if a['deleter_transgene'] else ''}",
                )
                for a in reversed(animals)
            ]
        )
    if "thaw" in forms:
        forms["thaw"].cryo.choices = opts(
            [
                (c["id"], f"Session {c['id']} · {c['count']} {c['material']} · {c['location']}")
                for c in records["cryo"]
                if not c["voided"]
            ]
        )
    if "shipment" in forms:
        wanted = {"frozen_sperm": "sperm", "frozen_embryos": "embryos"}.get(req.deliverable.value, "live_animals")
        if not forms["shipment"].material.data:
            forms["shipment"].material.data = wanted


def workspace(req: ConversionRequest, user, replace: dict) -> dict | None:
    """The lab section of the request page (requests.hooks.add_page_section)."""
    if user.role is Role.requester:
        shipments = lab.lab_records(req, user)["shipments"]
        return {"template": "lab/_shipments_public.html", "shipments": shipments} if shipments else None
    records = lab.lab_records(req, user)
    forms = _forms(req, records)
    forms.update({k: v for k, v in replace.items() if k in forms or k.startswith(("fix-", "void-"))})
    _fill_choices(req, forms, records)
    any_records = records["paperwork"] or any(records[k] for k in ("matings", "animals", "qc", "cryo", "shipments"))
    if not (any_records or forms):
        return None
    editable = _is_node_staff(req) and req.status not in FINAL_STATES
    expected = expected_qc(req)
    fields = {kind: lab.correctable(kind) for kind in KINDS}
    fixes = dict(FIXES)
    if req.status == "breeding":  # start_qc: the animal first, then a mating not marked unsuccessful
        step_matings = [m for m in records["matings"] if not m["voided"] and m["step"] == req.current_step]
        has_animal = any(
            not a["voided"] and a["allele"] == req.step_product_label and a["deleter_transgene"] == "negative"
            for a in records["animals"]
        )
        if has_animal and step_matings and all(m["successful"] is False for m in step_matings):
            fixes["start_qc"] = f"matings-{step_matings[-1]['id']}" if step_matings else "mating"
    return {
        "template": "lab/_workspace.html",
        "records": records,
        "forms": forms,
        "fixes": fixes,
        "focus": FOCUS.get(req.status),
        "editable": editable,
        "frozen": req.status in FINAL_STATES,
        "expected": expected,
        "flags": qc_flags(records["qc"], expected),
        "fields": fields,
        "rows": min(max(request.args.get("rows", TABLE_ROWS, type=int) or TABLE_ROWS, 1), 50),
        "table": replace.get("table_rows") or [],
        "materials": SHIPMENT_MATERIALS,
        "rows_html": RecordRows(req, editable=editable, forms=forms, fields=fields, posted=request.form),
    }


def init_app(app) -> None:
    from ..requests.hooks import add_page_section

    app.register_blueprint(bp)
    add_page_section(app, workspace)
    app.add_template_global(litter_rows, "litter_rows")


# ---- posting ----------------------------------------------------------------------------
def _form_errors(form) -> str:
    if "csrf_token" in form.errors:
        return "The form expired: reload the page and try again."
    return " ".join(f"{form[name].label.text}: {err}" for name, errs in form.errors.items() for err in errs)


def _post(request_id: int, key: str, form, call, anchor: str | None = None, extra: dict | None = None):
    """Validate a lab form, call the operation, flash; show the page again with errors on failure."""
    req = req_ops.get_request(current_user, request_id)
    if not (_is_node_staff(req) or (key == "paperwork" and current_user.role is Role.coordinator)):
        abort(403)
    if form.validate():
        try:
            message = call(req, form)
        except ApiError as exc:
            flash(field_error(form, exc.message), "error")  # in the field's words, next to it
            status = exc.status
        else:
            flash(message, "success")
            return redirect(url_for("requests.show", request_id=req.id) + f"#{anchor or key}")
    else:
        flash(_form_errors(form), "error")
        status = 422
    req = req_ops.get_request(current_user, request_id, detail=True)
    return render_request(req, status=status, replace={key: form, **(extra or {})})


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@bp.route("/requests/<int:request_id>/paperwork", methods=["POST"])
@login_required
def paperwork(request_id: int):
    def call(req, form):
        lab.record_paperwork(
            current_user,
            req.id,
            mta_signed_on=form.mta_signed_on.data,
            po_reference=form.po_reference.data,
            paid_on=form.paid_on.data,
        )
        return "Paperwork recorded."

    return _post(request_id, "paperwork", PaperworkForm(prefix="paper"), call)


@bp.route("/requests/<int:request_id>/matings", methods=["POST"])
@login_required
def matings(request_id: int):
    form = MatingForm(prefix="mating")
    form.deleter.choices = opts([(request.form.get("mating-deleter", ""), "")])  # checked by the operation

    def call(req, form):
        tat = form.deleter.data == "tat_cre"
        mating = lab.record_mating(
            current_user,
            req.id,
            method="tat_cre" if tat else "deleter",
            deleter=None if tat else form.deleter.data,
            set_up_on=form.set_up_on.data,
            generation=form.generation.data,
            dam=form.dam.data or None,
            sire=form.sire.data or None,
            litter_born_on=form.litter_born_on.data,
            pups_born=form.pups_born.data,
            pups_weaned=form.pups_weaned.data,
            successful=form.successful.data or None,
        )
        return f"Mating {mating.label} recorded (generation {mating.generation})."

    return _post(request_id, "mating", form, call)


def _table_rows() -> list[dict]:
    """The filled rows of the animals table, in order (a row with any value counts)."""
    rows = []
    for n in range(50):
        row = {k: (request.form.get(f"animals-{n}-{k}") or "").strip() for k in ("label", "sex", "allele", "transgene")}
        if any(row.values()):
            rows.append(
                {
                    "label": row["label"],
                    "sex": row["sex"],
                    "allele": row["allele"],
                    "deleter_transgene": row["transgene"],
                }
            )
    return rows


@bp.route("/requests/<int:request_id>/animals", methods=["POST"])
@login_required
def animals(request_id: int):
    rows = _table_rows()

    def call(req, form):
        if not rows:
            raise ApiError(422, "Fill in at least one row: label, sex, allele (and the deleter transgene).")
        if form.mating.data:
            litter, _ = lab.record_litter(
                current_user,
                req.id,
                mating=form.mating.data,
                pups=rows,
                born_on=form.born_on.data,
                weaned_on=form.weaned_on.data,
                pups_born=form.pups_born.data,
            )
            return f"Litter of {litter.mating.label}: {_plural(len(rows), 'pup')} recorded."
        saved = lab.record_animals(current_user, req.id, [{**r, "born_on": form.born_on.data} for r in rows])
        return f"{_plural(len(saved), 'animal')} recorded: " + ", ".join(a.label for a in saved) + "."

    return _post(request_id, "animals", AnimalsForm(prefix="animals"), call, extra={"table_rows": rows})


@bp.route("/requests/<int:request_id>/animals/import", methods=["POST"])
@login_required
def import_animals(request_id: int):
    def call(req, form):
        text = form.lines.data or ""
        upload = form.file.data
        if upload and getattr(upload, "filename", ""):
            raw = upload.read(1_000_001)
            if len(raw) > 1_000_000:
                raise ApiError(422, "The file is larger than 1 MB.")
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ApiError(422, "The file is not UTF-8 text (save it as CSV UTF-8).") from None
        saved = lab.import_genotypes(current_user, req.id, text)
        return f"{_plural(len(saved), 'animal')} imported: " + ", ".join(a.label for a in saved) + "."

    return _post(request_id, "import", ImportForm(prefix="import"), call, anchor="animals")


@bp.route("/requests/<int:request_id>/qc", methods=["POST"])
@login_required
def qc(request_id: int):
    def call(req, form):
        row = lab.record_qc(
            current_user,
            req.id,
            assay=form.assay.data,
            result=form.result.data,
            animal=form.animal.data or None,
            note=form.note.data,
        )
        return f"QC result recorded: {row.assay} {row.result}" + (f" on {row.animal.label}." if row.animal else ".")

    form = QcForm(prefix="qc")
    assay = request.form.get("qc-assay", "")
    form.assay.choices = opts([(assay, assay)])  # checked by the operation (the plan's assays included)
    return _post(request_id, "qc", form, call)


@bp.route("/requests/<int:request_id>/cryo", methods=["POST"])
@login_required
def cryo(request_id: int):
    def call(req, form):
        row = lab.record_cryo(
            current_user,
            req.id,
            material=form.material.data,
            count=form.count.data,
            location=form.location.data,
            frozen_on=form.frozen_on.data,
            donors=form.donors.data,
            test_thaw=form.test_thaw.data or None,
        )
        return f"Cryopreservation session {row.id} recorded: {row.count} {row.material}."

    return _post(request_id, "cryo", CryoForm(prefix="cryo"), call)


@bp.route("/requests/<int:request_id>/thaws", methods=["POST"])
@login_required
def thaws(request_id: int):
    form = ThawForm(prefix="thaw")

    def call(req, form):
        cryo_id = int(form.cryo.data) if str(form.cryo.data).isdigit() else 0
        thaw = lab.record_thaw(
            current_user, req.id, cryo_id, thawed_on=form.thawed_on.data, result=form.result.data, note=form.note.data
        )
        return f"Test thaw of session {thaw.cryo_id} recorded: {thaw.result}."

    return _post(request_id, "thaw", form, call, anchor="cryo")


@bp.route("/requests/<int:request_id>/shipments", methods=["POST"])
@login_required
def shipments(request_id: int):
    def call(req, form):
        row = lab.record_shipment(
            current_user,
            req.id,
            courier=form.courier.data,
            tracking=form.tracking.data,
            shipped_on=form.shipped_on.data,
            material=form.material.data,
            quantity=form.quantity.data,
        )
        return f"Shipment recorded: {row.quantity} {row.material.replace('_', ' ')} by {row.courier} ({row.tracking})."

    return _post(request_id, "shipment", ShipmentForm(prefix="ship"), call, anchor="shipments")


@bp.route("/requests/<int:request_id>/<kind>/<int:record_id>/correct", methods=["POST"])
@login_required
def correct(request_id: int, kind: str, record_id: int):
    if kind not in KINDS:
        abort(404)
    fields = lab.correctable(kind)
    old = {f: request.form.get(f"was-{f}", "") for f in fields}
    changes = {
        f: request.form.get(f"set-{f}", "")
        for f in fields
        if f"set-{f}" in request.form and request.form.get(f"set-{f}", "") != old[f]
    }
    form = CorrectForm(prefix="fix")

    def call(req, form):
        if not changes:
            raise ApiError(422, "Nothing changed: edit a field before saving the correction.")
        lab.correct(
            current_user, req.id, kind, record_id, changes, reason=form.reason.data, version=form.version.data or None
        )
        return f"Corrected ({', '.join(changes)}): the old value{'s are' if len(changes) > 1 else ' is'} kept."

    return _post(request_id, f"fix-{kind}-{record_id}", form, call, anchor=f"{kind}-{record_id}")


@bp.route("/requests/<int:request_id>/<kind>/<int:record_id>/void", methods=["POST"])
@login_required
def void(request_id: int, kind: str, record_id: int):
    if kind not in KINDS:
        abort(404)

    def call(req, form):
        lab.void(current_user, req.id, kind, record_id, reason=form.reason.data, version=form.version.data or None)
        return "Record voided: it stays listed, struck through, and counts nowhere."

    return _post(request_id, f"void-{kind}-{record_id}", VoidForm(prefix="void"), call, anchor=f"{kind}-{record_id}")
