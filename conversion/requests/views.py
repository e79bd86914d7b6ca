"""Request pages: submit (with a confirm step), lists and work queues, the request page with its
timeline and actions (higher packages add sections: hooks.add_page_section), bulk actions, the
coordinator's review queue.

Views never write to the database: they call the operations and flash what they answer."""

from __future__ import annotations

from types import SimpleNamespace

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError, generate_csrf

from workflows import lifecycle

from ..accounts.models import Role
from ..catalogue.operations import get_strain
from ..errors import ApiError, json_error, wants_json
from ..inputs import parse_ids, safe_next
from ..registry import plan_extras
from . import messages as threads
from . import operations as ops
from .durations import typical_months
from .forms import ActionForm, BulkForm, RequestForm, opts
from .hooks import page_sections
from .listing import (
    COLUMNS,
    PER_PAGE,
    SORTS,
    csv_stream,
    export_query,
    list_page,
    node_choices,
    read_args,
    to_csv,
)
from .models import ConversionRequest
from .present import (
    action_forms,
    action_order,
    cancel_reasons_for,
    confirmation,
    facts_html,
    filter_options,
    humanize,
    list_rows,
    options_html,
    plan_html,
    plan_stages,
    request_url,
    state_label,
    timeline_html,
    trigger_label,
)
from .review import queue as review_queue

bp = Blueprint("requests", __name__)

LIST_TITLES = {"requester": "My requests", "staff": "Work queue", "coordinator": "All requests"}


def _role() -> str:
    return current_user.role.value


def _back(default: str) -> str:
    """A same-site path from the form's `next` field, else `default`."""
    return safe_next(request.form.get("next"), default)


def field_error(form, message: str) -> str:
    """An operation's refusal in people's words, also shown next to the field it names."""
    fields = {f.short_name: f.label.text for f in form if f.short_name != "csrf_token"}
    text, name = humanize(message, fields)
    if name is None and "comment" in fields and "comment is required" in message:
        name = "comment"
    if name is not None:
        field = form[name]
        field.errors = list(field.errors or []) + [text]
    return text


def _form_errors(form) -> str:
    if "csrf_token" in form.errors:
        return "The form expired: reload the page and try again."
    return " ".join(f"{form[name].label.text}: {err}" for name, errs in form.errors.items() for err in errs)


@bp.app_errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    """A missing or stale CSRF token: say so plainly (JSON under /api/)."""
    message = "The form expired or did not come from this site: reload the page and try again."
    if wants_json():
        return json_error(400, f"{message} ({exc.description})")
    error = SimpleNamespace(code=400, name="Form expired", description=message)
    return render_template("errors/generic.html", error=error), 400


# ---- lists ------------------------------------------------------------------------
# The list's filters as (value, label) pairs (present.filter_options)
STATUS_CHOICES = tuple((s, state_label(s)) for s in lifecycle.STATES)
SORT_CHOICES = tuple((key, label) for key, (label, _) in SORTS.items())
PER_PAGE_CHOICES = tuple((n, n) for n in PER_PAGE)


def _listing(args: dict):
    """The page of requests for the list's query string (an unknown status or node is flashed)."""
    try:
        return list_page(current_user, args, rows=True)
    except ApiError as exc:
        flash(exc.message, "error")
        return list_page(current_user, read_args({}), rows=True)


