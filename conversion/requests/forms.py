"""Forms of the request pages (Flask-WTF: every form carries a CSRF token)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, IntegerField, RadioField, SelectField,
                     StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..alleles import QC_ASSAYS
from ..countries import countries, normalise_vat, parse_country
from .present import DELIVERABLE_LABELS

# Assay names of the QC form: the canonical list (domain.md).
ASSAYS = tuple(QC_ASSAYS)

def opts(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class RequestForm(FlaskForm):
    target = RadioField("What should it become?", validators=[InputRequired("Choose the allele you need.")])
    deliverable = RadioField("Deliver as", choices=opts(DELIVERABLE_LABELS.items()),
                             default="frozen_sperm",
                             validators=[InputRequired("Choose how you want it delivered.")])
    use_tat_cre = BooleanField("Use TAT-Cre protein on IVF embryos instead of crossing with a Cre deleter "
                               "(skips a generation)")
    organisation = StringField("Organisation", validators=[
        DataRequired("Give the organisation that pays."), Length(max=200)])
    address = TextAreaField("Billing address", validators=[
        DataRequired("Give the billing address."), Length(max=1000)])
    country = SelectField("Country", validators=[DataRequired("Choose the country of the billing address.")],
                          choices=[], validate_choice=False)
    vat_number = StringField("VAT number (optional)",
                             validators=[Optional(), Length(max=30)])
    sector = RadioField("Sector", choices=opts([("academic", "Academic or non-profit"), ("industry", "Industry")]),
                        validators=[InputRequired("Say whether the requester is academic or industry.")])
    comment = TextAreaField("Anything the node should know (optional)", validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = opts([("", "Choose a country…")] + countries())

    def validate_country(self, field):
        try:
            field.data = parse_country(field.data or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_vat_number(self, field):
        if field.data and self.country.data and not self.country.errors:
            try:
                field.data = normalise_vat(self.country.data.strip(), field.data)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None


class ActionForm(FlaskForm):
    """A lifecycle trigger on one request (or several: ids) with its comment/reason/node."""
    trigger = HiddenField(validators=[DataRequired()])
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=4000)])
    reason = SelectField("Reason", validators=[Optional()], validate_choice=False)
    node = SelectField("Node", validators=[Optional()], validate_choice=False)


class BulkForm(ActionForm):
    trigger = SelectField("Action", validators=[DataRequired("Choose an action.")], validate_choice=False)


class PaperworkForm(FlaskForm):
    mta_signed_on = DateField("MTA signed on", validators=[Optional()])
    po_reference = StringField("Purchase order reference", validators=[Optional(), Length(max=100)])
    paid_on = DateField("Paid on (instead of a purchase order)", validators=[Optional()])


class MatingForm(FlaskForm):
    deleter = SelectField("Deleter", validators=[DataRequired("Choose the deleter strain (or TAT-Cre).")])
    set_up_on = DateField("Set up on", validators=[InputRequired("Give the date the mating was set up.")])
    generation = IntegerField("Generation", default=1, validators=[
        InputRequired("Give the generation (1 = first cross with the deleter)."), NumberRange(1, 20)])
    dam = StringField("Dam", validators=[Optional(), Length(max=60)])
    sire = StringField("Sire", validators=[Optional(), Length(max=60)])
    litter_born_on = DateField("Litter born on", validators=[Optional()])
    pups_born = IntegerField("Pups born", validators=[Optional(), NumberRange(0, 50)])
    pups_weaned = IntegerField("Pups weaned", validators=[Optional(), NumberRange(0, 50)])


class AnimalsForm(FlaskForm):
    lines = TextAreaField("Animals, one per line: label, sex, allele, deleter transgene", validators=[
        DataRequired("Give at least one animal.")])
    born_on = DateField("Born on (all of them)", validators=[Optional()])
    mating = SelectField("From mating", validators=[Optional()], validate_choice=False)


class QcForm(FlaskForm):
    assay = SelectField("Assay", choices=opts((a, a) for a in ASSAYS))
    result = RadioField("Result", choices=opts([("pass", "Pass"), ("fail", "Fail")]),
                        validators=[InputRequired("Say whether the assay passed.")])
    animal_label = StringField("Animal", validators=[Optional(), Length(max=60)])
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)])


class CryoForm(FlaskForm):
    material = SelectField("Material", choices=opts([("sperm", "Sperm"), ("embryos", "Embryos")]))
    count = IntegerField("Straws or embryos", validators=[
        InputRequired("Give how many straws or embryos were frozen."), NumberRange(1, 10000)])
    location = StringField("Storage location", validators=[
        DataRequired("Give the tank / canister / position."), Length(max=200)])
    test_thaw = SelectField("Test thaw", choices=opts([("", "Not yet"), ("pass", "Passed"), ("fail", "Failed")]),
                            validators=[Optional()])


SEX = {"m": "male", "male": "male", "f": "female", "female": "female", "u": "unknown", "?": "unknown",
       "unknown": "unknown"}
TRANSGENE = {"+": "positive", "pos": "positive", "positive": "positive", "-": "negative",
             "neg": "negative", "negative": "negative", "": None}


def parse_animal_lines(text: str) -> list[dict]:
    """'label, sex, allele, deleter transgene' per line -> dicts; ValueError naming the bad line.

    Separators: comma, semicolon or tab. Sex m/f/u, transgene +/-/pos/neg are accepted."""
    animals = []
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.replace("\t", ",").replace(";", ",").split(",")]
        if not 3 <= len(parts) <= 4:
            raise ValueError(f"Line {number} ({line!r}): give label, sex, allele and deleter transgene "
                             "separated by commas.")
        label, sex, allele = parts[:3]
        transgene = parts[3] if len(parts) == 4 else ""
        if sex.lower() not in SEX:
            raise ValueError(f"Line {number} ({line!r}): sex must be male, female or unknown (m/f/u).")
        if transgene.lower() not in TRANSGENE:
            raise ValueError(f"Line {number} ({line!r}): deleter transgene must be positive or negative (+/-).")
        animals.append({"label": label, "sex": SEX[sex.lower()], "allele": allele,
                        "deleter_transgene": TRANSGENE[transgene.lower()]})
    if not animals:
        raise ValueError("Give at least one animal.")
    return animals
