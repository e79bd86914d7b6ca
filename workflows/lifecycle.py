"""The request lifecycle: one `transitions.Machine`, built once, that moves any request-like
object (a plain object in tests, the ORM row in the app) through the states of the contract.

    fired = fire(obj, "approve", Actor(role="coordinator"))

Checks run in this order, and a refusal leaves the object untouched:
unknown trigger (UnknownTrigger) -> wrong state (NotAllowed) -> who (Forbidden)
-> data such as comment, node, reason (InvalidData) -> guard on lab records (GuardFailed).

No object is ever registered with the machine: `Event.trigger(obj, ...)` evaluates a trigger
for the object passed, reading and writing `obj.status`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from transitions import Machine, MachineError

from .errors import Forbidden, GuardFailed, InvalidData, LifecycleError, NotAllowed, UnknownTrigger

__all__ = [
    "STATES",
    "OPEN_STATES",
    "FINAL_STATES",
    "TRIGGERS",
    "CANCEL_REASONS",
    "WHO_MAY",
    "STATE_LABELS",
    "STATE_SHORT_LABELS",
    "TRIGGER_LABELS",
    "RequestLike",
    "Actor",
    "Rule",
    "Fired",
    "machine",
    "fire",
    "available_triggers",
    "guard_problems",
    "parse_cancel_reason",
]

OPEN_STATES: tuple[str, ...] = (
    "submitted",
    "approved",
    "assigned",
    "accepted",
    "rederivation",
    "breeding",
    "qc",
    "cryopreservation",
    "ready",
    "shipped",
    "on_hold",
)
FINAL_STATES: tuple[str, ...] = ("rejected", "cancelled", "completed")
STATES: tuple[str, ...] = OPEN_STATES + FINAL_STATES
HOLDABLE: tuple[str, ...] = tuple(s for s in OPEN_STATES if s != "on_hold")

TRIGGERS: tuple[str, ...] = (
    "approve",
    "reject",
    "assign",
    "decline",
    "accept",
    "start_rederivation",
    "rederivation_failed",
    "start_breeding",
    "start_qc",
    "pass_qc",
    "fail_qc",
    "complete_cryopreservation",
    "ship",
    "confirm_delivery",
    "hold",
    "resume",
    "cancel",
)

CANCEL_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "no_response": "No response from client",
        "sourced_elsewhere": "Stock sourced elsewhere",
        "delivery_too_long": "Delivery time too long",
        "charges_too_high": "Charges too high",
        "no_longer_required": "Strain no longer required",
        "qc_failed": "QC failed",
        "delayed_shipment": "Customer requested delayed shipment",
        "other": "Other",
    }
)

#: The one place that names states and actions for people (pages, emails, CSV, the diagram).
STATE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "submitted": "Submitted",
        "approved": "Approved",
        "assigned": "Assigned to a node",
        "accepted": "Accepted by the node",
        "rederivation": "Rederivation",
        "breeding": "Breeding",
        "qc": "Quality control",
        "cryopreservation": "Cryopreservation",
        "ready": "Ready to ship",
        "shipped": "Shipped",
        "on_hold": "On hold",
        "rejected": "Rejected",
        "cancelled": "Cancelled",
        "completed": "Completed",
    }
)
#: Where space is short (dashboard columns, chart axes); other states use STATE_LABELS.
STATE_SHORT_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "assigned": "Assigned",
        "accepted": "Accepted",
        "qc": "QC",
        "cryopreservation": "Cryo",
        "ready": "Ready",
    }
)
TRIGGER_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "approve": "Approve",
        "reject": "Reject",
        "assign": "Assign to a node",
        "decline": "Decline",
        "accept": "Accept",
        "start_rederivation": "Start rederivation",
        "rederivation_failed": "Rederivation failed",
        "start_breeding": "Start breeding",
        "start_qc": "Start QC",
        "pass_qc": "QC passed",
        "fail_qc": "QC failed",
        "complete_cryopreservation": "Cryopreservation complete",
        "ship": "Mark as shipped",
        "confirm_delivery": "Confirm delivery",
        "hold": "Put on hold",
        "resume": "Resume",
        "cancel": "Cancel request",
    }
)

COMMENT_REQUIRED = frozenset({"reject", "decline", "rederivation_failed", "fail_qc", "hold", "resume"})
OWNER_MAY_CANCEL_IN = frozenset({"submitted", "approved", "assigned"})


# ---- the object the machine drives ------------------------------------------
@runtime_checkable
class RequestLike(Protocol):
    """What the lifecycle reads and writes on a request.

    `status`, `held_status` and `current_step` are written by transitions; the methods are
    facts the ORM row answers from lab records. An optional `step_product_label` (e.g.
    "tm1c") makes guard messages name the allele."""

    status: str
    held_status: str | None
    current_step: int  # 1-based
    step_count: int
    target: str  # "b", "c", "d", "e.1", ".1", ".2"

    def missing_paperwork(self) -> list[str]:
        """Missing items, e.g. ["MTA signature date"]; empty when complete."""

    def has_source_founder(self) -> bool:
        """A founder carrying the source allele is recorded."""

    def has_step_product_animal(self) -> bool:
        """An animal carrying the current step's product allele, deleter-transgene negative."""

    def step_matings_unsuccessful(self) -> bool:
        """Every mating of the current step (not voided; at least one) is marked unsuccessful: the
        peers, iMits and GenTaR, gate excision on a successful mating. A mating not judged yet may
        still be the one (the contract's lab records carry no success flag)."""

    def passing_assays_in_step(self) -> int:
        """Number of passing QC assays recorded in the current step."""

    def three_prime_loxp_loss(self) -> str | None:
        """None unless a failed "3' loxP PCR" is recorded and the allele engine says the target
        cannot be made without that site (then the engine's sentence: tm1a without its 3' loxP is
        tm1e, on which Cre gives tm1e.1, so even tm1b is lost)."""

    def cryo_problem(self) -> str | None:
        """None when material is stored and a test thaw passed; else the reason."""

    def shipment_problem(self) -> str | None:
        """None when a shipment (not voided) is recorded; else the reason."""

    def node_problem(self, node_code: str) -> str | None:
        """None when the node offers conversion and has the deleters the plan needs."""


