"""A realistic synthetic data set for benchmarks: N requests over ~3 years, every state and node.

Each request is simulated from its submission to now: every state lasts a random time around the
service's typical duration (conversion.requests.durations), and at each step the next trigger
is drawn (approve or reject, accept or decline, pass or fail QC, hold and resume, cancel ...).
The history therefore leads to the state by allowed transitions with the right actors and
increasing timestamps, and the lab records each guard needs are written before the trigger that
needs them (paperwork before rederivation, founders before breeding, a deleter-negative product
animal before QC, passing assays before pass_qc, a passing test thaw before ready). Requests that
reached `shipped` get an issued invoice (gapless numbers per node and year), some open accepted
ones a draft.

Rows are written with SQLAlchemy Core `insert()` executemany in chunks, ids assigned here (the
PostgreSQL sequences are moved past them at the end); everything is one transaction."""

from __future__ import annotations

import queue
import random
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, inspect, select, text, update
from werkzeug.security import generate_password_hash

from conversion.accounts.models import Role, User
from conversion.alleles import TARGETS, SymbolError, plan_conversion, product_strain_name
from conversion.catalogue.models import Access, DeleterStrain, Material, Node, Strain
from conversion.dashboards.metrics import rebuild_state_durations
from conversion.extensions import db, utcnow
from conversion.invoices.vat import normalise_vat
from conversion.lab.models import Animal, Cryopreservation, CryoThaw, Litter, Mating, Paperwork, QcResult, Shipment
from conversion.requests.durations import typical_days
from conversion.requests.estimates import rebuild as rebuild_learnt
from conversion.requests.models import ConversionRequest, RequestEvent, recipe_of
from conversion.requests.tallies import rebuild as rebuild_tallies

CHUNK = 2000  # requests per executemany round
YEARS = 3
CANCEL_BY_REQUESTER = ("no_longer_required", "sourced_elsewhere", "delivery_too_long")
CANCEL_BY_COORDINATOR = ("no_response", "charges_too_high", "no_longer_required", "other")
HOLD_REASONS = (
    "Requester asked to pause: funding renewal pending",
    "Animal facility health screening in progress",
    "Waiting for the requester's institute to confirm the MTA",
    "Staff shortage over the summer",
)
# organisation, country, address, VAT number (None: none given), sector
ORGANISATIONS = [
    ("Universität Heidelberg", "DE", "Im Neuenheimer Feld 234, 69120 Heidelberg", "DE123456788", "academic"),
    ("Institut Pasteur", "FR", "25-28 rue du Docteur Roux, 75015 Paris", "FR40180089013", "academic"),
    ("University of Helsinki", "FI", "Yliopistonkatu 4, 00100 Helsinki", "FI12345671", "academic"),
    ("University of Cambridge", "GB", "Tennis Court Road, Cambridge CB2 1QW", "GB123456782", "academic"),
    (
        "Universitat de Barcelona",
        "ES",
        "Gran Via de les Corts Catalanes 585, 08007 Barcelona",
        "ESA12345674",
        "academic",
    ),
    ("Università degli Studi di Milano", "IT", "Via Festa del Perdono 7, 20122 Milano", "IT02118760582", "academic"),
    ("Charles University", "CZ", "Ovocný trh 5, 116 36 Praha 1", "CZ12345679", "academic"),
    ("Medizinische Universität Wien", "AT", "Spitalgasse 23, 1090 Wien", "ATU12345675", "academic"),
    ("Karolinska Institutet", "SE", "Solnavägen 1, 171 77 Solna", None, "academic"),
    ("ETH Zürich", "CH", "Rämistrasse 101, 8092 Zürich", None, "academic"),
    ("Harvard Medical School", "US", "25 Shattuck Street, Boston, MA 02115", None, "academic"),
    ("Biotech Example GmbH", "DE", "Am Klopferspitz 19, 82152 Martinsried", "DE123456788", "industry"),
    ("Pharma Exemple SA", "FR", "3 avenue de l'Europe, 67300 Schiltigheim", "FR27775688732", "industry"),
    ("Genomics Example Ltd", "GB", "Milton Park, Abingdon OX14 4RY", "GB654321006", "industry"),
]
FIRST = (
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Katrin",
    "Luca",
    "Maria",
    "Niko",
    "Olga",
    "Pieter",
    "Rosa",
    "Sven",
    "Tomas",
    "Ulla",
)
LAST = (
    "Schmidt",
    "Martin",
    "Virtanen",
    "Smith",
    "García",
    "Rossi",
    "Novák",
    "Gruber",
    "Lindqvist",
    "Keller",
    "Brown",
    "Dubois",
    "Müller",
    "Korhonen",
    "Fischer",
    "Moreau",
)


def _now() -> datetime:
    return utcnow().replace(microsecond=0)