@bp.route("/requests")
@login_required
def index():
    listing = _listing(read_args(request.args))
    args = listing.args
    bulk = None
    role = _role()
    # one read of the nodes for the bulk form's assign select and the coordinator's node filter
    nodes = node_choices() if role == "coordinator" or (role != "requester" and listing.items) else []
    if role != "requester" and listing.items:
        user = current_user._get_current_object()  # not the proxy once per row
        # what each request offers depends on its state and who is asking, not on the request:
        # once per (state, node, whether it is the user's own) on the page
        kinds = {(r.status, r.held_status, r.node_id, r.requester_id == user.id): r for r in listing.items}
        offered = {t for r in kinds.values() for t in ops.available_triggers(user, r)}
        # the bulk form's selects as HTML (it posts to bulk(), validated there as a BulkForm):
        # WTForms rendered them option by option, a tenth of the page's CPU
        bulk = SimpleNamespace(
            triggers=options_html(
                [("", "Choose an action…")] + [(t, trigger_label(t)) for t in lifecycle.TRIGGERS if t in offered]
            ),
            reasons=options_html([("", "—")] + list(lifecycle.CANCEL_REASONS.items())),
            nodes=options_html([("", "—")] + [(n.code, f"{n.code} · {n.name}") for n in nodes if n.offers_conversion]),
        )
    defaults = read_args({})
    link_args = {k: v for k, v in args.items() if v and v != defaults[k]}  # short, shareable URLs
    return render_template(
        "requests/list.html",
        title=LIST_TITLES[role],
        listing=listing,
        args=args,
        link_args=link_args,
        columns=COLUMNS,
        status_options=filter_options(STATUS_CHOICES, args["status"]),
        sort_options=filter_options(SORT_CHOICES, args["sort"]),
        per_page_options=filter_options(PER_PAGE_CHOICES, args["per_page"]),
        bulk=bulk,
        rows=list_rows(listing.items, pick=bulk is not None),
        nodes=nodes if role == "coordinator" else [],
    )


