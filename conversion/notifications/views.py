"""/settings/notifications: which emails the signed-in user gets."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from . import operations as ops
from .forms import PreferencesForm
from .models import CATEGORIES

bp = Blueprint("notifications", __name__)


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def settings():
    pref = ops.preferences(current_user)
    names = ops.relevant_categories(current_user)
    form = PreferencesForm(obj=pref)
    if form.validate_on_submit():
        ops.save_preferences(current_user, **{name: getattr(form, name).data for name in names})
        flash("Your notification settings are saved.", "success")
        return redirect(url_for("notifications.settings"))
    fields = [(getattr(form, name), CATEGORIES[name].split(": ", 1)[1]) for name in names]
    return render_template("notifications/settings.html", form=form, fields=fields), 400 if form.errors else 200
