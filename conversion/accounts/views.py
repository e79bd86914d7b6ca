"""Sign-in and sign-out, the account page (password, sign out everywhere), and the
coordinators' pages: users and roles, security events."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, fresh_login_required, login_fresh, login_user, logout_user

from ..catalogue.operations import all_nodes
from ..errors import ApiError
from ..inputs import parse_id, safe_next
from . import operations as ops
from .auth import role_required
from .forms import ConfirmForm, LoginForm, PasswordForm, RoleForm
from .models import Role

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after sign-in."""
    return safe_next(target, url_for("pages.home"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and login_fresh():
        return redirect(url_for("pages.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = ops.sign_in(form.email.data, form.password.data, request.remote_addr)
        except ApiError as exc:
            flash(exc.message, "error")
            return render_template("accounts/login.html", form=form), exc.status
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


@bp.route("/account", methods=["GET", "POST"])
@fresh_login_required
def account():
    form = PasswordForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                ops.change_password(current_user, form.current.data, form.new.data, form.repeat.data,
                                    request.remote_addr)
            except ApiError as exc:
                flash(exc.message, "error")
                status = exc.status
            else:
                user = current_user._get_current_object()
                session.clear()
                login_user(user)  # this session carries the new session version
                flash("Password changed: your other sessions and API tokens are signed out.", "success")
                return redirect(url_for(".account"))
        else:
            status = 400 if "csrf_token" in form.errors else 422
    return render_template("accounts/account.html", form=form, confirm=ConfirmForm()), status


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@fresh_login_required
def sign_out_everywhere():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    revoked = ops.sign_out_everywhere(current_user, request.remote_addr)
    logout_user()
    session.clear()
    flash(f"Signed out everywhere ({revoked} API token{'s' if revoked != 1 else ''} revoked).", "info")
    return redirect(url_for("pages.home"))


@bp.route("/admin/users")
@fresh_login_required
@role_required(Role.coordinator)
def users():
    nodes = [n for n in all_nodes() if n.offers_conversion]
    return render_template("accounts/users.html", users=ops.list_users(), nodes=nodes,
                           describe=ops.describe_role, form=RoleForm(formdata=None),
                           roles=[role.value for role in Role])


@bp.route("/admin/users/<int:user_id>", methods=["POST"])
@fresh_login_required
@role_required(Role.coordinator)
def change_role(user_id: int):
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        user = ops.change_role(current_user, user_id, form.role.data, form.node.data or None,
                               request.remote_addr)
    except ApiError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    else:
        flash(f"{user.email} is now {ops.describe_role(user)}.", "success")
    return redirect(url_for(".users"))


@bp.route("/admin/security-events")
@role_required(Role.coordinator)
def security_events():
    kind = request.args.get("kind", "")[:40] or None
    email = request.args.get("email", "")[:254] or None
    before = parse_id(request.args.get("before"))
    events = ops.security_events(kind=kind, email=email, before=before, limit=100)
    return render_template("accounts/security_events.html", events=events, kind=kind, email=email,
                           kinds=ops.EVENT_KINDS, more=len(events) == 100)
