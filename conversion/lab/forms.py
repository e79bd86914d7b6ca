"""Forms of the lab workspace on the request page (Flask-WTF: every form carries a CSRF token).

The litter table's rows (`animals-<n>-label`, `-sex`, `-allele`, `-transgene`) and the correction
form's fields (`set-<field>`) are read from the posted form by the views."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..alleles import QC_ASSAYS
from ..requests.forms import StrictDateField as DateField  # exactly YYYY-MM-DD

ASSAYS = tuple(QC_ASSAYS)
TABLE_ROWS = 8  # empty rows of the litter table (more: ?rows=N)


def opts(pairs) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in pairs]


class PaperworkForm(FlaskForm):
    mta_signed_on = DateField("MTA signed on", validators=[Optional()])
    po_reference = StringField("Purchase order reference", validators=[Optional(), Length(max=100)])
    paid_on = DateField("Paid on (instead of a purchase order)", validators=[Optional()])


class MatingForm(FlaskForm):
    deleter = SelectField("Deleter", validators=[DataRequired("Choose the deleter strain (or TAT-Cre).")])
    set_up_on = DateField("Set up on", validators=[InputRequired("Give the date the mating was set up.")])
    generation = IntegerField(
        "Generation",
        default=1,
        validators=[InputRequired("Give the generation (1 = first cross with the deleter)."), NumberRange(1, 20)],
    )
    dam = SelectField("Dam", validators=[Optional()], validate_choice=False)
    sire = SelectField("Sire", validators=[Optional()], validate_choice=False)
    litter_born_on = DateField("Litter born on", validators=[Optional()])
    pups_born = IntegerField("Pups born", validators=[Optional(), NumberRange(0, 50)])
    pups_weaned = IntegerField("Pups weaned", validators=[Optional(), NumberRange(0, 50)])
    successful = SelectField(
        "Successful",
        choices=opts([("", "Not known yet"), ("yes", "Yes: pups carry the product"), ("no", "No")]),
        validators=[Optional()],
    )


class AnimalsForm(FlaskForm):
    """Founders, or a litter of a mating: one table row per animal."""

    mating = SelectField("Litter of mating", validators=[Optional()], validate_choice=False)
    born_on = DateField("Born on", validators=[Optional()])
    weaned_on = DateField("Weaned on", validators=[Optional()])
    pups_born = IntegerField("Pups born (if more than the rows)", validators=[Optional(), NumberRange(0, 50)])


class ImportForm(FlaskForm):
    lines = TextAreaField("Paste genotyping results", validators=[Optional()])
    file = FileField("…or upload a CSV file")


class QcForm(FlaskForm):
    assay = SelectField("Assay", choices=opts((a, a) for a in ASSAYS))
    result = RadioField(
        "Result",
        choices=opts([("pass", "Pass"), ("fail", "Fail")]),
        validators=[InputRequired("Say whether the assay passed.")],
    )
    animal = SelectField("Animal tested", validators=[Optional()], validate_choice=False)
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)])


class CryoForm(FlaskForm):
    material = SelectField("Material", choices=opts([("sperm", "Sperm"), ("embryos", "Embryos")]))
    count = IntegerField(
        "Straws or embryos",
        validators=[InputRequired("Give how many straws or embryos were frozen."), NumberRange(1, 10000)],
    )
    location = StringField(
        "Storage position", validators=[DataRequired("Give the tank / canister / position."), Length(max=200)]
    )
    frozen_on = DateField("Frozen on", validators=[Optional()])
    donors = StringField("Donor animals (labels, comma separated)", validators=[Optional(), Length(max=300)])
    test_thaw = SelectField(
        "Test thaw today",
        choices=opts([("", "Not yet (record it later)"), ("pass", "Passed"), ("fail", "Failed")]),
        validators=[Optional()],
    )


class ThawForm(FlaskForm):
    cryo = SelectField(
        "Session", validators=[DataRequired("Choose the session the sample came from.")], validate_choice=False
    )
    thawed_on = DateField("Thawed on", validators=[InputRequired("Give the date of the thaw.")])
    result = RadioField(
        "Result",
        choices=opts([("pass", "Pass"), ("fail", "Fail")]),
        validators=[InputRequired("Say whether the thaw passed.")],
    )
    note = StringField("Note", validators=[Optional(), Length(max=2000)])


class ShipmentForm(FlaskForm):
    courier = StringField("Courier", validators=[DataRequired("Give the courier."), Length(max=100)])
    tracking = StringField("Tracking number", validators=[DataRequired("Give the tracking number."), Length(max=100)])
    shipped_on = DateField("Shipped on", validators=[InputRequired("Give the date it left.")])
    material = SelectField(
        "Material",
        choices=opts(
            [("sperm", "Frozen sperm (straws)"), ("embryos", "Frozen embryos"), ("live_animals", "Live animals")]
        ),
    )
    quantity = IntegerField("Quantity", validators=[InputRequired("Give how many."), NumberRange(1, 10000)])


class CorrectForm(FlaskForm):
    reason = StringField(
        "Why (required)", validators=[DataRequired("Say why the record is corrected."), Length(max=2000)]
    )
    version = HiddenField()


class VoidForm(FlaskForm):
    reason = StringField(
        "Why void it (required)", validators=[DataRequired("Say why the record is voided."), Length(max=2000)]
    )
    version = HiddenField()