# ---- who may -----------------------------------------------------------------
@dataclass(frozen=True)
class Actor:
    role: str  # "requester" | "staff" | "coordinator"
    is_owner: bool = False  # the request's requester
    is_node_staff: bool = False  # staff of the node the request is assigned to


@dataclass(frozen=True)
class Rule:
    who: str  # for messages: "Only <who> may ..."
    test: Callable[[Actor, Any], bool]

    def allows(self, actor: Actor, obj: Any) -> bool:
        return bool(self.test(actor, obj))


def _node_staff(actor: Actor) -> bool:
    return actor.role == "staff" and actor.is_node_staff


def _early_state(obj: Any) -> str | None:
    return obj.held_status if obj.status == "on_hold" else obj.status


COORDINATOR = Rule("the EMMA coordinator", lambda a, o: a.role == "coordinator")
NODE_STAFF = Rule("staff of the assigned node", lambda a, o: _node_staff(a))
OWNER_OR_NODE_STAFF = Rule("the requester or staff of the assigned node", lambda a, o: a.is_owner or _node_staff(a))
NODE_STAFF_OR_COORDINATOR = Rule(
    "staff of the assigned node or the EMMA coordinator", lambda a, o: _node_staff(a) or a.role == "coordinator"
)
CANCELLER = Rule(
    "the EMMA coordinator, or the requester before the node accepts,",
    lambda a, o: a.role == "coordinator" or (a.is_owner and _early_state(o) in OWNER_MAY_CANCEL_IN),
)

