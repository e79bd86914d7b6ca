"""Conversion requests and their immutable history."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint, event, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..catalogue.models import Node, Strain
from ..extensions import UTCDateTime, db, iso_utc, utcnow
from .hooks import lab_facts


class Deliverable(str, enum.Enum):
    frozen_sperm = "frozen_sperm"
    frozen_embryos = "frozen_embryos"
    live_animals = "live_animals"


class Sector(str, enum.Enum):
    academic = "academic"
    industry = "industry"


class ConversionRequest(db.Model):
    __tablename__ = "conversion_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    strain_id: Mapped[int] = mapped_column(ForeignKey("strains.id"))
    node_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id"))
    status: Mapped[str] = mapped_column(String(30), default="submitted")
    held_status: Mapped[str | None] = mapped_column(String(30))
    target: Mapped[str] = mapped_column(String(10))
    source_class: Mapped[str] = mapped_column(String(20))
    product_symbol: Mapped[str] = mapped_column(String(200))
    product_class: Mapped[str] = mapped_column(String(20))
    product_strain_name: Mapped[str | None] = mapped_column(String(400))
    # The catalogue strain the product became when cryopreservation completed (the archive loop).
    archived_strain_id: Mapped[int | None] = mapped_column(ForeignKey("strains.id"))
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    step_count: Mapped[int] = mapped_column(default=1)
    current_step: Mapped[int] = mapped_column(default=1)
    use_tat_cre: Mapped[bool] = mapped_column(default=False)
    # The plan's recombinases in step order and TAT-Cre use ("Flp,Cre", "Cre+TAT"; recipe_of), fixed
    # at submission like the plan: the completion estimate learns from the latest completed requests
    # of the same recipe at the node by one index range (migration 0018). None: a step without one.
    recipe: Mapped[str | None] = mapped_column(String(120))
    deliverable: Mapped[Deliverable] = mapped_column(
        Enum(Deliverable, name="deliverable", native_enum=False, length=20)
    )
    billing_organisation: Mapped[str] = mapped_column(String(200))
    billing_address: Mapped[str] = mapped_column(Text)
    billing_country: Mapped[str] = mapped_column(String(2))
    billing_vat_number: Mapped[str | None] = mapped_column(String(30))
    billing_sector: Mapped[Sector] = mapped_column(Enum(Sector, name="sector", native_enum=False, length=20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When the request entered its current state (its last transition): the dashboard's overdue
    # list and monthly completions read it from an index instead of the whole history (migration 0014).
    state_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optimistic lock: a concurrent change of the same row makes the second commit fail.
    version: Mapped[int] = mapped_column(default=1)
    # The submitter's Idempotency-Key header (POST /api/v1/requests): unique per requester, so
    # a retried or duplicated submit answers the first request instead of making another.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))

    requester: Mapped[User] = relationship()
    strain: Mapped[Strain] = relationship(foreign_keys=[strain_id])
    archived_strain: Mapped[Strain | None] = relationship(foreign_keys=[archived_strain_id])
    node: Mapped[Node | None] = relationship()
    history: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", order_by="RequestEvent.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # Lists newest first by node, node and state, requester (migration 0006, docs/benchmarks.md).
        Index("ix_conversion_requests_node_id_status_id", "node_id", "status", "id", postgresql_include=["step_count"]),
        Index("ix_conversion_requests_node_id_id", "node_id", "id"),
        Index("ix_conversion_requests_requester_id_id", "requester_id", "id"),
        # One request per requester and Idempotency-Key (migration 0011).
        UniqueConstraint("requester_id", "idempotency_key", name="uq_conversion_requests_requester_id_idempotency_key"),
        # The page list's sorts (migration 0008): "recently changed" and "gene" (a nested loop over the
        # strains in gene order) read ids in order from an index alone, filtering node or state in
        # the index on PostgreSQL; the "status" index (status, id DESC) is declared below.
        Index("ix_conversion_requests_updated_at_id", "updated_at", "id", postgresql_include=["node_id", "status"]),
        Index("ix_conversion_requests_strain_id_id", "strain_id", "id", postgresql_include=["node_id", "status"]),
        # The dashboard (migration 0014): overdue requests per state, completions and submissions per month.
        Index("ix_conversion_requests_status_state_since", "status", "state_since"),
        Index("ix_conversion_requests_created_at", "created_at"),
        # The completion estimate's similar requests (migration 0018).
        Index("ix_conversion_requests_node_id_status_recipe_id", "node_id", "status", "recipe", "id"),
    )

    # ---- plan helpers -------------------------------------------------
    @property
    def steps(self) -> list[dict]:
        return self.plan.get("step_details", [])

    @property
    def step(self) -> dict | None:
        """The plan step being worked on now."""
        return plan_step(self.plan, self.current_step)

    @property
    def step_product_label(self) -> str:
        return self.step["to_class"] if self.step else self.product_class

    @property
    def step_source_label(self) -> str:
        return self.step["from_class"] if self.step else self.source_class

    @property
    def step_recombinase(self) -> str | None:
        return self.step["recombinase"] if self.step else None

    def recombinases_needed(self) -> set[str]:
        return {s["recombinase"] for s in self.steps}

    # ---- guard facts (workflows.lifecycle.RequestLike), answered by lab (hooks.register_lab_facts) ----
    def missing_paperwork(self) -> list[str]:
        return lab_facts().missing_paperwork(self)

    def has_source_founder(self) -> bool:
        return lab_facts().has_source_founder(self)

    def has_step_product_animal(self) -> bool:
        return lab_facts().has_step_product_animal(self)

    def step_matings_unsuccessful(self) -> bool:
        return lab_facts().step_matings_unsuccessful(self)

    def passing_assays_in_step(self) -> int:
        return lab_facts().passing_assays_in_step(self)

    def three_prime_loxp_loss(self) -> str | None:
        """The allele engine's answer to a failed 3' loxP assay: None, or why the target is lost."""
        if not self.failed_three_prime_loxp():
            return None
        from ..alleles import SymbolError, three_prime_loxp_loss

        try:
            return three_prime_loxp_loss(self.strain.allele_symbol, self.target, design=self.strain.design)
        except (SymbolError, ValueError):
            return None

    def failed_three_prime_loxp(self) -> bool:
        return lab_facts().failed_three_prime_loxp(self)

    def cryo_problem(self) -> str | None:
        return lab_facts().cryo_problem(self)

    def shipment_problem(self) -> str | None:
        return lab_facts().shipment_problem(self)

    def node_problem(self, node_code: str) -> str | None:
        from ..catalogue.operations import get_node

        node = get_node(node_code)
        if node is None:
            return f"Unknown node {node_code!r}"
        return self.problem_with(node)

    def problem_with(self, node: Node) -> str | None:
        """node_problem() for a loaded node (its deleters loaded too: no query per node)."""
        return conversion_problem(node, self.recombinases_needed())


def conversion_problem(node: Node, needed: set[str]) -> str | None:
    """Why `node` cannot run a plan needing these recombinases (None: it can)."""
    if not node.offers_conversion:
        return f"{node.code} does not offer allele conversion"
    have = {d.recombinase.value for d in node.deleters}
    missing = sorted(set(needed) - have)
    if missing:
        return f"{node.code} has no {' or '.join(missing)} deleter strain, which this plan needs"
    return None


# Migration 0008, declared on the table's columns (a descending column or an expression cannot be
# named in __table_args__): the "status" sort (status ASC, id DESC) in index order, which also
# serves one state's requests in either id order; and, on PostgreSQL only, trigram indexes for the
# text search (lower(x) LIKE '%q%', pg_trgm).
_columns = ConversionRequest.__table__.c
Index("ix_conversion_requests_status_id_desc", _columns.status, _columns.id.desc())
Index(
    "ix_conversion_requests_reference_trgm",
    func.lower(_columns.reference).label("lower_reference"),
    postgresql_using="gin",
    postgresql_ops={"lower_reference": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")
Index(  # migration 0019: a search starting with "AC-" is a prefix of references (LIKE 'ac-...%')
    "ix_conversion_requests_reference_pattern",
    func.lower(_columns.reference).label("lower_reference_pattern"),
    postgresql_ops={"lower_reference_pattern": "text_pattern_ops"},
).ddl_if(dialect="postgresql")
Index(
    "ix_conversion_requests_product_symbol_trgm",
    func.lower(_columns.product_symbol).label("lower_product_symbol"),
    postgresql_using="gin",
    postgresql_ops={"lower_product_symbol": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")

# Migration 0021, SQLite only: the FTS5 trigram table that answers the text search there (rowid: the
# request's id; filled by triggers), with its shadow tables <name>_data, _idx, _content, _docsize
# and _config. Not in the metadata (an FTS5 table is no ordinary table): the comparison of models
# and migrations leaves these names out (is_search_table).
SEARCH_TABLE = "conversion_requests_search"


def is_search_table(name: str | None) -> bool:
    return name is not None and (name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_"))


class RequestTally(db.Model):
    """How many requests are in each state at each node, and how many were submitted and completed
    in each month (counted at the request's current node): every submission and transition adds
    its change in its own transaction (requests.tallies), so the dashboard's counts read a few
    hundred rows whatever the number of requests. `rebuild-dashboard` recomputes them."""

    __tablename__ = "request_tallies"

    node_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # 0: no node yet
    key: Mapped[str] = mapped_column(String(40), primary_key=True)  # a state, submitted:YYYY-MM, completed:YYYY-MM
    n: Mapped[int] = mapped_column(default=0)


class LearntDurations(db.Model):
    """What the completion estimate learns at a node for a recipe (requests.estimates): how many
    of the latest completed requests it learnt from (at most estimates.SIMILAR) and their median
    days per state (per plan step for breeding and QC, `step_count` steps). Recomputed in the
    transaction of each completion (the only way in or out of `completed`); `rebuild()` after bulk
    loads."""

    __tablename__ = "learnt_durations"

    node_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    recipe: Mapped[str] = mapped_column(String(120), primary_key=True)
    step_count: Mapped[int]
    requests: Mapped[int]
    days: Mapped[dict[str, float]] = mapped_column(JSON)


class RequestEvent(db.Model):
    """One transition of a request: never updated, never deleted."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"))
    trigger: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    request: Mapped[ConversionRequest] = relationship(back_populates="history")
    actor: Mapped[User] = relationship()

    __table_args__ = (Index("ix_request_events_request_id_id", "request_id", "id"),)  # history in order

    def to_dict(self) -> dict:
        return event_json(self, self.actor.email)


