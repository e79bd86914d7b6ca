"""The request lifecycle (workflows.lifecycle): transitions, who may, data, guards, invariants."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows import lifecycle
from workflows.errors import Forbidden, GuardFailed, InvalidData, LifecycleError, NotAllowed, UnknownTrigger
from workflows.lifecycle import (
    CANCEL_REASONS,
    FINAL_STATES,
    OPEN_STATES,
    STATES,
    TRIGGERS,
    Actor,
    Fired,
    available_triggers,
    fire,
    guard_problems,
    machine,
    parse_cancel_reason,
)

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Req:
    """A plain request whose guard facts are set directly (all satisfied by default)."""

    status: str = "submitted"
    held_status: str | None = None
    current_step: int = 1
    step_count: int = 1
    target: str = "c"
    step_product_label: str | None = "tm1c"
    paperwork: list = field(default_factory=list)
    founder: bool = True
    product_animal: bool = True
    matings_unsuccessful: bool = False
    passing: dict = field(default_factory=lambda: {1: 1, 2: 1})
    loxp_failed: bool = False
    source: str = "Cdk5rap2<tm1a(EUCOMM)Wtsi>"
    cryo: str | None = None
    shipment: str | None = None
    bad_nodes: dict = field(default_factory=lambda: {"SANG": "SANG does not offer allele conversion"})

    def missing_paperwork(self):
        return list(self.paperwork)

    def has_source_founder(self):
        return self.founder

    def has_step_product_animal(self):
        return self.product_animal

    def step_matings_unsuccessful(self):
        return self.matings_unsuccessful

    def passing_assays_in_step(self):
        return self.passing.get(self.current_step, 0)

    def three_prime_loxp_loss(self):
        from conversion.alleles import three_prime_loxp_loss

        return three_prime_loxp_loss(self.source, self.target) if self.loxp_failed else None

    def cryo_problem(self):
        return self.cryo

    def shipment_problem(self):
        return self.shipment

    def node_problem(self, node_code):
        return self.bad_nodes.get(node_code)


COORD = Actor("coordinator")
STAFF = Actor("staff", is_node_staff=True)
OTHER_STAFF = Actor("staff")
OWNER = Actor("requester", is_owner=True)
STRANGER = Actor("requester")
ACTORS = {
    "coordinator": COORD,
    "node_staff": STAFF,
    "other_staff": OTHER_STAFF,
    "owner": OWNER,
    "other_requester": STRANGER,
}

WHO = {  # the contract's "who" column; cancel as seen from `submitted`
    "approve": {"coordinator"},
    "reject": {"coordinator"},
    "assign": {"coordinator"},
    **{
        t: {"node_staff"}
        for t in (
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
        )
    },
    "confirm_delivery": {"owner", "node_staff"},
    "hold": {"node_staff", "coordinator"},
    "resume": {"node_staff", "coordinator"},
    "cancel": {"coordinator", "owner"},
}

EDGES = {  # the contract's table, except hold/resume/cancel (tested separately)
    ("approve", "submitted", "approved"),
    ("reject", "submitted", "rejected"),
    ("assign", "approved", "assigned"),
    ("decline", "assigned", "approved"),
    ("accept", "assigned", "accepted"),
    ("start_rederivation", "accepted", "rederivation"),
    ("rederivation_failed", "rederivation", "accepted"),
    ("start_breeding", "rederivation", "breeding"),
    ("start_qc", "breeding", "qc"),
    ("pass_qc", "qc", "breeding"),
    ("pass_qc", "qc", "cryopreservation"),
    ("fail_qc", "qc", "breeding"),
    ("complete_cryopreservation", "cryopreservation", "ready"),
    ("ship", "ready", "shipped"),
    ("confirm_delivery", "shipped", "completed"),
}
HOLDABLE = [s for s in OPEN_STATES if s != "on_hold"]


def data_for(trigger):
    if trigger == "assign":
        return {"node": "ICS"}
    if trigger == "cancel":
        return {"reason": "other"}
    if trigger in lifecycle.COMMENT_REQUIRED:
        return {"comment": "because"}
    return {}


def source_of(trigger):
    """A request in a state from which `trigger` is allowed."""
    if trigger == "resume":
        return Req(status="on_hold", held_status="breeding")
    return Req(status=next(iter(machine.events[trigger].transitions)))


def snapshot(obj):
    return dataclasses.asdict(obj)


# ---- the machine --------------------------------------------------------------
def test_states_and_triggers_are_the_machines():
    assert STATES == OPEN_STATES + FINAL_STATES and set(OPEN_STATES).isdisjoint(FINAL_STATES)
    assert tuple(machine.states) == STATES
    assert tuple(machine.events) == TRIGGERS
    assert {s for s, st_ in machine.states.items() if st_.final} == set(FINAL_STATES)


def test_edges_match_the_contract_table():
    edges = {
        (t, src, tr.dest)
        for t, ev in machine.events.items()
        if t not in ("hold", "resume", "cancel")
        for src, trs in ev.transitions.items()
        for tr in trs
    }
    assert edges == EDGES
    assert set(machine.events["hold"].transitions) == set(HOLDABLE)
    assert set(machine.events["cancel"].transitions) == set(OPEN_STATES)
    assert {tr.dest for tr in machine.events["resume"].transitions["on_hold"]} == set(HOLDABLE)


def test_one_machine_and_no_growth_when_firing_on_many_objects():
    before = (
        id(lifecycle.machine),
        len(machine.models),
        {t: sum(len(v) for v in ev.transitions.values()) for t, ev in machine.events.items()},
        {s: (len(x.on_enter), len(x.on_exit)) for s, x in machine.states.items()},
    )
    for i in range(1000):
        obj = Req()
        fire(obj, "approve", COORD)
        fire(obj, "hold", COORD, comment="wait")
        fire(obj, "resume", COORD, comment="go")
        with pytest.raises(NotAllowed):
            fire(obj, "ship", STAFF)
        assert obj.status == "approved"
    after = (
        id(lifecycle.machine),
        len(machine.models),
        {t: sum(len(v) for v in ev.transitions.values()) for t, ev in machine.events.items()},
        {s: (len(x.on_enter), len(x.on_exit)) for s, x in machine.states.items()},
    )
    assert after == before and len(machine.models) == 0
    assert not hasattr(Req(), "approve") and not hasattr(Req(), "is_submitted")


def test_workflows_imports_neither_flask_nor_sqlalchemy():
    code = (
        "import sys, workflows, workflows.lifecycle, workflows.diagram, workflows.errors\n"
        "workflows.diagram.to_svg()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy'))\n"
        "assert not bad, bad\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


# ---- walks ------------------------------------------------------------------------
def walk(obj, steps):
    out = []
    for trigger, actor, data in steps:
        fired = fire(obj, trigger, actor, **data)
        assert fired.trigger == trigger and fired.to_status == obj.status
        out.append(fired)
    return out


def test_one_step_walk_to_completed():
    obj = Req(target="c", step_count=1)
    fired = walk(
        obj,
        [
            ("approve", COORD, {}),
            ("assign", COORD, {"node": " ICS "}),
            ("accept", STAFF, {}),
            ("start_rederivation", STAFF, {}),
            ("start_breeding", STAFF, {}),
            ("start_qc", STAFF, {}),
            ("pass_qc", STAFF, {"comment": "tm1c PCR ok"}),
            ("complete_cryopreservation", STAFF, {}),
            ("ship", STAFF, {}),
            ("confirm_delivery", OWNER, {}),
        ],
    )
    assert [(f.from_status, f.to_status) for f in fired] == [
        ("submitted", "approved"),
        ("approved", "assigned"),
        ("assigned", "accepted"),
        ("accepted", "rederivation"),
        ("rederivation", "breeding"),
        ("breeding", "qc"),
        ("qc", "cryopreservation"),
        ("cryopreservation", "ready"),
        ("ready", "shipped"),
        ("shipped", "completed"),
    ]
    assert fired[1].data == {"node": "ICS"} and fired[6].comment == "tm1c PCR ok"
    assert all(f.notice is None for f in fired)
    assert obj.status == "completed" and obj.current_step == 1 and obj.held_status is None
    assert available_triggers(obj, COORD) == [] and available_triggers(obj, STAFF) == []


def test_two_step_walk_tm1a_to_c_to_d():
    obj = Req(target="d", step_count=2, passing={1: 2, 2: 0})
    walk(
        obj,
        [
            ("approve", COORD, {}),
            ("assign", COORD, {"node": "ICS"}),
            ("accept", STAFF, {}),
            ("start_rederivation", STAFF, {}),
            ("start_breeding", STAFF, {}),
            ("start_qc", STAFF, {}),
        ],
    )
    fired = fire(obj, "pass_qc", STAFF)
    assert (fired.from_status, fired.to_status, obj.current_step) == ("qc", "breeding", 2)
    obj.step_product_label = "tm1d"
    fire(obj, "start_qc", STAFF)
    with pytest.raises(GuardFailed, match="No passing QC assay recorded for step 2"):
        fire(obj, "pass_qc", STAFF)
    assert obj.current_step == 2 and obj.status == "qc"
    obj.passing[2] = 1
    assert fire(obj, "pass_qc", STAFF).to_status == "cryopreservation" and obj.current_step == 2
    walk(obj, [("complete_cryopreservation", STAFF, {}), ("ship", STAFF, {}), ("confirm_delivery", STAFF, {})])
    assert obj.status == "completed"


def test_back_edges():
    obj = Req(status="assigned")
    assert fire(obj, "decline", STAFF, comment="No Flp deleter free").to_status == "approved"
    obj = Req(status="rederivation")
    assert fire(obj, "rederivation_failed", STAFF, comment="No pregnancies").to_status == "accepted"
    obj = Req(status="qc")
    assert fire(obj, "fail_qc", STAFF, comment="Cre PCR positive").to_status == "breeding"
    assert obj.current_step == 1


# ---- refusals -----------------------------------------------------------------------
@pytest.mark.parametrize("trigger", ["fly", "submit", "", "APPROVE", None])
def test_unknown_trigger(trigger):
    obj = Req()
    with pytest.raises(UnknownTrigger) as exc:
        fire(obj, trigger, COORD)
    assert "approve" in exc.value.message
    assert snapshot(obj) == snapshot(Req())


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_wrong_state_is_not_allowed(trigger):
    sources = set(machine.events[trigger].transitions)
    for state in STATES:
        if state in sources:
            continue
        obj = Req(status=state, held_status="breeding" if state == "on_hold" else None)
        before = snapshot(obj)
        with pytest.raises(NotAllowed) as exc:
            fire(obj, trigger, COORD, **data_for(trigger))
        assert f"'{state}'" in exc.value.message
        assert snapshot(obj) == before


def test_not_allowed_message():
    with pytest.raises(NotAllowed, match=r"^Cannot 'ship' a request that is in state 'qc'$"):
        fire(Req(status="qc"), "ship", STAFF)
    with pytest.raises(NotAllowed, match="state 'flying'"):
        fire(Req(status="flying"), "approve", COORD)


@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize("who", ACTORS)
def test_role_matrix(trigger, who):
    obj = source_of(trigger)
    before = snapshot(obj)
    if who in WHO[trigger]:
        assert fire(obj, trigger, ACTORS[who], **data_for(trigger)).trigger == trigger
        assert trigger in available_triggers(source_of(trigger), ACTORS[who])
    else:
        with pytest.raises(Forbidden) as exc:
            fire(obj, trigger, ACTORS[who], **data_for(trigger))
        assert exc.value.message.startswith(("Only", "Requesters"))
        assert snapshot(obj) == before
        assert trigger not in available_triggers(obj, ACTORS[who])


def test_order_of_checks():
    # wrong state beats wrong role
    with pytest.raises(NotAllowed):
        fire(Req(status="submitted"), "ship", STRANGER)
    # wrong role beats missing data
    with pytest.raises(Forbidden):
        fire(Req(status="submitted"), "reject", STAFF)
    # missing data beats a failing guard
    with pytest.raises(InvalidData):
        fire(Req(status="approved"), "assign", COORD)
    with pytest.raises(InvalidData):
        fire(Req(status="qc", loxp_failed=True), "fail_qc", STAFF, comment=" ")


@pytest.mark.parametrize("trigger", sorted(lifecycle.COMMENT_REQUIRED))
@pytest.mark.parametrize("comment", [None, "", "   \n"])
def test_comment_required(trigger, comment):
    obj = source_of(trigger)
    before = snapshot(obj)
    with pytest.raises(InvalidData, match="comment") as exc:
        fire(obj, trigger, COORD if trigger in ("reject", "hold", "resume") else STAFF, comment=comment)
    assert snapshot(obj) == before


def test_comment_is_stripped_and_optional_elsewhere():
    fired = fire(Req(), "approve", COORD, comment="  looks fine  ")
    assert fired.comment == "looks fine"
    assert fire(Req(), "approve", COORD, comment="   ").comment is None
    with pytest.raises(InvalidData):
        fire(Req(), "approve", COORD, comment=42)


def test_assign_needs_a_usable_node():
    for data in ({}, {"node": ""}, {"node": "  "}, {"node": 7}):
        with pytest.raises(InvalidData, match="node"):
            fire(Req(status="approved"), "assign", COORD, **data)
    obj = Req(status="approved")
    with pytest.raises(GuardFailed, match="^SANG does not offer allele conversion$"):
        fire(obj, "assign", COORD, node="SANG")
    assert obj.status == "approved"


@pytest.mark.parametrize(
    "text, slug",
    [
        ("qc_failed", "qc_failed"),
        ("QC FAILED", "qc_failed"),
        ("QC failed", "qc_failed"),
        ("Stock sourced elsewhere", "sourced_elsewhere"),
        ("  no response from CLIENT ", "no_response"),
        ("Customer requested delayed shipment", "delayed_shipment"),
        ("delivery-too-long", "delivery_too_long"),
        ("Other", "other"),
        *[(label, slug) for slug, label in CANCEL_REASONS.items()],
        *[(slug.upper(), slug) for slug in CANCEL_REASONS],
    ],
)
def test_parse_cancel_reason(text, slug):
    assert parse_cancel_reason(text) == slug


@pytest.mark.parametrize("reason", [None, "", "  ", "nonsense", "qc", 3])
def test_bad_cancel_reason(reason):
    obj = Req(status="approved")
    with pytest.raises(InvalidData, match="reason") as exc:
        fire(obj, "cancel", OWNER, reason=reason)
    assert obj.status == "approved"


def test_cancel_records_the_slug():
    fired = fire(Req(status="breeding"), "cancel", COORD, reason="QC FAILED", comment="tm1e")
    assert (fired.to_status, fired.data, fired.comment) == ("cancelled", {"reason": "qc_failed"}, "tm1e")


# ---- guards ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "state, trigger, facts, message",
    [
        (
            "accepted",
            "start_rederivation",
            {"paperwork": ["MTA signature date"]},
            "Paperwork incomplete: MTA signature date missing",
        ),
        (
            "accepted",
            "start_rederivation",
            {"paperwork": ["MTA signature date", "purchase order or payment date"]},
            "Paperwork incomplete: MTA signature date and purchase order or payment date missing",
        ),
        (
            "rederivation",
            "start_breeding",
            {"founder": False},
            "No founder carrying the source allele has been recorded yet",
        ),
        (
            "breeding",
            "start_qc",
            {"product_animal": False},
            "No deleter-negative animal carrying tm1c (step 1 product)",
        ),
        (
            "breeding",
            "start_qc",
            {"product_animal": False, "step_product_label": None},
            "No deleter-negative animal carrying the step's product",
        ),
        (  # the peers (iMits, GenTaR) gate excision on a successful mating
            "breeding",
            "start_qc",
            {"matings_unsuccessful": True},
            "Every mating of step 1 is marked unsuccessful: mark the mating that gave the converted pups successful",
        ),
        (
            "breeding",
            "start_qc",
            {"matings_unsuccessful": True, "current_step": 2, "step_count": 2},
            "Every mating of step 2 is marked unsuccessful",
        ),
        (  # the animal is asked for first
            "breeding",
            "start_qc",
            {"product_animal": False, "matings_unsuccessful": True},
            "No deleter-negative animal carrying tm1c (step 1 product)",
        ),
        ("qc", "pass_qc", {"passing": {1: 0}}, "No passing QC assay recorded for step 1"),
        (
            "qc",
            "pass_qc",
            {"loxp_failed": True},
            "A failed 3' loxP assay shows the line is really tm1e, not tm1a: without the 3' loxP site the "
            "critical exon is not floxed, so a conditional allele (tm1c) cannot be made. "
            "Cancel the request with reason 'QC failed'.",
        ),
        (
            "qc",
            "pass_qc",
            {"loxp_failed": True, "target": "b", "step_product_label": "tm1b"},
            "so a lacZ-tagged null allele (tm1b) cannot be made (Cre gives tm1e.1 instead)",
        ),
        ("qc", "pass_qc", {"loxp_failed": True, "target": "d", "step_count": 2}, "really tm1e"),
        (
            "cryopreservation",
            "complete_cryopreservation",
            {"cryo": "No passing test thaw recorded"},
            "No passing test thaw recorded",
        ),
        ("on_hold", "resume", {"held_status": None}, "no valid state to resume to"),
    ],
)
def test_guard_messages(state, trigger, facts, message):
    obj = Req(status=state, **facts)
    before = snapshot(obj)
    with pytest.raises(GuardFailed) as exc:
        fire(obj, trigger, STAFF, comment="c")
    assert message in exc.value.message, exc.value.message
    assert snapshot(obj) == before
    assert guard_problems(obj, STAFF)[trigger] == exc.value.message


def test_failed_loxp_does_not_block_a_target_made_without_it():
    """Regression: the lifecycle asks the engine. A deletion allele has no critical exon to flox."""
    obj = Req(status="qc", target=".1", step_product_label="tm1.1", loxp_failed=True, source="Atp8a1<tm1(KOMP)Wtsi>")
    assert fire(obj, "pass_qc", STAFF).to_status == "cryopreservation"


def test_failed_loxp_blocks_tm1b_too():
    """Regression: tm1b needs the floxed exon too (a hard-coded {c, d} let it through)."""
    obj = Req(status="qc", target="b", step_product_label="tm1b", loxp_failed=True)
    with pytest.raises(GuardFailed, match="Cre gives tm1e.1 instead"):
        fire(obj, "pass_qc", STAFF)


def test_fail_qc_notice_for_tm1e():
    fired = fire(Req(status="qc", loxp_failed=True), "fail_qc", STAFF, comment="3' loxP missing")
    assert fired.to_status == "breeding" and "tm1e" in fired.notice and "QC failed" in fired.notice
    assert fire(Req(status="qc"), "fail_qc", STAFF, comment="Cre PCR positive").notice is None
    assert "tm1e.1" in fire(Req(status="qc", target="b", loxp_failed=True), "fail_qc", STAFF, comment="x").notice
    assert (
        fire(
            Req(status="qc", target=".1", loxp_failed=True, source="Atp8a1<tm1(KOMP)Wtsi>"),
            "fail_qc",
            STAFF,
            comment="x",
        ).notice
        is None
    )


def test_guard_problems_lists_failing_guards_only():
    obj = Req(status="accepted", paperwork=["MTA signature date"])
    assert guard_problems(obj, STAFF) == {"start_rederivation": "Paperwork incomplete: MTA signature date missing"}
    assert guard_problems(Req(status="accepted"), STAFF) == {}
    assert guard_problems(obj, OWNER) == {}  # not available to the owner at all
    assert guard_problems(Req(status="approved", bad_nodes={"ICS": "x"}), COORD) == {}  # assign skipped


# ---- hold / resume / cancel ------------------------------------------------------------
@pytest.mark.parametrize("state", HOLDABLE)
def test_hold_and_resume_return_to_the_held_state(state):
    obj = Req(status=state, current_step=1, step_count=2)
    fired = fire(obj, "hold", STAFF, comment="facility closed")
    assert (fired.from_status, fired.to_status, obj.held_status) == (state, "on_hold", state)
    with pytest.raises(NotAllowed):
        fire(obj, "hold", STAFF, comment="again")
    fired = fire(obj, "resume", COORD, comment="open again")
    assert (fired.from_status, fired.to_status, obj.status, obj.held_status) == ("on_hold", state, state, None)
    assert obj.current_step == 1


def test_only_resume_and_cancel_leave_on_hold():
    obj = Req(status="on_hold", held_status="rederivation")
    assert available_triggers(obj, COORD) == ["resume", "cancel"]
    assert available_triggers(obj, STAFF) == ["resume"]
    with pytest.raises(NotAllowed):
        fire(obj, "start_breeding", STAFF)
    fired = fire(obj, "cancel", COORD, reason="no_response")
    assert fired.to_status == "cancelled" and obj.held_status is None


@pytest.mark.parametrize("state", ["submitted", "approved", "assigned"])
def test_owner_may_cancel_before_accepted(state):
    obj = Req(status=state)
    assert "cancel" in available_triggers(obj, OWNER)
    assert fire(obj, "cancel", OWNER, reason="Stock sourced elsewhere").data == {"reason": "sourced_elsewhere"}
    held = Req(status="on_hold", held_status=state)
    assert fire(held, "cancel", OWNER, reason="other").to_status == "cancelled"


@pytest.mark.parametrize("state", [s for s in HOLDABLE if s not in ("submitted", "approved", "assigned")])
def test_owner_may_not_cancel_from_accepted_on(state):
    for obj in (Req(status=state), Req(status="on_hold", held_status=state)):
        before = snapshot(obj)
        with pytest.raises(Forbidden, match="coordinator"):
            fire(obj, "cancel", OWNER, reason="other")
        assert snapshot(obj) == before and "cancel" not in available_triggers(obj, OWNER)
    with pytest.raises(Forbidden):
        fire(Req(status="submitted"), "cancel", STRANGER, reason="other")
    assert fire(Req(status=state), "cancel", COORD, reason="other").to_status == "cancelled"


# ---- available triggers agree with fire -------------------------------------------------
def test_available_triggers_examples():
    assert available_triggers(Req(), COORD) == ["approve", "reject", "hold", "cancel"]
    assert available_triggers(Req(), OWNER) == ["cancel"]
    assert available_triggers(Req(status="qc"), STAFF) == ["pass_qc", "fail_qc", "hold"]
    assert available_triggers(Req(status="qc"), OTHER_STAFF) == []
    assert available_triggers(Req(status="shipped"), OWNER) == ["confirm_delivery"]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("who", ACTORS)
def test_available_triggers_match_fire(state, who):
    allowed = []
    for trigger in TRIGGERS:
        obj = Req(status=state, held_status="approved" if state == "on_hold" else None)
        try:
            fire(obj, trigger, ACTORS[who], **data_for(trigger))
        except (NotAllowed, Forbidden):
            continue
        allowed.append(trigger)
    obj = Req(status=state, held_status="approved" if state == "on_hold" else None)
    assert available_triggers(obj, ACTORS[who]) == allowed


def test_fired_is_frozen():
    fired = fire(Req(), "approve", COORD)
    assert isinstance(fired, Fired)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fired.to_status = "completed"


# ---- random sequences ---------------------------------------------------------------------
ACTIONS = st.tuples(st.sampled_from(TRIGGERS + ("bogus",)), st.sampled_from(sorted(ACTORS)), st.booleans())
FACTS = st.fixed_dictionaries(
    {
        "target": st.sampled_from(["b", "c", "d", "e.1"]),
        "step_count": st.integers(1, 2),
        "paperwork": st.sampled_from([[], ["MTA signature date"]]),
        "founder": st.booleans(),
        "product_animal": st.booleans(),
        "matings_unsuccessful": st.booleans(),
        "passing": st.sampled_from([{1: 1, 2: 1}, {1: 1}, {}]),
        "loxp_failed": st.booleans(),
        "cryo": st.sampled_from([None, "No material"]),
    }
)


@settings(max_examples=300, deadline=None, database=None)
@given(FACTS, st.lists(ACTIONS, max_size=40))
def test_random_sequences_stay_in_states_and_never_leave_final(facts, actions):
    obj = Req(**facts)
    for trigger, who, with_data in actions:
        before = snapshot(obj)
        try:
            fired = fire(obj, trigger, ACTORS[who], **(data_for(trigger) if with_data else {}))
        except LifecycleError:
            assert snapshot(obj) == before
        else:
            assert before["status"] not in FINAL_STATES
            assert (fired.from_status, fired.to_status) == (before["status"], obj.status)
        assert obj.status in STATES
        if before["status"] in FINAL_STATES:
            assert obj.status == before["status"]
        assert (obj.held_status is not None) == (obj.status == "on_hold")
        assert obj.held_status is None or obj.held_status in OPEN_STATES
        assert 1 <= obj.current_step <= obj.step_count