WHO_MAY: Mapping[str, Rule] = MappingProxyType(
    {
        "approve": COORDINATOR,
        "reject": COORDINATOR,
        "assign": COORDINATOR,
        "decline": NODE_STAFF,
        "accept": NODE_STAFF,
        "start_rederivation": NODE_STAFF,
        "rederivation_failed": NODE_STAFF,
        "start_breeding": NODE_STAFF,
        "start_qc": NODE_STAFF,
        "pass_qc": NODE_STAFF,
        "fail_qc": NODE_STAFF,
        "complete_cryopreservation": NODE_STAFF,
        "ship": NODE_STAFF,
        "confirm_delivery": OWNER_OR_NODE_STAFF,
        "hold": NODE_STAFF_OR_COORDINATOR,
        "resume": NODE_STAFF_OR_COORDINATOR,
        "cancel": CANCELLER,
    }
)


def _check_permission(obj: Any, trigger: str, actor: Actor) -> None:
    rule = WHO_MAY[trigger]
    if rule.allows(actor, obj):
        return
    if trigger == "cancel" and actor.is_owner:
        raise Forbidden(
            "Requesters may cancel a request only until the node accepts it; ask the EMMA coordinator to cancel it now."
        )
    raise Forbidden(f"Only {rule.who} may '{trigger}' this request.")


# ---- data --------------------------------------------------------------------
def parse_cancel_reason(text: Any) -> str:
    """A cancellation slug from a slug or its label, any case ("QC FAILED" -> "qc_failed")."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidData("A cancellation reason is required: one of " + ", ".join(CANCEL_REASONS) + ".")
    words = " ".join(text.split()).lower()
    slug = re.sub(r"[\s-]+", "_", words)
    if slug in CANCEL_REASONS:
        return slug
    for key, label in CANCEL_REASONS.items():
        if label.lower() == words:
            return key
    raise InvalidData(
        f"Unknown cancellation reason {text!r}: use one of "
        + ", ".join(CANCEL_REASONS)
        + " (or its label, e.g. 'QC failed')."
    )


def _clean_data(trigger: str, comment: Any, data: dict) -> tuple[str | None, dict]:
    if comment is not None and not isinstance(comment, str):
        raise InvalidData("The comment must be text.")
    comment = (comment or "").strip() or None
    if trigger in COMMENT_REQUIRED and comment is None:
        raise InvalidData(f"A comment is required to '{trigger}' a request: say why.")
    clean: dict = {}
    if trigger == "assign":
        node = data.get("node")
        if not isinstance(node, str) or not node.strip():
            raise InvalidData('Say which node to assign the request to, e.g. "node": "ICS".')
        clean["node"] = node.strip()
    elif trigger == "cancel":
        clean["reason"] = parse_cancel_reason(data.get("reason"))
    return comment, clean


# ---- guards (one per trigger that has one; None or GuardFailed) ---------------
def _product_label(obj: Any) -> str:
    label = getattr(obj, "step_product_label", None)
    step = getattr(obj, "current_step", 1)
    return f"{label} (step {step} product)" if label else f"the step's product (step {step})"


def _loxp_loss(obj: Any) -> str | None:
    """Which targets a failed 3' loxP assay rules out is the allele engine's answer, not a list here."""
    return obj.three_prime_loxp_loss()


def guard_assign(obj: Any, data: dict) -> None:
    """The node offers conversion and has the deleter strains the plan needs."""
    problem = obj.node_problem(data["node"])
    if problem:
        raise GuardFailed(problem)


def guard_start_rederivation(obj: Any, data: dict) -> None:
    """Paperwork complete: MTA signature date and a PO reference or payment date."""
    missing = list(obj.missing_paperwork() or [])
    if missing:
        items = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
        raise GuardFailed(f"Paperwork incomplete: {items} missing")


def guard_start_breeding(obj: Any, data: dict) -> None:
    """A founder carrying the source allele is recorded."""
    if not obj.has_source_founder():
        raise GuardFailed("No founder carrying the source allele has been recorded yet")


def guard_start_qc(obj: Any, data: dict) -> None:
    """An animal carrying the step's product allele, deleter-transgene negative, is recorded, and
    not every mating of the step is marked unsuccessful."""
    if not obj.has_step_product_animal():
        raise GuardFailed(
            f"No deleter-negative animal carrying {_product_label(obj)} has been "
            "recorded yet: record one before starting QC"
        )
    if obj.step_matings_unsuccessful():
        raise GuardFailed(
            f"Every mating of step {getattr(obj, 'current_step', 1)} is marked unsuccessful: mark the "
            "mating that gave the converted pups successful before starting QC"
        )


def guard_pass_qc(obj: Any, data: dict) -> None:
    """A passing QC assay recorded in this step, and no failed 3' loxP assay ruling the target out."""
    loss = _loxp_loss(obj)
    if loss:
        raise GuardFailed(loss + " Cancel the request with reason 'QC failed'.")
    if obj.passing_assays_in_step() < 1:
        raise GuardFailed(f"No passing QC assay recorded for step {obj.current_step}")


