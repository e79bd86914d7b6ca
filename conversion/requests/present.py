"""Words for states and triggers on pages, and the Jinja filters that use them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from jinja2 import pass_context, pass_eval_context
from markupsafe import Markup, escape

from workflows.lifecycle import STATE_LABELS, STATE_SHORT_LABELS, TRIGGER_LABELS  # the one place naming them

from ..catalogue.present import esc


def humanize(message: str, fields: dict[str, str] | None = None) -> tuple[str, str | None]:
    """An operation's message in people's words: field names become their labels ("mta_signed_on"
    -> "MTA signed on"), quoted trigger and state names their labels. Returns (text, the first
    field named, to show the error next to it)."""
    hit = None
    for name, label in (fields or {}).items():
        pattern = rf"(?<![\w']){re.escape(name)}(?![\w'])"
        if re.search(pattern, message):
            hit = hit or name
            if label.lower() != name:
                message = re.sub(pattern, label.replace("\\", "\\\\"), message)

    def word(m: re.Match) -> str:
        label = TRIGGER_LABELS.get(m[1]) or STATE_LABELS.get(m[1])
        return f"“{label}”" if label else m[0]

    message = re.sub(r"'([a-z_]+)'", word, message)
    return message, hit


# Actions that undo or stop work: shown after the others, in red.
DESTRUCTIVE = ("reject", "decline", "rederivation_failed", "fail_qc", "cancel")


def action_order(triggers: list[str]) -> list[str]:
    """The primary (forward) actions first, then hold / resume, then the destructive ones."""

    def rank(t: str) -> int:
        return 2 if t in DESTRUCTIVE else 1 if t in ("hold", "resume") else 0

    return sorted(triggers, key=rank)


def confirmation(req, trigger: str) -> str:
    """What a flash says after an action: names what happened ("AC-2026-00002: Assigned to ICS.")."""
    if trigger == "assign" and getattr(req, "node", None) is not None:
        return f"{req.reference}: Assigned to {req.node.code}."
    return f"{req.reference}: {history_label(trigger)}."


# A line of the timeline.
HISTORY_LABELS = {
    "submit": "Request submitted",
    "approve": "Approved by EMMA",
    "reject": "Rejected by EMMA",
    "assign": "Assigned to a node",
    "decline": "Declined by the node",
    "accept": "Accepted by the node",
    "start_rederivation": "Rederivation started",
    "rederivation_failed": "Rederivation failed",
    "start_breeding": "Breeding started",
    "start_qc": "Quality control started",
    "pass_qc": "Quality control passed",
    "fail_qc": "Quality control failed",
    "complete_cryopreservation": "Cryopreservation completed",
    "ship": "Shipped",
    "confirm_delivery": "Delivery confirmed",
    "hold": "Put on hold",
    "resume": "Resumed",
    "cancel": "Cancelled",
}

# Short help under a button: what firing it means.
TRIGGER_HELP = {
    "approve": "The request is sound: it can be assigned to a node.",
    "reject": "Refuse the request; the requester sees your reason.",
    "decline": "Your node cannot take this request: it goes back to the coordinator.",
    "accept": "Your node takes the request. Paperwork comes next.",
    "start_rederivation": "Needs the MTA date and a purchase order (or payment) recorded.",
    "rederivation_failed": "No pregnancies or no carriers: back to accepted to try again.",
    "start_breeding": "Needs a founder carrying the source allele.",
    "start_qc": "Needs a deleter-negative animal carrying this step's product, and a mating of the step not marked unsuccessful.",
    "pass_qc": "Needs a passing assay recorded for this step.",
    "fail_qc": "Back to breeding; say what failed.",
    "complete_cryopreservation": "Needs stored material and a passing test thaw.",
    "ship": "The material or animals have left the node.",
    "confirm_delivery": "The delivery has arrived: this completes the request.",
    "hold": "Pause the request; say why.",
    "resume": "Continue where the request was paused.",
    "cancel": "Stop the request for good.",
}

# What happens now, in words for everyone (shown above the buttons of a request page).
NOW = {
    "submitted": "EMMA reviews the request, usually within a week.",
    "approved": "EMMA is choosing a node with the deleter strains this plan needs.",
    "assigned": "The node decides whether it takes the request.",
    "accepted": "Work starts once the Material Transfer Agreement is signed and a purchase order "
    "(or payment) is recorded.",
    "rederivation": "The node revives the line from frozen material and genotypes the founders.",
    "breeding": "Crossing with the deleter and breeding the deleter transgene out.",
    "qc": "Genotyping assays confirm the new allele.",
    "cryopreservation": "The new line is frozen and a sample test-thawed.",
    "ready": "Ready: the node books the shipment.",
    "shipped": "On its way: confirm the delivery when it arrives.",
    "on_hold": "Paused: the timeline says why.",
    "completed": "Delivered: this request is closed.",
    "cancelled": "Cancelled: this request is closed.",
    "rejected": "Rejected: this request is closed.",
}

# Cancellation reasons as a requester chooses them (the stored slugs stay EMMA's: CANCEL_REASONS).
REQUESTER_CANCEL_REASONS = {
    "no_longer_required": "I no longer need the strain",
    "sourced_elsewhere": "I found the strain elsewhere",
    "delivery_too_long": "It would take too long",
    "charges_too_high": "It costs more than I can pay",
    "other": "Another reason (say which below)",
}


def cancel_reasons_for(role: str) -> dict[str, str]:
    """{slug: label} offered to and shown to a user of `role`."""
    from workflows.lifecycle import CANCEL_REASONS

    if role == "requester":
        return dict(REQUESTER_CANCEL_REASONS)
    return dict(CANCEL_REASONS)


def cancel_reason_label(slug: str | None, role: str) -> str:
    from workflows.lifecycle import CANCEL_REASONS

    if role == "requester" and slug in REQUESTER_CANCEL_REASONS:
        return REQUESTER_CANCEL_REASONS[slug]
    return CANCEL_REASONS.get(slug or "", slug or "")


# What an open request waits for, in the requester's words (their home page).
WAITS_FOR = {
    "submitted": "EMMA's review (usually within a week)",
    "approved": "EMMA to choose a node with the deleter strains the plan needs",
    "assigned": "the node to accept the request",
    "accepted": "your signed Material Transfer Agreement and a purchase order (or payment)",
    "rederivation": "the node to revive the line and genotype the founders",
    "breeding": "breeding with the deleter",
    "qc": "genotyping to confirm the new allele",
    "cryopreservation": "freezing the new line and a test thaw",
    "ready": "the node to ship it",
    "shipped": "you to confirm the delivery when it arrives",
    "on_hold": "the request to be resumed (the timeline says why it is paused)",
}

DELIVERABLE_LABELS = {
    "frozen_sperm": "Frozen sperm",
    "frozen_embryos": "Frozen embryos",
    "live_animals": "Live animals (up to 3 heterozygotes)",
}


def state_label(state: str | None) -> str:
    return STATE_LABELS.get(state or "", (state or "").replace("_", " ").capitalize())


def short_label(state: str) -> str:
    return STATE_SHORT_LABELS.get(state) or state_label(state)


def duration(days: float | None) -> str:
    """3 h, 4.5 days, 12.3 weeks."""
    if days is None:
        return ""
    if days < 1:
        return f"{days * 24:.0f} h"
    if days < 14:
        return f"{days:.1f} days"
    return f"{days / 7:.1f} weeks"


def weeks(days: float | None) -> str:
    if days is None:
        return ""
    n = round(days / 7)
    return f"{n} week{'s' if n != 1 else ''}"


def trigger_label(trigger: str) -> str:
    return TRIGGER_LABELS.get(trigger, trigger.replace("_", " ").capitalize())


def history_label(trigger: str) -> str:
    return HISTORY_LABELS.get(trigger, trigger.replace("_", " ").capitalize())


def fmt_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y}"


@dataclass
class Stage:
    key: str
    title: str
    detail: str = ""
    mark: str = "todo"  # done | current | held | stopped | todo
    allele: str = ""

    @property
    def mark_label(self) -> str:
        return {"done": "done", "current": "now", "held": "on hold here", "stopped": "stopped here", "todo": "to do"}[
            self.mark
        ]


def _stage_key(state: str | None, step: int) -> str | None:
    if state in ("breeding", "qc"):
        return f"{state}-{step}"
    return {
        "submitted": "review",
        "approved": "assignment",
        "assigned": "assignment",
        "accepted": "paperwork",
        "rederivation": "rederivation",
        "cryopreservation": "cryo",
        "ready": "shipping",
        "shipped": "delivery",
    }.get(state or "")


def _stopped_in(req, history=None) -> str | None:
    """The open state a rejected or cancelled request left (skipping a hold); `history`: its events
    in order when the caller read them already (else the request's)."""
    events = list(getattr(req, "history", None) or []) if history is None else history
    for i in range(len(events) - 1, -1, -1):
        if events[i].to_status == req.status:
            state = events[i].from_status
            if state == "on_hold" and i > 0:
                state = events[i - 1].from_status
            return state
    return None


def plan_stages(req, history=None) -> list[Stage]:
    """Every stage of the request's life, in order, each marked done / current / to do (`history`:
    the request's events in order, when the caller read them already)."""
    node = getattr(req, "node", None)
    stages = [
        Stage("review", "Review by EMMA", "The request and its plan are checked."),
        Stage(
            "assignment",
            "Assignment to a node",
            f"{node.name} ({node.code})" if node else "A node with the deleter strains the plan needs.",
        ),
        Stage("paperwork", "Paperwork", "Material Transfer Agreement signed; purchase order or payment."),
        Stage("rederivation", "Rederivation", "The line is revived from frozen material; founders genotyped."),
    ]
    steps = list(req.steps or [])
    for n, st in enumerate(steps, start=1):
        tat = getattr(req, "use_tat_cre", False) and st.get("recombinase") == "Cre"
        how = "TAT-Cre on IVF embryos" if tat else f"{st.get('recombinase')} deleter cross"
        arrow = f"{st.get('from_class')} → {st.get('to_class')}"
        prefix = f"Step {n}: " if len(steps) > 1 else ""
        stages.append(
            Stage(
                f"breeding-{n}",
                f"{prefix}{how}",
                "Pups carrying the product selected, the deleter bred out.",
                allele=arrow,
            )
        )
        stages.append(
            Stage(
                f"qc-{n}",
                f"{prefix}quality control" if prefix else "Quality control",
                f"Genotyping assays confirm {st.get('to_class')}.",
            )
        )
    stages += [
        Stage("cryo", "Cryopreservation", "Sperm or embryos frozen; a sample test-thawed."),
        Stage("shipping", "Shipping", "The node sends the material or animals."),
        Stage("delivery", "Delivery", "You confirm the delivery has arrived."),
    ]
    keys = [st.key for st in stages]
    status = req.status
    if status == "completed":
        for st in stages:
            st.mark = "done"
        return stages
    mark = "current"
    state = status
    if status == "on_hold":
        state, mark = req.held_status, "held"
    elif status in ("rejected", "cancelled"):
        state, mark = _stopped_in(req, history), "stopped"
    key = _stage_key(state, req.current_step)
    if key not in keys:
        return stages
    at = keys.index(key)
    for i, st in enumerate(stages):
        st.mark = "done" if i < at else mark if i == at else "todo"
    return stages


def plan_html(stages: list[Stage]) -> Markup:
    """The request page's plan (plan_stages), built here rather than in a Jinja loop."""
    out = []
    for st in stages:
        current = ' aria-current="step"' if st.mark in ("current", "held") else ""
        allele = f'<span class="allele">{esc(st.allele)}</span>' if st.allele else ""
        detail = f"<small>{esc(st.detail)}</small>" if st.detail else ""
        out.append(
            f'\n        <li class="step step-{esc(st.mark)}"{current}>\n'
            f"          <strong>{esc(st.title)}</strong>\n"
            f"          {allele}\n"
            f'          <span class="step-state">{esc(st.mark_label)}</span>\n'
            f"          {detail}\n"
            f"        </li>\n      "
        )
    return Markup("".join(out))


@lru_cache(maxsize=4096)  # a pure function of the name, a few hundred calls each: pages repeat strains
def strain_name(name: str | None) -> Markup:
    """A strain name that may break after a slash, never inside a part ("C57BL/" "6N-Gene<tm1b(...)>/" "H")."""
    from ..alleles import plain_form
    from ..catalogue.present import allele_html

    parts = re.findall(r"(?:<[^<>]*>|[^/<])+/?|/", plain_form(name or ""))
    # the allele part as superscript (catalogue.present.allele_html), never broken
    return Markup("<wbr>".join([f'<span class="seg">{allele_html(p)}</span>' for p in parts]))


def node_options(ranked, selected: str | None) -> Markup:
    """The <option>s of an assign select, best-ranked node first (ops.suggest_nodes): built here
    rather than in a template loop, which costs as much as the rest of the review queue."""
    out = []
    for i, s in enumerate(ranked):
        code = escape(s.node.code)
        if s.ok:
            label = f"{code}{' · holds stock' if s.holds_stock else ''} · {s.open_requests} open"
            label += " · suggested" if i == 0 else ""
        else:
            label = f"{code} · cannot"
        flags = (" selected" if s.node.code == selected else "") + ("" if s.ok else " disabled")
        out.append(f'<option value="{code}"{flags}>{label}</option>')
    return Markup("".join(out))


def iso(value: date | datetime) -> str:
    """ISO 8601 (UTC with Z for times): CSV exports and machine-readable attributes."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _time_tag(value: date | datetime) -> Markup:
    text = fmt_datetime(value) if isinstance(value, datetime) else fmt_date(value)
    return Markup(f'<time class="date" datetime="{iso(value)}">{esc(text)}</time>')


def _parsed(value):
    """Dates arrive as date objects or, from records' JSON, as ISO 8601 text."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return None
    return value


def date_tag(value) -> Markup | str:
    """A date (or the date of a time, or ISO 8601 text) as a page shows it: `{{ value | date }}`."""
    if isinstance(value, str):
        return _date_tag_of_text(value)
    return _date_tag(value)


@lru_cache(maxsize=4096)  # lab records' dates are ISO text, a page shows the same few many times
def _date_tag_of_text(text: str) -> Markup | str:
    return _date_tag(text)


def _date_tag(value) -> Markup | str:
    value = _parsed(value)
    if value is None or value == "":
        return ""
    return _time_tag(value.date() if isinstance(value, datetime) else value)


def datetime_tag(value) -> Markup | str:
    """A time (or ISO 8601 text) as a page shows it: `{{ value | datetime }}`."""
    value = _parsed(value)
    if value is None or value == "":
        return ""
    return _time_tag(value)


@pass_eval_context
def _date_filter(eval_ctx, value):
    if eval_ctx.autoescape:
        return date_tag(value)
    value = _parsed(value)
    return "" if value is None or value == "" else fmt_date(value)


@pass_eval_context
def _datetime_filter(eval_ctx, value):
    if eval_ctx.autoescape:
        return datetime_tag(value)
    value = _parsed(value)
    return "" if value is None or value == "" else fmt_datetime(value)


@pass_context
def _finalize(context, value):
    """Every date printed on a page has one format ("15 Jan 2026", times with "UTC") and never
    wraps (<time class="date">); plain-text emails get the text, PDFs keep their own format."""
    if isinstance(value, (date, datetime)) and not (context.name or "").startswith("invoices/pdf/"):
        if context.eval_ctx.autoescape:
            return _time_tag(value)
        return fmt_datetime(value) if isinstance(value, datetime) else fmt_date(value)
    return value


def init_app(app) -> None:
    app.jinja_env.finalize = _finalize
    app.add_template_filter(state_label, "state_label")
    app.add_template_filter(short_label, "short_label")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(weeks, "weeks")
    app.add_template_filter(trigger_label, "trigger_label")
    app.add_template_filter(history_label, "history_label")
    app.add_template_filter(_datetime_filter, "datetime")
    app.add_template_filter(_date_filter, "date")
    app.add_template_filter(iso, "iso")
    app.add_template_filter(strain_name, "strain_name")
    app.add_template_filter(node_options, "node_options")
    app.add_template_global(plan_stages, "plan_stages")
    app.add_template_global(form_field, "form_field")
    app.add_template_global(form_radios, "form_radios")
    app.add_template_global(request_url, "request_url")
    app.jinja_env.globals.setdefault("DELIVERABLE_LABELS", DELIVERABLE_LABELS)
    app.jinja_env.globals.setdefault("NOW", NOW)
    app.jinja_env.globals.setdefault("WAITS_FOR", WAITS_FOR)
    from ..countries import country_name

    app.jinja_env.globals.setdefault("country_name", country_name)


def options_html(choices, selected: str | None = None) -> Markup:
    """The <option>s of a select from (value, label) pairs or WTForms choices, as WTForms renders them."""
    out = []
    for choice in choices:
        value, label = choice[0], choice[1]
        flag = "selected " if selected is not None and str(value) == selected else ""
        out.append(f'<option {flag}value="{escape(value)}">{escape(label)}</option>')
    return Markup("".join(out))


@lru_cache(maxsize=256)
def filter_options(choices: tuple, selected) -> Markup:
    """The <option>s of one of the list's filters (requests/list.html) from (value, label) pairs,
    the one equal to `selected` selected: a few dozen per page, built once per choice made."""
    return Markup(
        "".join(
            f'<option value="{esc(value)}"{" selected" if value == selected else ""}>{esc(label)}</option>'
            for value, label in choices
        )
    )


@lru_cache(maxsize=2048)
def _date_cell(day: date) -> str:
    """date_tag() of a day: a page of rows shares few days, so each is formatted once."""
    return str(_time_tag(day))


@lru_cache(maxsize=2048)
def _product_cell(symbol: str | None) -> str:
    """The product column (allele_html): a list's products are a few symbols many times over."""
    from ..catalogue.present import allele_html

    return f'<span class="allele">{allele_html(symbol)}</span>'


@lru_cache(maxsize=64)
def _status_cell(status: str) -> str:
    return f'<span class="badge status badge-{esc(status)}">{esc(state_label(status))}</span>'


def _day(value) -> str:
    if isinstance(value, datetime):
        return _date_cell(value.date())
    return str(date_tag(value))


def list_rows(items, *, pick: bool) -> Markup:
    """The rows of a request list (requests/list.html) from listing.Row items, built here: a Jinja
    loop with a macro, a url_for and four filters per row cost a third of the staff queue's CPU;
    then a Markup per cell (escape) and a date formatted per cell were most of what was left."""
    from ..urls import id_url

    show = id_url("requests.show")
    rows = []
    for r in items:
        rid, ref = r.id, esc(r.reference)
        box = (
            f'\n      <td class="pick"><input type="checkbox" name="ids" value="{rid}" id="pick-{rid}" '
            f'aria-label="Select {ref}"></td>'
            if pick
            else ""
        )
        code = r.node_code
        rows.append(
            f"\n    <tr>{box}\n"
            f'      <td data-label="Reference"><a class="id" href="{show(rid)}"><strong>{ref}</strong></a></td>\n'
            f'      <td data-label="Status">{_status_cell(r.status)}</td>\n'
            f'      <td data-label="Strain"><span class="id">{esc(r.emma_id)}</span></td>\n'
            f'      <td data-label="Gene">{esc(r.gene)}</td>\n'
            f'      <td data-label="Product">{_product_cell(r.product_symbol)}</td>\n'
            f'      <td data-label="Node">{"—" if code is None else esc(code)}</td>\n'
            f'      <td data-label="Requester" class="minor">{esc(r.email)}</td>\n'
            f'      <td data-label="Submitted">{_day(r.created_at)}</td>\n'
            f'      <td data-label="Last change" class="minor">{_day(r.updated_at)}</td>\n'
            f"    </tr>"
        )
    return Markup("".join(rows))


@lru_cache(maxsize=1024)  # an Author of messages.timeline: a timeline names a few people many times
def _who(person) -> str:
    node = person.node
    where = f", {esc(node.code)}" if node else ""
    return f'{esc(person.display_name)} <span class="muted">({esc(person.role.value)}{where})</span>'


@lru_cache(maxsize=256)
def _state_html(state: str | None) -> Markup:
    return escape(state_label(state))


@lru_cache(maxsize=256)
def _history_html(trigger: str) -> Markup:
    return escape(history_label(trigger))


def _at_html(value) -> Markup | str:
    """datetime_tag(value) of a time (no parsing; the text is digits and month names)."""
    if not isinstance(value, datetime):
        return datetime_tag(value)
    u = value.astimezone(UTC)
    stamp = u.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return f'<time class="date" datetime="{stamp}">{u.day} {u:%b %Y, %H:%M} UTC</time>'


STAFF_ONLY_BADGE = '<span class="badge badge-on_hold">EMMA staff only</span>'


def timeline_html(items: list[tuple[str, Any]], role: str) -> Markup:
    """The request page's timeline entries (messages.timeline: history events and
    messages in time order), built here rather than in a Jinja loop of a dozen tags per entry."""
    out = []
    for kind, e in items:
        if kind == "event":
            data = e.data or {}
            moved = ""
            if e.from_status:
                moved = f'<span class="muted">{_state_html(e.from_status)} → {_state_html(e.to_status)}</span>'
            extra = ""
            if data.get("node"):
                extra += f"\n      <div>Node: {esc(data['node'])}</div>"
            if data.get("reason"):
                extra += f"\n      <div>Reason: {esc(cancel_reason_label(data['reason'], role))}</div>"
            if e.comment:
                extra += f"\n      <blockquote>{esc(e.comment)}</blockquote>"
            if data.get("notice"):
                extra += f'\n      <p class="note">{esc(data["notice"])}</p>'
            out.append(
                f'\n    <li class="tl-{esc(e.to_status)}">\n'
                f'      <div class="tl-head">\n'
                f"        <strong>{_history_html(e.trigger)}</strong>\n"
                f"        {moved}\n"
                f"      </div>\n"
                f'      <div class="tl-meta">{_at_html(e.at)} · {_who(e.actor)}</div>{extra}\n'
                f"    </li>"
            )
        else:
            internal, at = e.internal, e.created_at
            out.append(
                f'\n    <li class="tl-message{" tl-internal" if internal else ""}" id="message-{e.id}">\n'
                f'      <div class="tl-head"><strong>{"Internal note" if internal else "Message"}</strong>\n'
                f"        {STAFF_ONLY_BADGE if internal else ''}</div>\n"
                f'      <div class="tl-meta"><time datetime="{esc(at.isoformat())}">{_at_html(at)}</time> · '
                f"{_who(e.author)}</div>\n"
                f'      <blockquote class="pre">{esc(e.body)}</blockquote>\n'
                f"    </li>"
            )
    return Markup("".join(out))


def _select_html(f, kwargs: dict) -> Markup | None:
    """`f(**kwargs)` of a plain SelectField as WTForms renders it, without its html_params and
    Choice objects per option (the lab forms' dam, sire and animal selects list every animal);
    None for any other field, grouped choices or choices with their own attributes."""
    from wtforms.fields import SelectField
    from wtforms.widgets import Select, html_params

    if type(f) is not SelectField or type(f.widget) is not Select or f.widget.multiple:
        return None
    choices = f._choices_from_input(f.choices) or []
    if any(c.optgroup is not None or c.render_kw or c.value is None for c in choices):
        return None
    kwargs = {**(f.render_kw or {}), **kwargs}
    kwargs.setdefault("id", f.id)
    flags = f.flags
    for k in dir(flags):
        if k in Select.validation_attrs and k not in kwargs:
            kwargs[k] = getattr(flags, k)
    data, coerce = f.data, f.coerce
    out = [f"<select {html_params(name=f.name, **kwargs)}>"]
    for c in choices:
        value = str(c.value) if isinstance(c.value, bool) else c.value
        selected = "selected " if coerce(c.value) == data else ""
        out.append(f'<option {selected}value="{esc(value)}">{esc(c.label or c.value)}</option>')
    out.append("</select>")
    return Markup("".join(out))


_FIELDS: dict[tuple, Markup] = {}
_PLAIN = frozenset({"StringField", "IntegerField", "StrictDateField", "TextAreaField", "FileField", "DateField"})


def form_field(f, hint: str | None = None, wide: bool = False, **attrs) -> Markup:
    """A labelled WTForms field with its hint and errors wired up for screen readers: the `field`
    macro of requests/_macros.html, in Python (the lab workspace renders a few dozen per page).

    A field without choices, errors or posted text is the same HTML whenever its form class
    (its validators: the flags), name, label, value and the arguments are: built once."""
    key = None
    if type(f).__name__ in _PLAIN and not f.errors and not f.raw_data:
        key = (type(f), tuple(f.validators), f.id, f.name, f.label.text, repr(f.data), hint, wide, *attrs.items())
        html = _FIELDS.get(key)
        if html is not None:
            return html
    html = _form_field(f, hint, wide, attrs)
    if key is not None and len(_FIELDS) < 10_000:
        _FIELDS[key] = html
    return html


def _form_field(f, hint: str | None, wide: bool, attrs: dict) -> Markup:
    fid = esc(f.id)
    errors = f.errors
    label = f'<label for="{fid}">{esc(f.label.text)}</label>'  # as WTForms' f.label(for_=f.id)
    out = [f'<div class="field{" wide" if wide else ""}{" has-error" if errors else ""}">\n  {label}\n']
    if hint:
        out.append(f'  <p class="hint" id="{fid}-hint">{esc(hint)}</p>\n')
    described = ((f"{f.id}-hint " if hint else "") + (f"{f.id}-error" if errors else "")).strip()
    if described:
        attrs["aria-describedby"] = described
    if errors:
        attrs["aria-invalid"] = "true"
    out.append(f"  {_select_html(f, attrs) or f(**attrs)}\n")
    if errors:
        out.append(f'  <p class="field-error" id="{fid}-error">{" ".join(str(esc(e)) for e in errors)}</p>\n')
    out.append("</div>")
    return Markup("".join(out))


_DANGER = ("reject", "decline", "cancel", "fail_qc", "rederivation_failed")


def action_forms(
    triggers: list[str],
    posted: dict,
    *,
    fire_url: str,
    token: str,
    reasons: list,
    suggestions: list,
    node: str | None,
    problems: dict[str, str],
    fixes: dict[str, str],
    open_action: str | None,
    comment_required,
) -> Markup:
    """The request page's action forms, one per trigger, built here with the page's one CSRF token
    rather than a WTForm each rendered in a Jinja loop; `posted` holds the ActionForms shown again
    with their values and errors (rendered by WTForms). `node`: the assign select's choice."""
    out = ["\n    "]
    for t in triggers:
        f = posted.get(t)
        danger = t in _DANGER
        tucked = danger or t == "hold"
        needs_input = t in comment_required or t in ("cancel", "assign")
        label = esc(trigger_label(t))
        et = esc(t)
        prefix = f"a-{et}"
        out.append("\n      \n      \n      \n      \n      ")
        if tucked:
            out.append(f'<details class="action-more"{" open" if open_action == t else ""}><summary>{label}…</summary>')
        csrf = (
            f.csrf_token()
            if f is not None
            else f'<input id="{prefix}-csrf_token" name="{prefix}-csrf_token" type="hidden" value="{token}">'
        )
        out.append(
            f'\n      <form method="post" action="{esc(fire_url)}" class="action{" action-danger" if danger else ""}"'
            f' id="action-{et}">\n        {csrf}\n        <input type="hidden" name="trigger" value="{et}">\n        '
        )
        if t == "assign":
            chosen = f.node.data if f is not None else node
            options = []
            for i, s in enumerate(suggestions):
                code = esc(s.node.code)
                flags = (" selected" if chosen == s.node.code else "") + ("" if s.ok else " disabled")
                if s.ok:
                    extra = (" · suggested" if i == 0 else "") + (" · holds stock" if s.holds_stock else "")
                else:
                    extra = " · cannot"
                options.append(f'<option value="{code}"{flags}>{code}{extra}</option>')
            out.append(
                f'\n          <label for="{prefix}-node">Node</label>\n'
                f'          <select name="{prefix}-node" id="{prefix}-node" required>\n'
                f"            {''.join(options)}\n          </select>\n        "
            )
        out.append("\n        ")
        if t == "cancel":
            select = (
                f.reason(required=True)
                if f is not None
                else f'<select id="{prefix}-reason" name="{prefix}-reason" required>{options_html(reasons)}</select>'
            )
            out.append(f'\n          <label for="{prefix}-reason">Reason</label>\n          {select}\n        ')
        out.append("\n        ")
        if needs_input or open_action == t:
            required = t in comment_required
            if f is not None:
                box = f.comment(rows=2, required=required)
                errors = "".join(f'<p class="field-error">{esc(e)}</p>' for e in f.comment.errors)
            else:
                box = (
                    f'<textarea id="{prefix}-comment" maxlength="4000" name="{prefix}-comment"'
                    f'{" required" if required else ""} rows="2">\r\n</textarea>'
                )
                errors = ""
            out.append(
                f'\n          <label for="{prefix}-comment">{"Why? (required)" if required else "Comment (optional)"}'
                f"</label>\n          {box}\n          {errors}\n        "
            )
        css = ' class="danger"' if danger else ' class="secondary"' if t in ("hold", "resume") else ""
        if t in problems:
            css += f' disabled aria-describedby="why-{et}"'
            fix = fixes.get(t)
            link = f' <a href="#{esc(fix)}" class="fix-link">Go to the form</a>' if fix else ""
            note = f'<p class="why" id="why-{et}">{esc(problems[t])}.{link}</p>'
        else:
            note = f'<p class="hint">{esc(TRIGGER_HELP.get(t, ""))}</p>'
        out.append(
            f'\n        <button type="submit"{css}>{label}</button>\n        {note}\n      </form>\n      '
            f"{'</details>' if tucked else ''}\n    "
        )
    return Markup("".join(out))


def form_radios(f) -> Markup:
    """A WTForms radio field as a fieldset: the `radios` macro of requests/_macros.html, in Python
    (importing the macros cost the request page a template module per render)."""
    errors = f.errors
    described = f' aria-describedby="{esc(f.id)}-error"' if errors else ""
    choices = "".join(f'<label class="choice">{opt()} <span>{esc(opt.label.text)}</span></label>' for opt in f)
    error = f'<p class="field-error" id="{esc(f.id)}-error">{Markup(" ").join(errors)}</p>' if errors else ""
    return Markup(
        f'<fieldset class="field radios{" has-error" if errors else ""}"{described}>\n'
        f"  <legend>{esc(f.label.text)}</legend>\n  \n  {choices}\n  {error}\n</fieldset>"
    )


def facts_html(req) -> Markup:
    """The request page's details (the lines of its <dl class="facts">), built here rather than in a
    template of thirty expressions."""
    from ..catalogue.present import allele_html
    from ..countries import country_name

    strain, node, requester = req.strain, req.node, req.requester
    product = f'<span class="allele">{allele_html(req.product_symbol)}</span>'
    if req.product_strain_name:
        product += f'<br><span class="strain">{strain_name(req.product_strain_name)}</span>'
    archived = ""
    if req.archived_strain:
        emma_id = esc(req.archived_strain.emma_id)
        href = esc(strain_url(req.archived_strain.emma_id))
        archived = f'<dt>Archived as</dt><dd><a class="id" href="{href}">{emma_id}</a>: the product is in the EMMA catalogue</dd>'
    deliverable = req.deliverable.value
    vat = f" · VAT {esc(req.billing_vat_number)}" if req.billing_vat_number else ""
    return Markup(
        f'      <dt>Strain</dt><dd><a class="id" href="{esc(strain_url(strain.emma_id))}">'
        f'{esc(strain.emma_id)}</a> <span class="strain">{strain_name(strain.strain_name)}</span></dd>\n'
        f"      <dt>Product</dt><dd>{product}</dd>\n"
        f"      {archived}\n"
        f"      <dt>Deliver as</dt><dd>{esc(DELIVERABLE_LABELS.get(deliverable, deliverable))}</dd>\n"
        f"      <dt>Node</dt><dd>{f'{esc(node.name)} ({esc(node.code)})' if node else 'not assigned yet'}</dd>\n"
        f"      <dt>Requester</dt><dd>{esc(requester.display_name)} &lt;{esc(requester.email)}&gt;</dd>\n"
        f"      <dt>Billing</dt><dd>{esc(req.billing_organisation)}, {esc(country_name(req.billing_country))} · "
        f'{esc(req.billing_sector.value)}{vat}<br><small class="pre">{esc(req.billing_address)}</small></dd>\n'
        f"      <dt>Submitted</dt><dd>{datetime_tag(req.created_at)}</dd>"
    )


_URL_AS_IS = re.compile(r"[A-Za-z0-9:._~-]+")  # what url_for writes unquoted in a path


def strain_url(emma_id: str) -> str:
    """`url_for("catalogue.strain", emma_id=emma_id)`: an EMMA id (EM:05402) is written as it is, so
    the text around it is built once per script root (urls.url_around)."""
    from flask import url_for

    from ..urls import url_around

    if not _URL_AS_IS.fullmatch(emma_id):
        return url_for("catalogue.strain", emma_id=emma_id)
    head, tail = url_around("catalogue.strain", "emma_id", "EM:00000")
    return f"{head}{emma_id}{tail}"


_REQUEST_URLS: dict[tuple[str, str], tuple[str, str]] = {}


def request_url(endpoint: str, request_id: int) -> str:
    """`url_for(endpoint, request_id=request_id)` for an endpoint whose only argument is the request:
    the same text around the id on every page of a deployment (for its script root), so built once
    per endpoint rather than by a url_for per form of the request page."""
    from flask import request, url_for

    from ..urls import MAX_ID

    key = (request.script_root, endpoint)
    parts = _REQUEST_URLS.get(key)
    if parts is None:
        head, _, tail = url_for(endpoint, request_id=MAX_ID).partition(str(MAX_ID))
        parts = (head, tail)
        if len(_REQUEST_URLS) < 1_000:
            _REQUEST_URLS[key] = parts
    return f"{parts[0]}{int(request_id)}{parts[1]}"
