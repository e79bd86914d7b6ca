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
from .forms import (
    ConfirmForm,
    DecisionForm,
    LoginForm,
    PasswordForm,
    RegisterForm,
    ResetForm,
    ResetRequestForm,
    RoleForm,
)
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
        _start_session(user)
        flash(f"Signed in as {user.email}.", "success")
        return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form), 400 if form.errors else 200


def _start_session(user) -> None:
    """No session fixation: a fresh session (and CSRF secret) for the signed-in user, with a
    server-side session id that sign-out ends."""
    session.clear()
    login_user(user)
    session["_sid"] = ops.start_session(user)


@bp.route("/logout", methods=["POST"])
def logout():
    """POST only, with the CSRF token (CSRFProtect refuses it without): ends the session on the
    server, so a copy of the cookie no longer works either."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    ops.end_session(session.get("_sid"), user, request.remote_addr)
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
                ops.change_password(
                    current_user, form.current.data, form.new.data, form.repeat.data, request.remote_addr
                )
            except ApiError as exc:
                flash(exc.message, "error")
                status = exc.status
            else:
                _start_session(current_user._get_current_object())  # the new session version
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
    return render_template(
        "accounts/users.html",
        users=ops.list_users(),
        nodes=nodes,
        describe=ops.describe_role,
        form=RoleForm(formdata=None),
        roles=[role.value for role in Role],
    )


@bp.route("/admin/users/<int:user_id>", methods=["POST"])
@fresh_login_required
@role_required(Role.coordinator)
def change_role(user_id: int):
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        user = ops.change_role(current_user, user_id, form.role.data, form.node.data or None, request.remote_addr)
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
    return render_template(
        "accounts/security_events.html",
        events=events,
        kind=kind,
        email=email,
        kinds=ops.EVENT_KINDS,
        more=len(events) == 100,
    )


# ---- accounts a newcomer can get ------------------------------------------------------------------
def _page(template: str, status: int = 200, **context):
    return render_template(template, **context), status


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Ask for an account: a link confirms the email address, then a coordinator approves."""
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            answer = ops.register(
                form.email.data,
                form.password.data,
                form.repeat.data,
                name=form.name.data,
                organisation=form.organisation.data,
                address=request.remote_addr,
            )
        except ApiError as exc:
            flash(exc.message, "error")
            return _page("accounts/register.html", exc.status, form=form)
        return _page("accounts/sent.html", title="Check your inbox", message=answer)
    return _page("accounts/register.html", 400 if form.errors else 200, form=form)


@bp.route("/register/verify/<token>")
def verify_email(token: str):
    try:
        pending = ops.verify_email(token, request.remote_addr)
    except ApiError as exc:
        return _page("accounts/sent.html", exc.status, title="Link not valid", message=exc.message)
    return _page(
        "accounts/sent.html",
        title="Address confirmed",
        message=f"Thank you: {pending.email} is confirmed. A coordinator reviews your request; "
        "you will get an email when your account is ready.",
    )


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_request():
    """Ask for a one-time link to choose a new password (the same answer for every address)."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        try:
            answer = ops.request_password_reset(form.email.data, request.remote_addr)
        except ApiError as exc:
            flash(exc.message, "error")
            return _page("accounts/reset_request.html", exc.status, form=form)
        return _page("accounts/sent.html", title="Check your inbox", message=answer)
    return _page("accounts/reset_request.html", 400 if form.errors else 200, form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = ResetForm()
    if not ops.reset_token_valid(token):
        return _page(
            "accounts/sent.html",
            404,
            title="Link not valid",
            message="This link is not valid: it was used already or has expired. Ask for a new one.",
        )
    if form.validate_on_submit():
        try:
            user = ops.reset_password(token, form.new.data, form.repeat.data, request.remote_addr)
        except ApiError as exc:
            flash(exc.message, "error")
            return _page("accounts/reset.html", exc.status, form=form)
        if current_user.is_authenticated:
            logout_user()
        session.clear()
        flash(
            f"Your password is changed and every session of {user.email} is signed out: sign in with the new password.",
            "success",
        )
        return redirect(url_for(".login"))
    return _page("accounts/reset.html", 400 if form.errors else 200, form=form)


@bp.route("/admin/accounts")
@role_required(Role.coordinator)
def accounts():
    """Account requests with a confirmed address, waiting for a coordinator."""
    return render_template("accounts/pending.html", pending=ops.pending_accounts(), form=DecisionForm(formdata=None))


@bp.route("/admin/accounts/<int:request_id>", methods=["POST"])
@role_required(Role.coordinator)
def decide_account(request_id: int):
    form = DecisionForm()
    if not form.validate_on_submit() or form.decision.data not in ("approve", "refuse"):
        abort(400)
    try:
        pending = ops.decide_account(current_user, request_id, form.decision.data == "approve", request.remote_addr)
    except ApiError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    else:
        flash(f"Account request of {pending.email}: {pending.status}.", "success")
    return redirect(url_for(".accounts"))
