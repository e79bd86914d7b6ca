"""seed-bench: the synthetic data set is valid for the app (history replays through the lifecycle,
lab records satisfy the guards, gapless invoice numbers, the app keeps working on top of it)."""

from __future__ import annotations

from collections import defaultdict

from conftest import DEMO
from flows import Api
from sqlalchemy import select

from workflows import lifecycle

N = 300


def _seed(app):
    from bench.seed import seed_bench

    return seed_bench(N, seed=7)


def test_history_replays_through_the_lifecycle(app):
    from conversion.accounts.models import User
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest, RequestEvent

    counts = _seed(app)
    assert counts["conversion_requests"] == N
    users = {u.id: u for u in db.session.scalars(select(User))}
    events = defaultdict(list)
    for e in db.session.scalars(select(RequestEvent).order_by(RequestEvent.id)):
        events[e.request_id].append(e)
    reqs = list(db.session.scalars(select(ConversionRequest)))
    assert len({r.reference for r in reqs}) == N
    assert {r.status for r in reqs} >= set(lifecycle.STATES) - {"on_hold"}
    for req in reqs:
        history = events[req.id]
        assert history[0].trigger == "submit" and history[0].from_status is None
        assert history[0].actor_id == req.requester_id
        assert req.reference == f"AC-{req.created_at.year}-{req.id:05d}"
        state, held, step, node = "submitted", None, 1, None
        for prev, e in zip(history, history[1:]):
            assert e.at > prev.at, req.reference
            assert e.from_status == state, (req.reference, e.trigger)
            transitions = lifecycle.machine.events[e.trigger].transitions[state]
            assert e.to_status in {t.dest for t in transitions}, (req.reference, e.trigger)
            actor = users[e.actor_id]
            who = lifecycle.Actor(
                role=actor.role.value,
                is_owner=actor.id == req.requester_id,
                is_node_staff=actor.node_id is not None and actor.node_id == node,
            )
            probe = type("P", (), {"status": state, "held_status": held})()
            assert lifecycle.WHO_MAY[e.trigger].allows(who, probe), (req.reference, e.trigger, actor.email)
            if e.trigger == "hold":
                held = state
            elif e.trigger == "resume":
                assert e.to_status == held
                held = None
            elif e.trigger == "pass_qc" and e.to_status == "breeding":
                step += 1
            elif e.trigger == "assign":
                node = next(u.node_id for u in users.values() if u.node and u.node.code == e.data["node"])
            elif e.trigger == "decline":
                node = None
            if e.trigger in lifecycle.COMMENT_REQUIRED:
                assert e.comment
            if e.trigger == "cancel":
                assert e.data["reason"] in lifecycle.CANCEL_REASONS
            state = e.to_status
        assert (req.status, req.held_status, req.current_step, req.node_id) == (state, held, step, node)
        if req.status in ("cryopreservation", "ready", "shipped", "completed"):
            assert req.current_step == req.step_count
        if req.status in ("ready", "shipped", "completed"):  # every guard on the way holds now
            assert not req.missing_paperwork() and req.has_source_founder()
            assert req.has_step_product_animal() and req.cryo_problem() is None
        assert req.updated_at == history[-1].at


def test_invoice_numbers_are_gapless_and_counted(app):
    from conversion.extensions import db
    from conversion.invoices.models import Invoice, InvoiceCounter

    _seed(app)
    issued = defaultdict(list)
    for inv in db.session.scalars(select(Invoice).where(Invoice.status == "issued")):
        assert inv.request.status in ("shipped", "completed", "on_hold", "cancelled")
        assert inv.total == inv.net + inv.vat > 0
        issued[(inv.node_id, inv.year)].append(inv.sequence)
    assert issued
    counters = {(c.node_id, c.year): c.last_number for c in db.session.scalars(select(InvoiceCounter))}
    for key, sequences in issued.items():
        assert sorted(sequences) == list(range(1, len(sequences) + 1))
        assert counters[key] == len(sequences)


def test_the_app_works_on_the_seeded_data(app):
    from conversion.accounts.models import User
    from conversion.extensions import db
    from conversion.requests.models import ConversionRequest

    _seed(app)
    client = app.test_client()
    api = Api(client)
    by_email = {email: who for who, (email, _) in DEMO.items()}
    staff_of = {
        u.node_id: by_email[u.email] for u in db.session.scalars(select(User)) if u.email in by_email and u.node_id
    }
    first = {}
    for req in db.session.scalars(select(ConversionRequest).order_by(ConversionRequest.id.desc())):
        first.setdefault(req.status, req)
    for status, req in first.items():
        res = api.get("coordinator", f"/requests/{req.id}")
        assert res.status_code == 200 and res.get_json()["status"] == status
        assert res.get_json()["history"][-1]["to"] == status
    moves = {
        "submitted": ("coordinator", "approve", {}),
        "assigned": (None, "accept", {}),
        "ready": (None, "ship", {}),
        "shipped": (None, "confirm_delivery", {}),
        "on_hold": (None, "resume", {"comment": "Back to work."}),
        "breeding": (None, "hold", {"comment": "Facility closed for a week."}),
    }
    for status, (who, trigger, body) in moves.items():
        req = first.get(status)
        if req is None:
            continue
        who = who or (staff_of[req.node_id] if req.node_id else "coordinator")
        if trigger == "ship":  # `ship` needs a shipment, taken from the seeded stock
            stock = api.get(who, f"/requests/{req.id}").get_json()["records"]["stock"]
            material = next(m for m, s in stock.items() if s["left"] > 0)
            api.ok(
                who,
                f"/requests/{req.id}/shipments",
                {"courier": "DHL", "tracking": "JD1", "material": material, "shipped_on": "2026-06-01", "quantity": 1},
            )
        api.go(who, req.id, trigger, **body)
    # new rows after the bulk load get fresh ids (PostgreSQL sequences moved past the seeded ids)
    created = api.submit(strain=None, target="c")  # a product no seeded request is making
    assert created["id"] == max(r.id for r in db.session.scalars(select(ConversionRequest)))
    assert api.get("coordinator", "/requests?status=breeding").status_code == 200