def recipe_of(recombinases, use_tat_cre: bool) -> str | None:
    """ConversionRequest.recipe: the recombinases in step order, "+TAT" when TAT-Cre is used; None
    when a step names none."""
    if not all(isinstance(name, str) and name for name in recombinases):
        return None
    return ",".join(recombinases) + ("+TAT" if use_tat_cre else "")


def plan_step(plan: dict, current_step: int) -> dict | None:
    """The step of `plan` being worked on at `current_step` (ConversionRequest.step)."""
    steps = plan.get("step_details", [])
    return steps[min(current_step, len(steps)) - 1] if steps else None


def event_json(e, by: str) -> dict:
    """The JSON of a history event (an entity, or a Core row of its columns), `by` its actor's email."""
    out = {
        "trigger": e.trigger,
        "from": e.from_status,
        "to": e.to_status,
        "by": by,
        "at": iso_utc(e.at),
        "comment": e.comment,
    }
    if e.data:
        out["data"] = e.data
    return out


@event.listens_for(RequestEvent, "before_update")
def _history_is_immutable(mapper, connection, target):
    raise ValueError("Request history is immutable: add a new event instead.")


class RequestMessage(db.Model):
    """A message on a request's thread; `internal` notes are for EMMA staff only. Never changed."""

    __tablename__ = "request_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()

    __table_args__ = (Index("ix_request_messages_request_id_id", "request_id", "id"),)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "body": self.body,
            "internal": self.internal,
            "by": self.author.email,
            "role": self.author.role.value,
            "at": iso_utc(self.created_at),
        }


@event.listens_for(RequestMessage, "before_update")
def _messages_are_immutable(mapper, connection, target):
    raise ValueError("A message never changes: write a new one.")
