"""How long each state of a conversion usually takes at EMMA (data, in weeks).

Used when there is no history to learn from (estimates) and to flag overdue requests.
Breeding and QC are per step of the plan: a two-step tm1a -> tm1d conversion breeds twice."""

from __future__ import annotations

TYPICAL_WEEKS: dict[str, float] = {
    "submitted": 1,  # coordinator review
    "approved": 1,  # choosing and assigning a node
    "assigned": 2,  # the node accepts or declines
    "accepted": 6,  # MTA signature and purchase order
    "rederivation": 10,  # IVF or embryo thaw, transfer, weaning, founder genotyping
    "breeding": 16,  # per step: crosses with the deleter, breeding the deleter out
    "qc": 3,  # per step: genotyping assays, copy-number qPCR
    "cryopreservation": 6,  # sperm or embryo freezing and a test thaw
    "ready": 2,  # booking the shipment
    "shipped": 2,  # transport and the requester's confirmation
}
PER_STEP = frozenset({"breeding", "qc"})


def typical_days(state: str) -> float | None:
    weeks = TYPICAL_WEEKS.get(state)
    return None if weeks is None else weeks * 7


def path(step_count: int) -> list[str]:
    """The states a request of `step_count` plan steps passes through until it is completed."""
    return (
        ["submitted", "approved", "assigned", "accepted", "rederivation"]
        + ["breeding", "qc"] * max(1, step_count)
        + ["cryopreservation", "ready", "shipped"]
    )


def position(state: str, current_step: int, step_count: int) -> int:
    """The index in path(step_count) of `state` at plan step `current_step` (1-based)."""
    if state in PER_STEP:
        return 5 + 2 * (min(max(1, current_step), max(1, step_count)) - 1) + (state == "qc")
    return path(step_count).index(state)


def typical_months(step_count: int) -> int:
    """The usual time from submission to delivery of a plan with `step_count` steps, in months."""
    return round(sum(TYPICAL_WEEKS[s] for s in path(step_count)) * 7 / 30.44)