def guard_complete_cryopreservation(obj: Any, data: dict) -> None:
    """Material stored and a test thaw passed."""
    problem = obj.cryo_problem()
    if problem:
        raise GuardFailed(problem)


def guard_ship(obj: Any, data: dict) -> None:
    """A shipment is recorded (courier, tracking, what was sent)."""
    problem = obj.shipment_problem()
    if problem:
        raise GuardFailed(problem)


def guard_resume(obj: Any, data: dict) -> None:
    """The request returns to the state it was held in."""
    if obj.held_status not in HOLDABLE:
        raise GuardFailed(f"This request has no valid state to resume to (held state {obj.held_status!r})")


GUARDS: Mapping[str, Callable[[Any, dict], None]] = MappingProxyType(
    {t: globals()[f"guard_{t}"] for t in TRIGGERS if f"guard_{t}" in globals()}
)


# ---- the machine -----------------------------------------------------------------
def _prepare(ev) -> None:
    """Machine-wide `prepare_event`: runs after the state check, before any transition."""
    ctx = ev.kwargs["ctx"]
    trigger, obj = ev.event.name, ev.model
    _check_permission(obj, trigger, ctx["actor"])
    ctx["comment"], ctx["data"] = _clean_data(trigger, ctx["comment"], ctx["raw"])
    guard = GUARDS.get(trigger)
    if guard:
        guard(obj, ctx["data"])


def _more_steps(ev) -> bool:
    return ev.model.current_step < ev.model.step_count


vars(_more_steps).update(when="more steps", unless="last step")  # diagram labels


def _next_step(ev) -> None:
    ev.model.current_step += 1


def _remember_held(ev) -> None:
    ev.model.held_status = ev.transition.source


def _forget_held(ev) -> None:
    ev.model.held_status = None


def _held_was(state: str) -> Callable:
    def condition(ev) -> bool:
        return ev.model.held_status == state

    condition.__name__ = f"held_was_{state}"
    vars(condition)["when"] = "to the state held"
    return condition