@bp.route("/requests.csv")
@login_required
def export_csv():
    if request.args.get("all"):  # every page: streamed (memory stays flat however many rows)
        args = read_args(request.args)
        try:
            stmt = export_query(current_user, args)
        except ApiError as exc:
            flash(exc.message, "error")
            return redirect(url_for(".index"))
        name = "requests" + (f"-{args['status']}" if args["status"] else "") + "-all.csv"
        return Response(
            stream_with_context(csv_stream(stmt)),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    listing = _listing(read_args(request.args))
    args = listing.args
    name = (
        "requests"
        + (f"-{args['status']}" if args["status"] else "")
        + (f"-page{listing.page}" if listing.pages > 1 else "")
        + ".csv"
    )
    return Response(
        to_csv(listing), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.route("/requests/bulk", methods=["POST"])
@login_required
def bulk():
    back = _back(url_for(".index"))
    form = BulkForm()
    if not form.validate_on_submit():
        flash(_form_errors(form) or "Choose an action.", "error")
        return redirect(back)
    raw = request.form.getlist("ids")
    ids = parse_ids(raw)  # ASCII digits, 1..2**31-1 (a larger id would overflow the database)
    if len(ids) != len(raw):
        bad = ", ".join(repr(v[:20]) for v in raw if v not in {str(i) for i in ids})
        flash(f"Nothing was changed: no request {bad}.", "error")
        return redirect(back)
    data = {}
    if form.trigger.data == "assign":
        data["node"] = form.node.data
    if form.trigger.data == "cancel":
        data["reason"] = form.reason.data
    try:
        done = ops.fire_bulk(current_user, ids, form.trigger.data, comment=form.comment.data, **data)
    except ApiError as exc:
        flash(exc.message, "error")
    else:
        what = f"Assigned to {data['node']}" if form.trigger.data == "assign" else trigger_label(form.trigger.data)
        flash(
            f"{what}: done for {len(done)} request"
            f"{'s' if len(done) != 1 else ''} ({', '.join(r.reference for r in done)}).",
            "success",
        )
    return redirect(back)


# ---- submitting -----------------------------------------------------------------
def _feasible_products(strain):
    from ..alleles import SymbolError, all_products

    try:
        return [p for p in all_products(strain.allele_symbol, design=strain.design) if p.feasible]
    except SymbolError:
        return []


@bp.route("/strains/<emma_id>/request", methods=["GET", "POST"])
@login_required
def new(emma_id: str):
    from ..alleles import plan_conversion

    if current_user.role is not Role.requester:
        abort(403, description="Only requesters submit conversion requests.")
    strain = get_strain(current_user, emma_id)
    if strain is None:
        abort(404)
    products = _feasible_products(strain)
    if not products:
        flash(f"{strain.allele_symbol} cannot be converted by Cre or Flp.", "error")
        return redirect(url_for("catalogue.strain", emma_id=strain.emma_id))
    form = RequestForm()
    form.target.choices = opts((p.target, p.product_symbol) for p in products)
    has_cre = any(any(s.recombinase == "Cre" for s in p.steps) for p in products)
    profiles = ops.billing_profiles(current_user)
    if request.method == "GET":
        form.organisation.data = form.organisation.data or current_user.organisation or None
        chosen = request.args.get("profile", type=int)
        if profiles and chosen and 1 <= chosen <= len(profiles):
            profile = profiles[chosen - 1]
            form.organisation.data, form.address.data = profile.organisation, profile.address
            form.country.data, form.vat_number.data = profile.country, profile.vat_number
            form.sector.data = profile.sector
        wanted = request.args.get("target")
        form.target.data = wanted if wanted in {p.target for p in products} else None
    action = request.form.get("action", "review")
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            plan = plan_conversion(
                strain.allele_symbol, form.target.data, design=strain.design, tat_cre=bool(form.use_tat_cre.data)
            )
            if form.use_tat_cre.data and not any(s.recombinase == "Cre" for s in plan.steps):
                form.use_tat_cre.errors = list(form.use_tat_cre.errors) + [
                    f"TAT-Cre replaces a Cre step, and the {plan.product_class} plan has none: untick it."
                ]
            elif action == "confirm":
                try:
                    req = ops.submit_request(
                        current_user,
                        strain=strain.emma_id,
                        target=form.target.data,
                        deliverable=form.deliverable.data,
                        use_tat_cre=form.use_tat_cre.data,
                        comment=form.comment.data,
                        billing=ops.Billing(
                            organisation=form.organisation.data,
                            address=form.address.data,
                            country=form.country.data,
                            sector=form.sector.data,
                            vat_number=form.vat_number.data or None,
                        ),
                    )
                except ApiError as exc:
                    making = ops.open_request_making(plan.product_symbol) if exc.status == 409 else None
                    if making is not None:  # offer to be told when it is archived
                        return render_template(
                            "requests/confirm.html", strain=strain, form=form, plan=plan, archived=None, making=making
                        ), 409
                    flash(exc.message, "error")
                    status = exc.status
                else:
                    flash(f"Request {req.reference} submitted: EMMA will review it.", "success")
                    return redirect(url_for(".show", request_id=req.id))
            elif action != "edit":
                archived = ops.archived_derivative(plan.product_symbol)
                making = None if archived else ops.open_request_making(plan.product_symbol)
                user = current_user._get_current_object()
                extras = [x for x in (extra(user, strain, plan, form) for extra in plan_extras(current_app)) if x]
                return render_template(
                    "requests/confirm.html",
                    strain=strain,
                    form=form,
                    plan=plan,
                    archived=archived,
                    making=making,
                    extras=extras,
                )
        if form.errors:
            status = 422
    return render_template(
        "requests/new.html",
        strain=strain,
        form=form,
        products=products,
        has_cre=has_cre,
        profiles=profiles,
        typical_months=[typical_months(1), typical_months(2)],
    ), status


# ---- one request ------------------------------------------------------------------
def _action_form(trigger: str) -> ActionForm:
    form = ActionForm(prefix=f"a-{trigger}")
    form.trigger.data = trigger
    form.reason.choices = opts([("", "Choose a reason…")] + list(cancel_reasons_for(_role()).items()))
    form.node.choices = []
    return form


def render_request(
    req: ConversionRequest,
    *,
    status: int = 200,
    replace: dict | None = None,
    open_action: str | None = None,
    message_body: str = "",
):
    """The request page; `replace` holds forms with errors to show again (an action's form under
    its trigger, a section's form under its key: the page's sections take those)."""
    from .estimates import estimate

    user = current_user._get_current_object()
    role = user.role.value
    triggers = action_order(ops.available_triggers(user, req))
    suggestions = ops.suggest_nodes(req) if "assign" in triggers else []
    replace = dict(replace or {})
    posted = {key: replace.pop(key) for key in list(replace) if key in triggers}  # shown again
    sections = [section(req, user, replace) for section in page_sections()]
    sections = [s for s in sections if s]
    fixes = {t: anchor for s in sections for t, anchor in s.get("fixes", {}).items()}
    timeline = threads.timeline(user, req.id)
    history_end = max((item.at for kind, item in timeline if kind == "event"), default=None)
    problems = ops.guard_problems(user, req)
    token = generate_csrf()  # the page's one token: its forms' CSRF fields (sections' templates: page_csrf)
    actions = action_forms(
        triggers,
        posted,
        fire_url=request_url("requests.fire", req.id),
        token=token,
        reasons=[("", "Choose a reason…"), *cancel_reasons_for(role).items()] if "cancel" in triggers else [],
        suggestions=suggestions,
        node=suggestions[0].node.code if suggestions and suggestions[0].ok else None,
        problems=problems,
        fixes=fixes,
        open_action=open_action,
        comment_required=lifecycle.COMMENT_REQUIRED,
    )
    return render_template(
        "requests/show.html",
        req=req,
        triggers=triggers,
        actions=actions,
        problems=problems,
        suggestions=suggestions,
        sections=sections,
        eta=estimate(req, history_end=history_end),
        facts=facts_html(req),
        page_csrf=token,
        plan=plan_html(plan_stages(req, sorted((e for kind, e in timeline if kind == "event"), key=_event_id))),
        open_action=open_action,
        timeline=timeline_html(timeline, role),
        message_body=message_body,
        can_write_notes=role != "requester",
        list_title=LIST_TITLES[role],
    ), status


def _event_id(event) -> int:
    return event.id


@bp.route("/requests/<int:request_id>")
@login_required
def show(request_id: int):
    return render_request(ops.get_request(current_user, request_id, detail=True))


@bp.route("/requests/<int:request_id>/messages", methods=["POST"])
@login_required
def message(request_id: int):
    """Write on the request's thread (an internal note when the box is ticked: EMMA staff only)."""
    body = request.form.get("body", "")
    try:
        threads.post_message(current_user, request_id, body=body, internal=request.form.get("internal") == "y")
    except ApiError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return render_request(
            ops.get_request(current_user, request_id, detail=True),
            status=exc.status,
            message_body=body[: threads.MAX_BODY],
        )
    flash("Note saved (EMMA staff only)." if request.form.get("internal") == "y" else "Message sent.", "success")
    return redirect(url_for(".show", request_id=request_id) + "#messages")


@bp.route("/requests/<int:request_id>/events", methods=["POST"])
@login_required
def fire(request_id: int):
    req = ops.get_request(current_user, request_id)
    trigger = request.form.get("trigger", "")
    form = _action_form(trigger) if trigger in lifecycle.TRIGGERS else None
    if form is None:
        flash(f"Unknown action {trigger!r}.", "error")
        return redirect(url_for(".show", request_id=req.id))
    if not form.validate():
        flash(_form_errors(form), "error")
        return render_request(req, status=400, replace={trigger: form}, open_action=trigger)
    data = {}
    if trigger == "assign":
        data["node"] = form.node.data
    elif trigger == "cancel":
        data["reason"] = form.reason.data
    try:
        req, event = ops.fire_trigger(current_user, req.id, trigger, comment=form.comment.data, **data)
    except ApiError as exc:
        flash(field_error(form, exc.message), "error")
        if request.form.get("next"):
            return redirect(_back(url_for(".show", request_id=request_id)))
        req = ops.get_request(current_user, request_id)
        return render_request(req, status=exc.status, replace={trigger: form}, open_action=trigger)
    message = confirmation(req, trigger)
    if trigger in ("pass_qc", "fail_qc", "resume", "decline", "rederivation_failed"):  # where to, then?
        message += f" Now {state_label(req.status).lower()}"
        message += f" (step {req.current_step} of {req.step_count})." if req.status == "breeding" else "."
    if (event.data or {}).get("notice"):
        message += " " + event.data["notice"]
    try:
        ops.get_request(current_user, req.id)
    except ApiError:  # committed, and out of the caller's view now (a staff decline): back to the list
        flash(message + " It has left your queue.", "success")
        return redirect(url_for(".index"))
    flash(message, "success")
    return redirect(_back(url_for(".show", request_id=req.id)))


# ---- coordinator: review queue ----------------------------------------------------
@bp.route("/review")
@login_required
def review():
    if current_user.role is not Role.coordinator:
        abort(403)
    # five statements, each row's HTML built once in review.py (no template loop per row)
    return render_template("requests/review.html", queue=review_queue())
