"""Words for states and triggers on pages, and the Jinja filters that use them."""
from __future__ import annotations

from datetime import date, datetime, timezone

STATE_LABELS = {
    "submitted": "Submitted", "approved": "Approved", "assigned": "Assigned to a node",
    "accepted": "Accepted by the node", "rederivation": "Rederivation", "breeding": "Breeding",
    "qc": "Quality control", "cryopreservation": "Cryopreservation", "ready": "Ready to ship",
    "shipped": "Shipped", "on_hold": "On hold", "rejected": "Rejected", "cancelled": "Cancelled",
    "completed": "Completed",
}

# Column headings where space is short (dashboard).
SHORT_LABELS = {"assigned": "Assigned", "accepted": "Accepted", "qc": "QC", "cryopreservation": "Cryo",
                "ready": "Ready", "rederivation": "Rederivation"}

# The button on a request page.
TRIGGER_LABELS = {
    "approve": "Approve", "reject": "Reject", "assign": "Assign to a node", "decline": "Decline",
    "accept": "Accept", "start_rederivation": "Start rederivation",
    "rederivation_failed": "Rederivation failed", "start_breeding": "Start breeding",
    "start_qc": "Start QC", "pass_qc": "QC passed", "fail_qc": "QC failed",
    "complete_cryopreservation": "Cryopreservation complete", "ship": "Mark as shipped",
    "confirm_delivery": "Confirm delivery", "hold": "Put on hold", "resume": "Resume",
    "cancel": "Cancel request",
}

# A line of the timeline.
HISTORY_LABELS = {
    "submit": "Request submitted", "approve": "Approved by EMMA", "reject": "Rejected by EMMA",
    "assign": "Assigned to a node", "decline": "Declined by the node", "accept": "Accepted by the node",
    "start_rederivation": "Rederivation started", "rederivation_failed": "Rederivation failed",
    "start_breeding": "Breeding started", "start_qc": "Quality control started",
    "pass_qc": "Quality control passed", "fail_qc": "Quality control failed",
    "complete_cryopreservation": "Cryopreservation completed", "ship": "Shipped",
    "confirm_delivery": "Delivery confirmed", "hold": "Put on hold", "resume": "Resumed",
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
    "start_qc": "Needs a deleter-negative animal carrying this step's product.",
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


DELIVERABLE_LABELS = {"frozen_sperm": "Frozen sperm", "frozen_embryos": "Frozen embryos",
                      "live_animals": "Live animals (up to 3 heterozygotes)"}


def state_label(state: str | None) -> str:
    return STATE_LABELS.get(state or "", (state or "").replace("_", " ").capitalize())


def short_label(state: str) -> str:
    return SHORT_LABELS.get(state) or state_label(state)


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
    return value.astimezone(timezone.utc).strftime("%d %b %Y, %H:%M UTC")


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%d %b %Y")


def init_app(app) -> None:
    app.add_template_filter(state_label, "state_label")
    app.add_template_filter(short_label, "short_label")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(weeks, "weeks")
    app.add_template_filter(trigger_label, "trigger_label")
    app.add_template_filter(history_label, "history_label")
    app.add_template_filter(fmt_datetime, "datetime")
    app.add_template_filter(fmt_date, "date")
    app.jinja_env.globals.setdefault("DELIVERABLE_LABELS", DELIVERABLE_LABELS)
    app.jinja_env.globals.setdefault("NOW", NOW)
    from ..countries import country_name

    app.jinja_env.globals.setdefault("country_name", country_name)