def _build() -> Machine:
    states = [{"name": s, "final": s in FINAL_STATES} for s in STATES]
    states[STATES.index("on_hold")]["on_exit"] = [_forget_held]
    m = Machine(
        model=None,
        states=states,
        initial="submitted",
        auto_transitions=False,
        model_attribute="status",
        send_event=True,
        ignore_invalid_triggers=False,
        prepare_event=[_prepare],
        name="request lifecycle",
    )
    add = m.add_transition
    add("approve", "submitted", "approved")
    add("reject", "submitted", "rejected")
    add("assign", "approved", "assigned")
    add("decline", "assigned", "approved")
    add("accept", "assigned", "accepted")
    add("start_rederivation", "accepted", "rederivation")
    add("rederivation_failed", "rederivation", "accepted")
    add("start_breeding", "rederivation", "breeding")
    add("start_qc", "breeding", "qc")
    add("pass_qc", "qc", "breeding", conditions=[_more_steps], before=[_next_step])
    add("pass_qc", "qc", "cryopreservation", unless=[_more_steps])
    add("fail_qc", "qc", "breeding")
    add("complete_cryopreservation", "cryopreservation", "ready")
    add("ship", "ready", "shipped")
    add("confirm_delivery", "shipped", "completed")
    add("hold", list(HOLDABLE), "on_hold", before=[_remember_held])
    for state in HOLDABLE:
        add("resume", "on_hold", state, conditions=[_held_was(state)])
    add("cancel", list(OPEN_STATES), "cancelled")
    assert tuple(m.events) == TRIGGERS, "TRIGGERS must list the machine's events in order"
    assert set(STATE_LABELS) == set(STATES) and set(TRIGGER_LABELS) == set(TRIGGERS), "label every state and trigger"
    return m


machine: Machine = _build()


# ---- entry points ----------------------------------------------------------------
@dataclass(frozen=True)
class Fired:
    trigger: str
    from_status: str
    to_status: str
    comment: str | None = None
    data: dict = field(default_factory=dict)
    notice: str | None = None


def _allowed_from(trigger: str, status: Any) -> bool:
    return status in STATES and bool(machine.events[trigger].transitions.get(status))


def _notice(obj: Any, trigger: str) -> str | None:
    loss = _loxp_loss(obj) if trigger == "fail_qc" else None
    if loss:
        return loss + " Consider cancelling the request with reason 'QC failed'."
    return None


def fire(obj: Any, trigger: str, actor: Actor, *, comment: str | None = None, **data: Any) -> Fired:
    """Fire `trigger` on `obj` as `actor`; returns what happened or raises a LifecycleError."""
    if not isinstance(trigger, str) or trigger not in machine.events:
        raise UnknownTrigger(f"Unknown trigger {trigger!r}: use one of {', '.join(TRIGGERS)}.")
    before = (obj.status, getattr(obj, "held_status", None), getattr(obj, "current_step", None))
    if not _allowed_from(trigger, obj.status):
        raise NotAllowed(f"Cannot '{trigger}' a request that is in state '{obj.status}'")
    ctx: dict[str, Any] = {"actor": actor, "comment": comment, "raw": data, "data": {}}
    try:
        moved = machine.events[trigger].trigger(obj, ctx=ctx)
    except MachineError:  # pragma: no cover - the state was checked above
        raise NotAllowed(f"Cannot '{trigger}' a request that is in state '{obj.status}'") from None
    except LifecycleError:
        _restore(obj, before)
        raise
    if not moved:  # pragma: no cover - every branching trigger has a guard covering it
        _restore(obj, before)
        raise GuardFailed(f"'{trigger}' could not be completed from state '{before[0]}'")
    return Fired(trigger, before[0], obj.status, ctx["comment"], ctx["data"], _notice(obj, trigger))


def _restore(obj: Any, before: tuple) -> None:
    for name, value in zip(("status", "held_status", "current_step"), before):
        if getattr(obj, name, None) != value:
            setattr(obj, name, value)


def available_triggers(obj: Any, actor: Actor) -> list[str]:
    """Triggers allowed from obj's state that the actor may fire (guards not evaluated)."""
    return [t for t in TRIGGERS if _allowed_from(t, obj.status) and WHO_MAY[t].allows(actor, obj)]


def guard_problems(obj: Any, actor: Actor) -> dict[str, str]:
    """{trigger: why not} for available triggers whose guard fails now (assign is skipped:
    its guard depends on the node chosen)."""
    out = {}
    for trigger in available_triggers(obj, actor):
        guard = GUARDS.get(trigger)
        if guard is None or trigger == "assign":
            continue
        try:
            guard(obj, {})
        except GuardFailed as exc:
            out[trigger] = exc.message
    return out