def _ids(model) -> int:
    """The next free id of a table."""
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def _has_table(name: str) -> bool:
    return inspect(db.session.connection()).has_table(name)


class _Writer:
    """Rows per table, written with Core `insert()` executemany in dependency order.

    On PostgreSQL a thread writes each flushed chunk on the session's connection while the
    caller simulates the next one (the server works while Python generates). The caller must
    not use the session between the first flush() and wait()."""

    def __init__(self, models):
        self.models = models
        self.rows = {m: [] for m in models}
        self.counts: dict[str, int] = defaultdict(int)
        self.conn = db.session.connection()
        self.error: BaseException | None = None
        self.queue: queue.Queue | None = None
        if self.conn.dialect.name == "postgresql":
            self.queue = queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._run, name="seed-bench-writer", daemon=True)
            self.thread.start()

    def add(self, model, row: dict) -> None:
        self.rows[model].append(row)

    def _write(self, batch) -> None:
        for table, rows in batch:
            self.conn.execute(insert(table), rows)

    def _run(self) -> None:
        while True:
            batch = self.queue.get()
            try:
                if batch is None:
                    return
                if self.error is None:
                    self._write(batch)
            except BaseException as exc:  # handed to the caller at its next flush() or wait()
                self.error = exc
            finally:
                self.queue.task_done()

    def flush(self) -> None:
        batch = []
        for model in self.models:
            if self.rows[model]:
                batch.append((model.__table__, self.rows[model]))
                self.counts[model.__tablename__] += len(self.rows[model])
                self.rows[model] = []
        if self.error is not None:
            raise self.error
        if not batch:
            return
        if self.queue is None:
            self._write(batch)
        else:
            self.queue.put(batch)

    def wait(self) -> None:
        """Everything flushed is written (the session may be used again)."""
        if self.queue is not None:
            self.queue.join()
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        if self.queue is not None:
            self.queue.put(None)
            self.thread.join()
            self.queue = None


