"""Forms of the request pages (Flask-WTF: every form carries a CSRF token)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, IntegerField, RadioField, SelectField,
                     StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from ..invoices.vat import normalise_vat
from ..inputs import DATE_RE
from .present import DELIVERABLE_LABELS


class StrictDateField(DateField):
    """A date written exactly YYYY-MM-DD (what date inputs send; not 2026-1-1 or 20260101)."""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        if text and not DATE_RE.fullmatch(text):
            self.data = None
            raise ValueError("Give the date as YYYY-MM-DD.")
        super().process_formdata(valuelist)

# Countries offered as suggestions (any two-letter ISO code is accepted).
COUNTRIES = {
    "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "CH": "Switzerland", "CY": "Cyprus",
    "CZ": "Czech Republic", "DE": "Germany", "DK": "Denmark", "EE": "Estonia", "ES": "Spain",
    "FI": "Finland", "FR": "France", "GB": "United Kingdom", "GR": "Greece", "HR": "Croatia",
    "HU": "Hungary", "IE": "Ireland", "IL": "Israel", "IS": "Iceland", "IT": "Italy",
    "LT": "Lithuania", "LU": "Luxembourg", "LV": "Latvia", "MT": "Malta", "NL": "Netherlands",
    "NO": "Norway", "PL": "Poland", "PT": "Portugal", "RO": "Romania", "SE": "Sweden",
    "SI": "Slovenia", "SK": "Slovakia", "US": "United States", "CA": "Canada", "JP": "Japan",
    "AU": "Australia", "CN": "China",
}


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
    country = StringField("Country (ISO code)", validators=[
        DataRequired("Give the country as a two-letter ISO code, e.g. DE."),
        Regexp(r"^\s*[A-Za-z]{2}\s*$", message="Use the two-letter ISO code of the country, e.g. DE or GB.")])
    vat_number = StringField("VAT number (optional)",
                             validators=[Optional(), Length(max=30)])
    sector = RadioField("Sector", choices=opts([("academic", "Academic or non-profit"), ("industry", "Industry")]),
                        validators=[InputRequired("Say whether the requester is academic or industry.")])
    comment = TextAreaField("Anything the node should know (optional)", validators=[Optional(), Length(max=2000)])

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
