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


@bp.route("/archive-watches", methods=["POST"])
@login_required
def watch_archive():
    """Ask to be emailed when a product another open request is making is archived."""
    from flask import request

    from ..errors import ApiError
    from .archive import watch_archive as watch

    strain, target = request.form.get("strain", "")[:20], request.form.get("target", "")[:20]
    try:
        found = watch(current_user, strain=strain, target=target)
    except ApiError as exc:
        flash(exc.message, "error")
    else:
        flash(f"We will email you at {current_user.email} when {found.product_symbol} is archived.", "success")
    return redirect(url_for("catalogue.strain", emma_id=strain) if strain else url_for("notifications.settings"))