# ---- the reference data: nodes, staff, strains, plans ----------------------------------
class _World:
    def __init__(self, rng: random.Random, n: int, now: datetime):
        from conversion.seed import seed_demo

        if not db.session.scalar(select(func.count()).select_from(Node)):
            seed_demo()
        self.rng, self.now = rng, now
        self.nodes = {n.id: n for n in db.session.scalars(select(Node))}
        users = list(db.session.scalars(select(User).where(User.active.is_(True))))
        self.coordinators = [u.id for u in users if u.role is Role.coordinator]
        if not self.coordinators:
            raise RuntimeError("No coordinator account: run `flask --app wsgi seed-demo` first.")
        self.staff: dict[int, list[int]] = defaultdict(list)
        for u in users:
            if u.role is Role.staff and u.node_id:
                self.staff[u.node_id].append(u.id)
        self.deleters: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for d in db.session.scalars(select(DeleterStrain)):
            self.deleters[d.node_id][d.recombinase.value].append(d.id)
        self.conversion_nodes = [
            node for node in self.nodes.values() if node.offers_conversion and self.staff.get(node.id)
        ]
        if not self.conversion_nodes:
            raise RuntimeError("No node offers conversion with a staff account.")
        self.orgs = []
        for org, country, address, vat, sector in ORGANISATIONS:
            try:
                vat = normalise_vat(country, vat) if vat else None
            except ValueError:
                vat = None
            self.orgs.append((org, country, address, vat, sector))
        self.requesters = self._requesters(users, n)
        self.candidates = self._candidates()
        if not self.candidates:
            raise RuntimeError("No public strain in the catalogue can be converted.")
        self._able: dict[tuple, list[Node]] = {}
        self._names: dict[tuple, str] = {}

    def _requesters(self, users: list[User], n: int) -> list[tuple[int, str, str, tuple]]:
        """(user id, display name, email, organisation) of requesters: the demo ones and synthetic ones."""
        out = []
        for u in users:
            if u.role is Role.requester:
                sector = "industry" if "biotech" in u.email or "industry" in u.email else "academic"
                org = next(
                    (o for o in self.orgs if o[4] == sector and (not u.organisation or o[0] == u.organisation)),
                    next(o for o in self.orgs if o[4] == sector),
                )
                out.append((u.id, u.display_name, u.email, org))
        want = max(10, min(1000, n // 50))
        have = {email for email in db.session.scalars(select(User.email).where(User.email.like("bench.requester%")))}
        next_id = _ids(User)
        unusable = generate_password_hash(secrets.token_urlsafe(32), method="pbkdf2:sha256:1000")
        rows = []
        for i in range(want):
            email = f"bench.requester{i:04d}@example.org"
            org = self.orgs[i % len(self.orgs)]
            name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"
            if email in have:
                continue
            rows.append(
                {
                    "id": next_id,
                    "email": email,
                    "name": name,
                    "password_hash": unusable,
                    "role": "requester",
                    "node_id": None,
                    "organisation": org[0],
                    "active": True,
                    "session_version": 1,
                    "created_at": self.now - timedelta(days=YEARS * 366),
                }
            )
            next_id += 1
        if rows:
            db.session.execute(insert(User.__table__), rows)
        for uid, email, name, org_name in db.session.execute(
            select(User.id, User.email, User.name, User.organisation).where(User.email.like("bench.requester%"))
        ):
            org = next((o for o in self.orgs if o[0] == org_name), self.orgs[0])
            out.append((uid, name or email, email, org))
        return out

    def _candidates(self) -> list[tuple]:
        """(strain, target, plan dict, steps) for every feasible conversion of a public strain
        whose product is not archived already (what requesters may submit)."""
        strains = list(db.session.scalars(select(Strain).where(Strain.access == Access.public)))
        archived = {s.allele_symbol for s in strains}
        plans: dict[tuple[str, str], object] = {}
        out = []
        for strain in strains:
            for target in TARGETS:
                key = (strain.allele_symbol, target)
                if key not in plans:
                    try:
                        plans[key] = plan_conversion(*key)
                    except (SymbolError, ValueError):
                        plans[key] = None
                plan = plans[key]
                if plan is None or not plan.feasible or plan.product_symbol in archived:
                    continue
                out.append((strain, target, plan.to_dict()))
        return out

    def able_nodes(self, recombinases: frozenset) -> list[Node]:
        if recombinases not in self._able:
            self._able[recombinases] = [
                n for n in self.conversion_nodes if all(self.deleters[n.id].get(r) for r in recombinases)
            ]
        return self._able[recombinases]

    def product_name(self, strain: Strain, product_symbol: str, node: Node) -> str:
        key = (strain.id, product_symbol, node.id)
        if key not in self._names:
            self._names[key] = product_strain_name(strain.strain_name, product_symbol, node.lab_code)
        return self._names[key]


# ---- one request's life ----------------------------------------------------------------
def _days(rng: random.Random, state: str) -> float:
    base = typical_days(state) or 14.0
    return base * min(3.0, rng.lognormvariate(0, 0.45))


class _Life:
    """Simulates one request from `t0` until it is closed or until now."""

    def __init__(self, world: _World, w: _Writer, ids: dict, rid: int, t0: datetime):
        self.world, self.w, self.ids, self.rid = world, w, ids, rid
        self.rng = world.rng
        rng = self.rng
        strain, target, plan = rng.choice(world.candidates)
        recombinases = frozenset(plan["steps"])
        if not world.able_nodes(recombinases):
            strain, target, plan = world.candidates[0]
            recombinases = frozenset(plan["steps"])
        self.strain, self.plan, self.recombinases = strain, plan, recombinases
        self.steps = plan["step_details"]
        pick = rng.random()
        if pick < 0.02:
            requester = world.requesters[0]
        else:
            requester = rng.choice(world.requesters)
        self.requester_id, self.requester_name, self.requester_email, org = requester
        if strain.industry_licence == "genoway" and org[4] == "industry":
            org = world.orgs[0]
        self.org = org
        self.tat = "Cre" in recombinases and rng.random() < 0.1
        if strain.material is Material.live:
            deliverable = "live_animals"
        else:
            deliverable = rng.choices(["frozen_sperm", "frozen_embryos", "live_animals"], [6, 2, 2])[0]
        self.row = {
            "id": rid,
            "reference": f"AC-{t0.year}-{rid:05d}",
            "requester_id": self.requester_id,
            "strain_id": strain.id,
            "node_id": None,
            "status": "submitted",
            "held_status": None,
            "target": target,
            "source_class": plan["source_class"],
            "product_symbol": plan["product_symbol"],
            "product_class": plan["product_class"],
            "product_strain_name": None,
            "plan": plan,
            "step_count": len(self.steps),
            "current_step": 1,
            "use_tat_cre": self.tat,
            "recipe": recipe_of([step.get("recombinase") for step in self.steps], self.tat),
            "deliverable": deliverable,
            "billing_organisation": org[0],
            "billing_address": org[2],
            "billing_country": org[1],
            "billing_vat_number": org[3],
            "billing_sector": org[4],
            "created_at": t0,
            "updated_at": t0,
            "state_since": t0,
            "version": 1,
        }
        self.node: Node | None = None
        self.staff_id: int | None = None
        self.t = t0
        self.events = 0
        self.paperwork = None
        self.generation = 0
        self.animal_n = 0
        self.mating_n = 0
        self.last_animal = None
        self.accepted_at: datetime | None = None
        self.shipped_at: datetime | None = None
        self.cryo: list[tuple[str, int]] = []

    # -- helpers
    def next_id(self, model) -> int:
        value = self.ids[model]
        self.ids[model] = value + 1
        return value

    def staff(self) -> int:
        """The technician of the assigned node who works on this request."""
        return self.staff_id

    def coordinator(self) -> int:
        return self.rng.choice(self.world.coordinators)

    def between(self, start: datetime, end: datetime) -> datetime:
        span = max((end - start).total_seconds(), 60.0)
        return start + timedelta(seconds=self.rng.uniform(0.05, 0.95) * span)

    def event(
        self, trigger: str, to: str, actor: int, at: datetime, comment: str | None = None, data: dict | None = None
    ) -> None:
        self.w.add(
            RequestEvent,
            {
                "id": self.next_id(RequestEvent),
                "request_id": self.rid,
                "trigger": trigger,
                "from_status": None if trigger == "submit" else self.row["status"],
                "to_status": to,
                "actor_id": actor,
                "at": at,
                "comment": comment,
                "data": data or {},
            },
        )
        self.row["status"] = to
        self.row["updated_at"] = self.row["state_since"] = at
        self.events += 1
        self.t = at

    @property
    def step(self) -> dict:
        return self.steps[min(self.row["current_step"], len(self.steps)) - 1]

    # -- lab records
    def record_paperwork(self, start: datetime, end: datetime, complete: bool) -> None:
        if self.paperwork is not None:
            return
        at = self.between(start, end)
        paid = complete and self.rng.random() < 0.1
        self.paperwork = {
            "request_id": self.rid,
            "mta_signed_on": at.date(),
            "po_reference": None if (paid or not complete) else f"PO-{self.rid:06d}",
            "paid_on": at.date() if paid else None,
            "recorded_by_id": self.staff(),
            "recorded_at": at,
        }
        self.w.add(Paperwork, self.paperwork)

    def animal(
        self, at: datetime, stage: str, allele: str, transgene: str | None, mating: int | None, prefix: str
    ) -> None:
        self.animal_n += 1
        self.last_animal = self.next_id(Animal)
        self.w.add(
            Animal,
            {
                "id": self.last_animal,
                "request_id": self.rid,
                "step": self.row["current_step"],
                "stage": stage,
                "label": f"{prefix}-{self.animal_n}",
                "born_on": (at - timedelta(days=self.rng.randint(21, 42))).date(),
                "sex": self.rng.choice(("male", "female")),
                "allele": allele,
                "deleter_transgene": transgene,
                "mating_id": mating,
                "recorded_by_id": self.staff(),
                "recorded_at": at,
            },
        )

    def founders(self, start: datetime, end: datetime) -> None:
        at = self.between(start, end)
        for _ in range(self.rng.randint(1, 2)):
            self.animal(at, "rederivation", self.row["source_class"], None, None, "F0")

    def mating(self, start: datetime, end: datetime, successful: bool | None = None) -> int:
        """A mating of the current step; `successful` when its pups carry the product (start_qc
        needs a successful mating of the step, as the peers gate excision on one)."""
        self.generation += 1
        at = self.between(start, start + (end - start) / 3)
        recombinase = self.step["recombinase"]
        tat = self.tat and recombinase == "Cre"
        mid = self.next_id(Mating)
        born = at + timedelta(days=21)
        self.mating_n += 1
        self.w.add(
            Mating,
            {
                "id": mid,
                "request_id": self.rid,
                "number": self.mating_n,
                "step": self.row["current_step"],
                "generation": self.generation,
                "method": "tat_cre" if tat else "deleter",
                "deleter_id": None if tat else self.rng.choice(self.world.deleters[self.node.id][recombinase]),
                "set_up_on": at.date(),
                "dam": f"D{self.rid}-{self.generation}",
                "sire": f"S{self.rid}-{self.generation}",
                "successful": successful,
                "recorded_by_id": self.staff(),
                "recorded_at": at,
            },
        )
        if born < end:
            self.w.add(
                Litter,
                {
                    "request_id": self.rid,
                    "mating_id": mid,
                    "born_on": born.date(),
                    "pups_born": self.rng.randint(4, 9),
                    "pups_weaned": self.rng.randint(3, 7),
                    "recorded_by_id": self.staff(),
                    "recorded_at": born,
                },
            )
        return mid

    def pups(self, start: datetime, end: datetime, mating: int, with_product: bool) -> None:
        at = self.between(start + (end - start) / 2, end)
        product = self.step["to_class"]
        for k in range(self.rng.randint(2, 4)):
            if with_product and k == 0:
                allele, transgene = product, "negative"
            else:
                allele = self.rng.choice((product, product, "wt", self.step["from_class"]))
                transgene = self.rng.choice(("positive", "negative"))
            self.animal(at, "breeding", allele, transgene, mating, f"G{self.generation}")

    def qc(self, start: datetime, end: datetime, passing: int, failing: int = 0) -> None:
        assays = self.step["qc_assays"] or ["LoA qPCR"]
        safe = [a for a in assays if a != "3' loxP PCR"] or ["LoA qPCR"]
        for result, n, pool in (("fail", failing, safe), ("pass", passing, assays)):
            for _ in range(n):
                self.w.add(
                    QcResult,
                    {
                        "id": self.next_id(QcResult),
                        "request_id": self.rid,
                        "step": self.row["current_step"],
                        "assay": self.rng.choice(pool),
                        "result": result,
                        "animal_label": f"G{self.generation}-{self.animal_n}",
                        "animal_id": self.last_animal,
                        "note": None,
                        "recorded_by_id": self.staff(),
                        "recorded_at": self.between(start, end),
                    },
                )

    def cryopreserve(self, start: datetime, end: datetime, thaw: str | None) -> None:
        material = "embryos" if self.row["deliverable"] == "frozen_embryos" else "sperm"
        count = self.rng.randint(10, 40)
        self.cryo.append((material, count))
        cid, at = self.next_id(Cryopreservation), self.between(start, end)
        self.w.add(
            Cryopreservation,
            {
                "id": cid,
                "request_id": self.rid,
                "material": material,
                "count": count,
                "location": f"Tank {self.rng.randint(1, 6)} / canister {self.rng.randint(1, 9)} "
                f"/ position {self.rng.randint(1, 40)}",
                "recorded_by_id": self.staff(),
                "recorded_at": at,
            },
        )
        if thaw:
            self.w.add(
                CryoThaw,
                {
                    "request_id": self.rid,
                    "cryo_id": cid,
                    "thawed_on": at.date(),
                    "result": thaw,
                    "note": None,
                    "recorded_by_id": self.staff(),
                    "recorded_at": at,
                },
            )

    # -- the simulation
    def run(self) -> None:
        rng, now, row = self.rng, self.world.now, self.row
        self.event("submit", "submitted", self.requester_id, self.t)
        while row["status"] not in ("rejected", "cancelled", "completed"):
            state = row["status"]
            if state == "on_hold":
                end = self.t + timedelta(days=rng.uniform(14, 70))
                if end > now:
                    return
                held = row["held_status"]
                actor = self.staff() if self.node else self.coordinator()
                self.event("resume", held, actor, end, "Work can continue.")
                row["held_status"] = None
                continue
            end = self.t + timedelta(days=_days(rng, state))
            if end > now:
                self.unfinished(state, self.t, now)
                return
            if rng.random() < 0.02:  # put on hold part way
                at = self.between(self.t, end)
                actor = self.staff() if self.node else self.coordinator()
                self.event("hold", "on_hold", actor, at, rng.choice(HOLD_REASONS))
                row["held_status"] = state
                continue
            self.leave(state, self.t, end)

    def cancel(self, at: datetime, early: bool) -> None:
        if early and self.rng.random() < 0.5:
            actor, reason = self.requester_id, self.rng.choice(CANCEL_BY_REQUESTER)
        else:
            actor, reason = self.coordinator(), self.rng.choice(CANCEL_BY_COORDINATOR)
        self.event("cancel", "cancelled", actor, at, None, {"reason": reason})

    def leave(self, state: str, start: datetime, end: datetime) -> None:
        rng, row, r = self.rng, self.row, self.rng.random()
        if state == "submitted":
            if r < 0.07:
                self.event(
                    "reject",
                    "rejected",
                    self.coordinator(),
                    end,
                    "Please request the tm1b derivative already offered by the holder node.",
                )
            elif r < 0.09:
                self.cancel(end, early=True)
            else:
                self.event("approve", "approved", self.coordinator(), end)
        elif state == "approved":
            if r < 0.02:
                self.cancel(end, early=True)
                return
            able = self.world.able_nodes(self.recombinases)
            node = rng.choice(able)
            self.node, self.staff_id = node, rng.choice(self.world.staff[node.id])
            row["node_id"] = node.id
            row["product_strain_name"] = self.world.product_name(self.strain, row["product_symbol"], node)
            self.event("assign", "assigned", self.coordinator(), end, None, {"node": node.code})
        elif state == "assigned":
            if r < 0.05:
                self.event("decline", "approved", self.staff(), end, "No capacity in the animal facility this quarter.")
                self.node, row["node_id"], row["product_strain_name"] = None, None, None
            elif r < 0.06:
                self.cancel(end, early=True)
            else:
                self.event("accept", "accepted", self.staff(), end)
                self.accepted_at = end
        elif state == "accepted":
            if r < 0.04:
                self.cancel(end, early=False)
            else:
                self.record_paperwork(start, end, complete=True)
                self.event("start_rederivation", "rederivation", self.staff(), end)
        elif state == "rederivation":
            if r < 0.08:
                self.event(
                    "rederivation_failed",
                    "accepted",
                    self.staff(),
                    end,
                    "No pregnancies after embryo transfer: thawing a second batch.",
                )
            elif r < 0.09:
                self.cancel(end, early=False)
            else:
                self.founders(start, end)
                self.event("start_breeding", "breeding", self.staff(), end)
        elif state == "breeding":
            mating = self.mating(start, end, successful=True)
            self.pups(start, end, mating, with_product=True)
            self.event("start_qc", "qc", self.staff(), end)
        elif state == "qc":
            if r < 0.08:
                self.qc(start, end, passing=0, failing=1)
                self.event(
                    "fail_qc",
                    "breeding",
                    self.staff(),
                    end,
                    "Genotype not confirmed on the selected animal: breeding another generation.",
                )
            elif r < 0.085:
                self.qc(start, end, passing=0, failing=1)
                self.cancel(end, early=False)
            else:
                self.qc(start, end, passing=rng.randint(1, 3))
                if row["current_step"] < row["step_count"]:
                    self.event("pass_qc", "breeding", self.staff(), end)
                    row["current_step"] += 1
                    self.generation = 0
                else:
                    self.event("pass_qc", "cryopreservation", self.staff(), end)
        elif state == "cryopreservation":
            if r < 0.1:
                self.cryopreserve(start, end, "fail")
            self.cryopreserve(start, end, "pass")
            self.event("complete_cryopreservation", "ready", self.staff(), end)
        elif state == "ready":
            if r < 0.01:
                self.cancel(end, early=False)
            else:
                material = {"frozen_sperm": "sperm", "frozen_embryos": "embryos"}.get(
                    self.row["deliverable"], "live_animals"
                )
                self.w.add(
                    Shipment,
                    {
                        "request_id": self.rid,
                        "courier": "World Courier",
                        "tracking": f"WC{self.rid:08d}",
                        "shipped_on": end.date(),
                        "material": material,
                        "quantity": min(3, self.cryo[-1][1] - 2) if self.cryo else 3,
                        "recorded_by_id": self.staff(),
                        "recorded_at": end,
                    },
                )
                self.event("ship", "shipped", self.staff(), end)
                self.shipped_at = end
        elif state == "shipped":
            actor = self.requester_id if r < 0.8 else self.staff()
            self.event("confirm_delivery", "completed", actor, end)

    def unfinished(self, state: str, start: datetime, now: datetime) -> None:
        """The lab work done so far in the state the request is still in."""
        r = self.rng.random()
        if state == "accepted" and r < 0.6:
            self.record_paperwork(start, now, complete=r < 0.3)
        elif state == "rederivation" and r < 0.4:
            self.founders(start, now)
        elif state == "breeding" and r < 0.7:
            mating = self.mating(start, now, successful=True if r < 0.2 else None)
            if r < 0.4:
                self.pups(start, now, mating, with_product=r < 0.2)
        elif state == "qc" and r < 0.5:
            self.qc(start, now, passing=1)
        elif state == "cryopreservation" and r < 0.5:
            self.cryopreserve(start, now, None)

    def finish(self) -> None:
        self.row["version"] = self.events
        self.w.add(ConversionRequest, self.row)


# ---- invoices --------------------------------------------------------------------------
class _Invoicing:
    """Issued invoices for shipped requests (numbered at the end, in date order), some drafts."""

    def __init__(self, world: _World):
        from conversion.invoices.models import PriceList

        self.world = world
        self.lists: dict[int, list] = defaultdict(list)
        for plist in db.session.scalars(select(PriceList).order_by(PriceList.valid_from)):
            self.lists[plist.node_id].append(
                (plist.valid_from, {(p.service, p.tier): p.amount for p in plist.prices}, plist)
            )
        self.specs: list[tuple] = []

    def price_list(self, node_id: int, day: date):
        found = None
        for valid_from, prices, plist in self.lists.get(node_id, []):
            if valid_from <= day:
                found = (prices, plist)
        return found

    def collect(self, life: _Life) -> None:
        if life.node is None or life.accepted_at is None or not self.lists.get(life.node.id):
            return
        row = life.row
        if life.shipped_at is not None:
            issued_at = min(life.shipped_at + timedelta(days=life.rng.uniform(0, 14)), self.world.now)
            self.specs.append((issued_at, life, "issued"))
        elif (
            row["status"] in ("accepted", "rederivation", "breeding", "qc", "cryopreservation", "ready")
            and life.rng.random() < 0.15
        ):
            self.specs.append((life.world.now, life, "draft"))

    def lines(self, life: _Life, day: date, today: date) -> tuple[list[dict], object] | None:
        from conversion.invoices.models import Service

        node_id, tier, row = life.node.id, life.row["billing_sector"], life.row
        found = self.price_list(node_id, day) or self.price_list(node_id, today)
        if found is None:
            return None
        prices, plist = found

        def line(service: Service, description: str) -> dict:
            return {
                "service": service.value,
                "description": description,
                "quantity": Decimal(1),
                "unit_price": prices[(service.value, tier)],
            }

        strain = life.strain
        out = []
        if strain.material is not Material.live:
            how = "IVF with frozen sperm" if strain.material is Material.frozen_sperm else "thawing of frozen embryos"
            out.append(
                line(
                    Service.rederivation,
                    f"Rederivation of {strain.emma_id} ({row['source_class']}) by "
                    f"{how}, embryo transfer, founder genotyping",
                )
            )
        for i, step in enumerate(life.steps, 1):
            how = "TAT-Cre" if life.tat and step["recombinase"] == "Cre" else f"{step['recombinase']} deleter cross"
            out.append(
                line(
                    Service.conversion_step,
                    f"Conversion step {i} of {len(life.steps)}: "
                    f"{step['from_class']} to {step['to_class']} ({how}), "
                    "breeding and QC genotyping",
                )
            )
        if life.tat:
            out.append(line(Service.tat_cre, "TAT-Cre treatment of IVF embryos (cell-permeable Cre protein)"))
        stored = ", ".join(f"{m} ({c} samples)" for m, c in life.cryo)
        out.append(
            line(
                Service.cryopreservation,
                f"Cryopreservation of {row['product_symbol']}: {stored}, with test thaw"
                if stored
                else f"Cryopreservation of {row['product_symbol']} with test thaw",
            )
        )
        if row["deliverable"] == "live_animals":
            out.append(line(Service.shipping_live, "Shipping of live animals (up to 3 heterozygous mice)"))
        else:
            what = "sperm" if row["deliverable"] == "frozen_sperm" else "embryos"
            out.append(line(Service.shipping_frozen, f"Shipping of frozen {what} in a dry shipper"))
        return out, plist

    def write(self, w: _Writer) -> None:
        from conversion.invoices.models import Invoice, InvoiceCounter, InvoiceLine, cents
        from conversion.invoices.vat import vat_treatment

        counters = {(c.node_id, c.year): c.last_number for c in db.session.scalars(select(InvoiceCounter))}
        before = dict(counters)
        ids = {Invoice: _ids(Invoice), InvoiceLine: _ids(InvoiceLine)}
        self.specs.sort(key=lambda s: (s[0], s[1].rid))
        for issued_at, life, status in self.specs:
            row, node = life.row, life.node
            drafted = self.lines(life, life.accepted_at.date(), self.world.now.date())
            if drafted is None:
                continue
            lines, plist = drafted
            try:
                treatment = vat_treatment(node.country, row["billing_country"], row["billing_vat_number"])
            except ValueError:
                continue
            rate = treatment.rate
            invoice_id = ids[Invoice]
            ids[Invoice] += 1
            net_total = vat_total = Decimal("0.00")
            for position, line in enumerate(lines, 1):
                net = cents(line["quantity"] * line["unit_price"])
                vat = cents(net * rate / 100)
                net_total, vat_total = net_total + net, vat_total + vat
                w.add(
                    InvoiceLine,
                    {
                        "id": ids[InvoiceLine],
                        "invoice_id": invoice_id,
                        "position": position,
                        "service": line["service"],
                        "description": line["description"],
                        "quantity": line["quantity"],
                        "unit_price": line["unit_price"],
                        "net": net,
                        "vat": vat,
                    },
                )
                ids[InvoiceLine] += 1
            staff = life.rng.choice(self.world.staff[node.id])
            invoice = {
                "id": invoice_id,
                "kind": "invoice",
                "status": status,
                "number": None,
                "year": None,
                "sequence": None,
                "request_id": life.rid,
                "node_id": node.id,
                "credits_id": None,
                "reason": None,
                "currency": plist.currency,
                "tier": row["billing_sector"],
                "vat_treatment": None,
                "vat_rate": None,
                "vat_mention": None,
                "net": net_total,
                "vat": vat_total,
                "total": net_total + vat_total,
                "seller": None,
                "customer": None,
                "subject": None,
                "issued_on": None,
                "due_on": None,
                "pdf": None,
                "pdf_sha256": None,
                "created_at": issued_at,
                "created_by_id": staff,
                "issued_at": None,
                "issued_by_id": None,
            }
            if status == "issued":
                day = issued_at.date()
                year = day.year
                counters[(node.id, year)] = sequence = counters.get((node.id, year), 0) + 1
                now_list = self.price_list(node.id, day)
                seller_list = now_list[1] if now_list else plist
                invoice.update(
                    {
                        "number": f"{node.code}-{year}-{sequence:04d}",
                        "year": year,
                        "sequence": sequence,
                        "vat_treatment": treatment.kind,
                        "vat_rate": rate,
                        "vat_mention": treatment.mention,
                        "seller": {
                            "code": node.code,
                            "name": node.name,
                            "address": node.address,
                            "country": node.country,
                            "vat_number": node.vat_number,
                            "email": node.email,
                            "bank_details": seller_list.bank_details,
                            "payment_days": seller_list.payment_days,
                        },
                        "customer": {
                            "organisation": row["billing_organisation"],
                            "address": row["billing_address"],
                            "country": row["billing_country"],
                            "vat_number": row["billing_vat_number"],
                            "sector": row["billing_sector"],
                            "contact": life.requester_name,
                            "email": life.requester_email,
                        },
                        "subject": {
                            "reference": row["reference"],
                            "strain": life.strain.emma_id,
                            "strain_name": life.strain.strain_name,
                            "source_symbol": life.strain.allele_symbol,
                            "product_symbol": row["product_symbol"],
                            "product_strain_name": row["product_strain_name"],
                            "po_reference": (life.paperwork or {}).get("po_reference"),
                        },
                        "issued_on": day,
                        "due_on": day + timedelta(days=seller_list.payment_days),
                        "issued_at": issued_at,
                        "issued_by_id": staff,
                    }
                )
            w.add(Invoice, invoice)
            if len(w.rows[InvoiceLine]) >= CHUNK * 5:
                w.flush()
        w.flush()
        w.wait()
        for (node_id, year), last in counters.items():
            if (node_id, year) in before:
                if before[(node_id, year)] != last:
                    db.session.execute(
                        update(InvoiceCounter.__table__)
                        .where(InvoiceCounter.node_id == node_id, InvoiceCounter.year == year)
                        .values(last_number=last)
                    )
            else:
                db.session.execute(
                    insert(InvoiceCounter.__table__).values(node_id=node_id, year=year, last_number=last)
                )


# ---- entry point -----------------------------------------------------------------------
def seed_bench(
    n: int, *, seed: int = 1, progress: Callable[[int], None] | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Add `n` synthetic requests (and their history, lab records, invoices); returns row counts."""
    rng = random.Random(seed)
    now = now or _now()
    world = _World(rng, n, now)
    models = [
        ConversionRequest,
        RequestEvent,
        Paperwork,
        Mating,
        Litter,
        Animal,
        QcResult,
        Cryopreservation,
        CryoThaw,
        Shipment,
    ]
    ids = {m: _ids(m) for m in (RequestEvent, Mating, Animal, QcResult, Cryopreservation)}
    first = _ids(ConversionRequest)
    invoicing = _Invoicing(world) if _has_table("invoices") else None  # invoices: migration 0003
    span = timedelta(days=YEARS * 365).total_seconds()
    start = now - timedelta(seconds=span)
    w = _Writer(models)  # from here until w.wait(), only the writer uses the database
    try:
        done = 0
        for i in range(n):
            t0 = start + timedelta(seconds=span * (i + rng.random()) / n)
            life = _Life(world, w, ids, first + i, t0.replace(microsecond=0))
            life.run()
            life.finish()
            if invoicing is not None:
                invoicing.collect(life)
            if len(w.rows[ConversionRequest]) >= CHUNK:
                w.flush()
                if progress:
                    progress(CHUNK)
                done += CHUNK
        w.flush()
        w.wait()
        if progress and n - done:
            progress(n - done)
        if invoicing is not None:
            for model in _invoice_models():
                w.models.append(model)
                w.rows[model] = []
            invoicing.write(w)
    finally:
        w.close()
    _move_sequences()
    rebuild_state_durations()  # the dashboard's time-in-state histogram, from the history written above
    rebuild_tallies()  # and its counts per node, state and month
    rebuild_learnt()  # what the completion estimate learns per node and recipe
    db.session.commit()
    _refresh_statistics()
    return dict(w.counts)


def _invoice_models():
    from conversion.invoices.models import Invoice, InvoiceLine

    return [Invoice, InvoiceLine]


TABLES = [
    "users",
    "conversion_requests",
    "request_events",
    "paperwork",
    "matings",
    "animals",
    "qc_results",
    "cryopreservations",
    "invoices",
    "invoice_lines",
    "invoice_counters",
]


def _move_sequences() -> None:
    """PostgreSQL: the id sequences continue after the ids assigned here."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        if table not in ("paperwork", "invoice_counters") and _has_table(table):
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                )
            )


def _refresh_statistics() -> None:
    """Planner statistics for the new rows; on PostgreSQL also the visibility map (VACUUM), so
    the index-only scans the lists and counts rely on need no heap visits."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            tables = [t for t in TABLES if inspect(conn).has_table(t)]
            conn.execute(text(f"VACUUM (ANALYZE) {', '.join(tables)}"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
