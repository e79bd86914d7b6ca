"""Sign-in and sign-out pages."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from .forms import LoginForm
from .operations import authenticate

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("pages.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            flash("Unknown email or wrong password.", "error")
            return render_template("accounts/login.html", form=form), 401
        session.clear()  # no session fixation: a fresh session for the signed-in user
        login_user(user)
        flash(f"Signed in as {user.email}.", "success")
        return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form), 400 if form.errors else 200


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("pages.home"))
