"""Forms of the request pages (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import core as widgets_core

from ..catalogue.present import esc
from ..countries import countries, normalise_vat, parse_country
from ..inputs import DATE_RE
from .present import DELIVERABLE_LABELS

_QUOTE, _QUOT = Markup('"'), Markup("&quot;")


def html_params(**kwargs) -> Markup:
    """wtforms.widgets.html_params, same output, without Markup.format per attribute (a tenth of
    a form page's CPU went to formatting the attributes of fields, labels and options). A text's
    escape leaves no quote to replace; a Markup value keeps its own, written &quot;."""
    params = []
    for k, v in sorted(kwargs.items()):
        k = k.rstrip("_")
        if k.startswith(("data_", "aria_")):
            k = k.replace("_", "-")
        if v is True:
            params.append(esc(k))
        elif v is not False:
            params.append(f'{esc(k)}="{esc(v) if type(v) is str else escape(v).replace(_QUOTE, _QUOT)}"')
    return Markup(" ".join(params))


# Every widget and label of every form (WTForms looks the function up at each call).
widgets_core.html_params = widgets.html_params = html_params
widgets_core.Input.html_params = widgets_core.Button.html_params = staticmethod(html_params)


class StrictDateField(DateField):
    """A date written exactly YYYY-MM-DD (what date inputs send; not 2026-1-1 or 20260101)."""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        if text and not DATE_RE.fullmatch(text):
            self.data = None
            raise ValueError("Give the date as YYYY-MM-DD.")
        super().process_formdata(valuelist)


def opts(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class RequestForm(FlaskForm):
    target = RadioField("What should it become?", validators=[InputRequired("Choose the allele you need.")])
    deliverable = RadioField(
        "Deliver as",
        choices=opts(DELIVERABLE_LABELS.items()),
        default="frozen_sperm",
        validators=[InputRequired("Choose how you want it delivered.")],
    )
    use_tat_cre = BooleanField(
        "Use TAT-Cre protein on IVF embryos instead of crossing with a Cre deleter (skips a generation)"
    )
    organisation = StringField(
        "Organisation", validators=[DataRequired("Give the organisation that pays."), Length(max=200)]
    )
    address = TextAreaField("Billing address", validators=[DataRequired("Give the billing address."), Length(max=1000)])
    country = SelectField(
        "Country",
        validators=[DataRequired("Choose the country of the billing address.")],
        choices=[],
        validate_choice=False,
    )
    vat_number = StringField("VAT number (optional)", validators=[Optional(), Length(max=30)])
    sector = RadioField(
        "Sector",
        choices=opts([("academic", "Academic or non-profit"), ("industry", "Industry")]),
        validators=[InputRequired("Say whether the requester is academic or industry.")],
    )
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
