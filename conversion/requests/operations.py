"""Request operations: the only code that creates requests or moves them through the lifecycle.

Each operation checks who may see and do what, changes the rows, writes the history and
commits once. Pages and the API both call these."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    column,
    func,
    literal_column,
    null,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from workflows import lifecycle
from workflows.errors import LifecycleError

from ..accounts.auth import TOKEN_CALLER, caller_from_row, token_caller_params, user_for_token
from ..accounts.models import Role, User
from ..catalogue.models import Node, Strain
from ..catalogue.operations import create_derived_strain, escape_like, find_archived, get_node, get_strain
from ..countries import normalise_vat, parse_country
from ..errors import ApiError, Conflict, Forbidden, Invalid, NotFound, from_lifecycle
from ..extensions import by_key, db, in_sql_text, sqlite_write_lock, utcnow
from ..inputs import MAX_INT
from ..reads import Batch, Read, entity
from . import tallies
from .estimates import learn
from .hooks import detail_reads
from .models import (
    SEARCH_TABLE,
    ConversionRequest,
    Deliverable,
    RequestEvent,
    RequestTally,
    Sector,
    conversion_problem,
    event_json,
    plan_step,
    recipe_of,
)
from .signals import request_changed, stock_asked

AFTER_COMMIT: list = []
"""Callables (request, event) run after a transition commits (notifications hook here)."""
"""Callables (request, event) run before the commit, in the same transaction (outbox rows)."""


# ---- visibility ----------------------------------------------------------
def visible_requests(user: User) -> Select:
    """Requesters see their own requests, staff their node's, coordinators all."""
    return _visible_to(select(ConversionRequest), user)


def _visible_to(stmt: Select, user: User) -> Select:
    if user.role is Role.requester:
        stmt = stmt.where(ConversionRequest.requester_id == user.id)
    elif user.role is Role.staff:
        stmt = stmt.where(ConversionRequest.node_id == user.node_id)
    return stmt


def visible_by_params(role: Role, node_param: str = "node_id") -> list:
    """visible_requests()'s conditions for a role with the user's id and node as bound parameters
    (`user_id`, `node_param`), for statements built once per process and role."""
    if role is Role.requester:
        return [ConversionRequest.requester_id == bindparam("user_id")]
    if role is Role.staff:
        return [ConversionRequest.node_id == bindparam(node_param)]
    return []


_READ_STATEMENTS: dict[Role, Select] = {}


def _read_statement(role: Role) -> Select:
    """get_request's SELECT for a role, built once per process with the ids as bound parameters:
    building a select cost about as much CPU as running it (docs/benchmarks.md, profile findings).
    Same visibility as visible_requests()."""
    stmt = _READ_STATEMENTS.get(role)
    if stmt is None:
        stmt = select(ConversionRequest).where(
            ConversionRequest.id == bindparam("request_id"), *visible_by_params(role)
        )
        _READ_STATEMENTS[role] = stmt
    return stmt


def get_request(user: User, request_id: int, *, for_update: bool = False, detail: bool = False) -> ConversionRequest:
    """The request if `user` may see it (404 otherwise); `detail` eager-loads what pages show."""
    try:
        request_id = int(request_id)
    except (TypeError, ValueError):
        raise NotFound(f"No request {request_id!r}, or it is not yours to see.") from None
    if not 1 <= request_id <= MAX_INT:  # never a database overflow
        raise NotFound(f"No request {request_id}, or it is not yours to see.")
    if for_update:
        sqlite_write_lock(ConversionRequest, request_id)
        stmt = (
            visible_requests(user)
            .where(ConversionRequest.id == request_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        req = db.session.scalar(stmt)
    elif detail:
        req = _read_detail(user, request_id)
    else:
        req = db.session.scalar(
            _read_statement(user.role), {"request_id": request_id, "user_id": user.id, "node_id": user.node_id}
        )
    if req is None:
        raise NotFound(f"No request {request_id}, or it is not yours to see.")
    return req


# get_request(detail=True): what the request page shows of the request, read with it (constant
# statement count; tests/test_query_counts.py), in one Core statement per role (reads.Read), made into
# the entities the ORM would have loaded (reads.entity): the ORM's loading of the joined row (result
# metadata, row processors, identity checks per entity) cost about as much CPU as the rest of the
# request page's reads together (~1,100 Python calls a page, issue 20). Its history is not read: the
# page reads it as plain rows with its messages (messages.timeline). The archived strain and the
# requester with only the columns the page shows.
_DETAIL_READS: dict[Role, tuple[Read, dict[str, list[tuple[str, str]]]]] = {}


def _detail_read(role: Role) -> tuple[Read, dict[str, list[tuple[str, str]]]]:
    """The statement, and {prefix: [(label, attribute)]} to cut its row into entities."""
    parts: dict[str, tuple[Any, Any, tuple[str, ...] | None]] = {  # prefix: (model, its alias, keys)
        "r": (ConversionRequest, ConversionRequest, None),
        "s": (Strain, Strain, None),
        "n": (Node, Node, None),
        "a": (Strain, _archived, ("id", "emma_id")),  # the columns the page shows (others load on use)
        "u": (User, User, ("id", "name", "email")),
    }
    columns, labels = [], {}
    for prefix, (model, alias, keys) in parts.items():
        names = keys or tuple(prop.key for prop in sa_inspect(model).column_attrs)
        labels[prefix] = [(f"{prefix}__{name}", name) for name in names]
        columns += [getattr(alias, name).label(f"{prefix}__{name}") for name in names]
    return Read(_one_request(select(*columns)).where(*visible_by_params(role))), labels


def _one_request(stmt: Select) -> Select:
    """`stmt` from the request `request_id` joined to its strain, requester, node and archived
    strain (_archived). Its caller adds who may see it (visible_by_params, or _visible_to_caller)."""
    return (
        stmt.select_from(ConversionRequest)
        .join(Strain, ConversionRequest.strain_id == Strain.id)
        .join(User, ConversionRequest.requester_id == User.id)
        .outerjoin(Node, ConversionRequest.node_id == Node.id)
        .outerjoin(_archived, ConversionRequest.archived_strain_id == _archived.id)
        .where(ConversionRequest.id == bindparam("request_id"))
    )


def _visible_to_caller(stmt: Select) -> Select:
    """`stmt` (_one_request) joined to the API caller of auth.TOKEN_CALLER (no row without one), if the
    caller may see the request: visible_by_params' conditions for each role, in SQL."""
    caller = TOKEN_CALLER.subquery("caller")
    return stmt.join(
        caller,
        or_(
            and_(caller.c.role != Role.requester, caller.c.role != Role.staff),
            and_(caller.c.role == Role.staff, ConversionRequest.node_id == caller.c.node_id),
            and_(caller.c.role == Role.requester, ConversionRequest.requester_id == caller.c.id),
        ),
    )


def _read_detail(user: User, request_id: int) -> ConversionRequest | None:
    found = _DETAIL_READS.get(user.role)
    if found is None:
        found = _DETAIL_READS[user.role] = _detail_read(user.role)
    read, labels = found
    row = read.first({"request_id": request_id, "user_id": user.id, "node_id": user.node_id})
    if row is None:
        return None
    values = row._asdict()

    def part(prefix: str, model):
        given = {name: values[label] for label, name in labels[prefix]}
        return None if given["id"] is None else entity(model, given)

    return entity(
        ConversionRequest,
        {
            **{name: values[label] for label, name in labels["r"]},
            "strain": part("s", Strain),
            "node": part("n", Node),
            "archived_strain": part("a", Strain),
            "requester": part("u", User),
        },
    )


# ---- the API detail, read with Core ------------------------------------------------------
# Two statements built once per process (per role), reading only the columns the detail shows:
# loading the request, its strain, node, requester and archived strain as ORM entities, and the
# history with full actor and node rows, cost four times the CPU (2.2 -> 0.5 ms per request, issue 20).
_archived = aliased(Strain)
REQUEST_FIELDS = (
    "id",
    "reference",
    "status",
    "held_status",
    "target",
    "source_class",
    "product_symbol",
    "product_class",
    "product_strain_name",
    "plan",
    "step_count",
    "current_step",
    "use_tat_cre",
    "deliverable",
    "billing_organisation",
    "billing_address",
    "billing_country",
    "billing_vat_number",
    "billing_sector",
    "created_at",
    "updated_at",
    "requester_id",
    "node_id",
)
DETAIL_COLUMNS = (
    *(getattr(ConversionRequest, name) for name in REQUEST_FIELDS),
    Strain.emma_id.label("strain_emma_id"),
    Strain.gene.label("strain_gene"),
    Strain.strain_name.label("strain_name"),
    Strain.allele_symbol.label("strain_allele_symbol"),
    Strain.access.label("strain_access"),
    Node.code.label("node_code"),
    User.email.label("requester_email"),
    _archived.emma_id.label("archived_emma_id"),
)
_DETAIL_STATEMENTS: dict[Role, Read] = {}
HISTORY_COLUMNS = (
    RequestEvent.trigger,
    RequestEvent.from_status,
    RequestEvent.to_status,
    by_key(User.email, User.id, RequestEvent.actor_id).label("email"),
    RequestEvent.at,
    RequestEvent.comment,
    RequestEvent.data,
)


class RequestRow:
    """A request as the detail JSON, the lifecycle's permissions and lab's detail extra read it:
    the DETAIL_COLUMNS as attributes and its history as the JSON of RequestEvent.to_dict. From
    read_request_detail(), or of() an ORM row."""

    id: int
    status: str
    held_status: str | None
    plan: dict
    current_step: int
    requester_id: int
    node_id: int | None
    deliverable: Deliverable
    product_class: str

    def __init__(self, values: dict, history: list[dict], extra_rows: dict[str, list] | None = None) -> None:
        self.__dict__.update(values)
        self.history = history
        self.extra_rows = extra_rows or {}  # {detail extra: its rows} read with the request (hooks.detail_reads)

    @classmethod
    def of(cls, req: ConversionRequest) -> RequestRow:
        values = {name: getattr(req, name) for name in REQUEST_FIELDS}
        strain, node, archived = req.strain, req.node, req.archived_strain if req.archived_strain_id else None
        values.update(
            strain_emma_id=strain.emma_id,
            strain_gene=strain.gene,
            strain_name=strain.strain_name,
            strain_allele_symbol=strain.allele_symbol,
            strain_access=strain.access,
            node_code=node.code if node else None,
            requester_email=req.requester.email,
            archived_emma_id=archived.emma_id if archived else None,
        )
        return cls(values, [e.to_dict() for e in req.history])

    @property
    def step(self) -> dict | None:
        """The plan step being worked on now (ConversionRequest.step)."""
        return plan_step(self.plan, self.current_step)


def _nulls(columns) -> list:
    """Typed NULLs standing for `columns` in the other arm of a UNION ALL (same names and types)."""
    return [sql_cast(null(), c.type).label(c.key) for c in columns]


def _detail_union(visible: Callable[[Select], Select]):
    """The request (the first row, part 0) and its history (part 1, in order) in one statement: the
    UNION ALL of the request's row with NULLs for the history's columns, and of each history row
    with NULLs for the request's. `visible` adds who may see the request to its arm: an invisible
    request gives history rows alone."""
    request_arm = visible(
        _one_request(
            select(literal_column("0", Integer()).label("part"), *DETAIL_COLUMNS, *_nulls(HISTORY_COLUMNS)).add_columns(
                sql_cast(null(), Integer()).label("event_id")
            )
        )
    )
    history_arm = (
        select(literal_column("1", Integer()).label("part"), *_nulls(DETAIL_COLUMNS), *HISTORY_COLUMNS)
        .add_columns(RequestEvent.id.label("event_id"))
        .where(RequestEvent.request_id == bindparam("request_id"))
    )
    return union_all(request_arm, history_arm).order_by(literal_column("part"), literal_column("event_id"))


def _detail_statement(role: Role) -> Read:
    stmt = _DETAIL_STATEMENTS.get(role)
    if stmt is None:
        stmt = _DETAIL_STATEMENTS[role] = Read(_detail_union(lambda arm: arm.where(*visible_by_params(role))))
    return stmt


_REQUEST_KEYS = tuple(c.key for c in DETAIL_COLUMNS)


def _checked_id(request_id) -> int:
    """`request_id` as an int a request can have (NotFound otherwise: never a database overflow)."""
    try:
        request_id = int(request_id)
    except (TypeError, ValueError):
        raise NotFound(f"No request {request_id!r}, or it is not yours to see.") from None
    if not 1 <= request_id <= MAX_INT:
        raise NotFound(f"No request {request_id}, or it is not yours to see.")
    return request_id


def _request_row(request_id: int, rows: list, extra_rows: dict[str, list] | None = None) -> RequestRow:
    """The RequestRow of _detail_union's rows (NotFound without the request's)."""
    if not rows or rows[0].part != 0:
        raise NotFound(f"No request {request_id}, or it is not yours to see.")
    first = rows[0]._asdict()
    return RequestRow(
        {key: first[key] for key in _REQUEST_KEYS}, [event_json(e, e.email) for e in rows[1:]], extra_rows
    )


def read_request_detail(user: User, request_id: int) -> RequestRow:
    """The request as a RequestRow if `user` may see it (404 otherwise, as get_request): one Core
    statement, the request with its strain, node, requester and archived strain, and its history."""
    request_id = _checked_id(request_id)
    rows = _detail_statement(user.role).all({"request_id": request_id, "user_id": user.id, "node_id": user.node_id})
    return _request_row(request_id, rows)


_TOKEN_DETAILS: dict[tuple, tuple[Batch, tuple[str, ...]]] = {}


def read_detail_for_token(token: str, request_id: int) -> tuple[User, RequestRow] | None:
    """The API caller of `token` and the request, with its history and the rows of the detail's
    extras (hooks.detail_reads), in one statement (reads.Batch): one round trip where the caller,
    the request and its lab records took three. None when the token is not valid (401); NotFound
    when the caller may not see the request (as read_request_detail). On SQLite, with no round
    trips to save, the reads one by one cost less than the union: the caller, then the request."""
    if db.engine.dialect.name == "sqlite":
        user = user_for_token(token, reads_only=True)
        return None if user is None else (user, read_request_detail(user, request_id))
    extras = detail_reads()
    key = tuple((name, id(stmt)) for name, stmt in extras.items())
    found = _TOKEN_DETAILS.get(key)
    if found is None:
        batch = Batch(TOKEN_CALLER, _detail_union(_visible_to_caller), *extras.values())
        found = _TOKEN_DETAILS[key] = (batch, tuple(extras))
    batch, names = found
    params = token_caller_params(token)
    try:
        params["request_id"] = _checked_id(request_id)
    except NotFound:
        user = user_for_token(token, reads_only=True)
        if user is None:
            return None
        raise
    callers, rows, *extra_rows = batch.all(params)
    if not callers:
        return None
    user = caller_from_row(callers[0])
    return user, _request_row(params["request_id"], rows, dict(zip(names, extra_rows, strict=True)))


def get_request_by_reference(user: User, reference: str) -> ConversionRequest:
    req = db.session.scalar(visible_requests(user).where(ConversionRequest.reference == reference))
    if req is None:
        raise NotFound(f"No request {reference}, or it is not yours to see.")
    return req


def actor_for(user: User, req: ConversionRequest | RequestRow) -> lifecycle.Actor:
    return lifecycle.Actor(
        role=user.role.value,
        is_owner=req.requester_id == user.id,
        is_node_staff=user.is_staff_of(req.node_id),
    )


def available_triggers(user: User, req: ConversionRequest | RequestRow) -> list[str]:
    return lifecycle.available_triggers(req, actor_for(user, req))


def guard_problems(user: User, req: ConversionRequest) -> dict[str, str]:
    """{trigger: why not now} for the available triggers whose guard fails."""
    return lifecycle.guard_problems(req, actor_for(user, req))


@dataclass(frozen=True)
class RequestFilter:
    """What a user may see and the list filters, as WHERE conditions on conversion_requests alone
    (no join, so that an index of the table can answer them: listing.list_page and the API list)."""

    where: tuple  # visibility, status, node
    search: ColumnElement | None = None  # the text search, if any (bound_search)
    params: dict = field(default_factory=dict)  # the search's values (text_search), if not bound later

    @property
    def conditions(self) -> tuple:
        return self.where + (() if self.search is None else (self.search,))


def request_filter(
    user: User, *, status: str | None = None, node: str | None = None, q: str | None = None
) -> RequestFilter:
    """Raises Invalid for an unknown status or node. A text search reads the matching strains
    first (text_search); a statement with its conditions takes its `params`."""
    visible = _visible_to(select(ConversionRequest.id), user).whereclause
    where = ([] if visible is None else [visible]) + _status_and_node_conditions(status, node)
    params: dict = {}
    return RequestFilter(tuple(where), bound_search(text_search(q, params)), params)


# A text search is a case-insensitive substring of the request's reference or product symbol, or of
# its strain's EMMA id or gene (text_search, bound_search).
def _search_pattern(q: str | None) -> str | None:
    return f"%{escape_like(q.strip().lower())}%" if q and q.strip() else None


def _reference_pattern(q: str) -> str:
    """The pattern the references are matched with: a search starting with "AC-" can only be the
    start of a reference ("AC-" begins every one, AC-YYYY-NNNNN, and occurs nowhere else in one),
    so it is a prefix, which a btree answers (migration 0019); any other, a substring (trigrams)."""
    text = q.strip().lower()
    return f"{escape_like(text)}%" if text.startswith("ac-") else f"%{escape_like(text)}%"


def _request_matches(pattern: Any, reference: Any) -> list:
    return [
        func.lower(ConversionRequest.reference).like(reference, escape="\\"),
        func.lower(ConversionRequest.product_symbol).like(pattern, escape="\\"),
    ]


# SQLite has no trigram index for LIKE '%q%': it read every request (27 ms for a reference at 20,000
# requests). There the reference and product symbol arms read the FTS5 trigram table of migration
# 0021 instead (rowid: the request's id), `id IN (SELECT rowid ... MATCH '"q"')`: it holds
# lower(reference) and lower(product_symbol), case sensitive, so the rows holding the phrase of the
# search's trigrams are exactly those where lower(x) LIKE '%q%' (SQLite's lower() and LIKE fold
# ASCII letters only), and SQLite looks up only those. (A reference contains "ac-" only at its
# start, so the prefix of _reference_pattern and a substring find the same.) A search of fewer
# than 3 characters has no trigram: LIKE.
_SEARCH_INDEX = table(SEARCH_TABLE, column("rowid"))
_MATCH = literal_column(SEARCH_TABLE).op("MATCH")(bindparam("match"))
INDEXED = "/fts"  # text_search()'s kind: `id IN (SELECT rowid FROM <trigram table> WHERE ... MATCH :match)`
FOUND = "/found"  # text_search()'s kind: `id IN` the ids it found there (:found, a JSON array)
_TEXT_ARMS = {
    INDEXED: ConversionRequest.id.in_(select(_SEARCH_INDEX.c.rowid).where(_MATCH)),
    FOUND: ConversionRequest.id.in_(select(literal_column("value")).select_from(func.json_each(bindparam("found")))),
}


def _match_phrase(q: str) -> str | None:
    """On SQLite, the FTS5 query for a search the trigram table answers (an FTS5 string: every
    character literal, a double quote doubled), else None (PostgreSQL, or LIKE: see above)."""
    text = q.strip().lower()
    if len(text) < 3 or db.engine.dialect.name != "sqlite":
        return None
    return '"' + text.replace('"', '""') + '"'


def inline_ids(search: str | None) -> bool:
    """Whether text_search()'s kind of search has the matching strains' ids as an expanding IN."""
    return search is not None and search.startswith("ids")


def _strain_matches(pattern: Any):
    return or_(
        func.lower(Strain.emma_id).like(pattern, escape="\\"), func.lower(Strain.gene).like(pattern, escape="\\")
    )


# Beyond this many matching strains the search is not selective anyway: their ids stay a subquery.
STRAIN_IDS_INLINE = 500


def check_status(status: str | None) -> None:
    """Invalid for a status filter that is not a state of the lifecycle (the lists and the API)."""
    if status and status not in lifecycle.STATES:
        raise Invalid(f"Unknown status {status!r}: use one of {', '.join(lifecycle.STATES)}.")


def unknown_node(node: str) -> Invalid:
    return Invalid(f"Unknown node {node!r}.")


def _status_and_node_conditions(status: str | None, node: str | None) -> list:
    check_status(status)
    conditions = []
    if status:
        conditions.append(ConversionRequest.status == status)
    if node:
        found = get_node(node)
        if found is None:
            raise unknown_node(node)
        conditions.append(ConversionRequest.node_id == found.id)
    return conditions


# A list row's strain and node: joined, by aliases of their own (a filter's subquery on nodes stays
# uncorrelated). PostgreSQL looks each up by primary key (a dozen nodes memoized), half of what two
# scalar subqueries on strains and one on nodes cost per row: 0.34 -> 0.18 ms for a page of 26 rows
# at 50,000 requests (docs/benchmarks.md). The requester's email stays a scalar subquery (by_key).
ROW_STRAIN, ROW_NODE = aliased(Strain, name="row_strain"), aliased(Node, name="row_node")


def with_strain_and_node(stmt: Select) -> Select:
    """`stmt` (from conversion_requests) with ROW_STRAIN and ROW_NODE joined (either may be none)."""
    return stmt.outerjoin(ROW_STRAIN, ROW_STRAIN.id == ConversionRequest.strain_id).outerjoin(
        ROW_NODE, ROW_NODE.id == ConversionRequest.node_id
    )


class _SummaryTime(TypeDecorator):
    """summary_time()'s type: text on PostgreSQL, elsewhere the time as the driver gives it."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(String() if dialect.name == "postgresql" else DateTime(timezone=True))


class summary_time(FunctionElement):
    """A request's time for serialize.summaries_from_rows: on PostgreSQL written out by the
    database as iso_utc writes it ("2025-01-02T03:04:05Z", with ".ffffff" before the Z when the
    microseconds are not 0, as datetime.isoformat), a string the driver returns as it is; elsewhere
    (SQLite) the time as the driver gives it, written there by Python. to_char and replace cost
    PostgreSQL ~1 µs a value, less than psycopg's parsing of a timestamptz and Python's astimezone,
    isoformat and replace: a 26-row page read and written out took ~0.1 ms less (0.57 -> 0.43 ms,
    the database's time included; the same text on all 50,000 requests' times)."""

    type = _SummaryTime()
    inherit_cache = True
    name = "summary_time"


@compiles(summary_time)
def _summary_time(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(summary_time, "postgresql")
def _summary_time_pg(element, compiler, **kw) -> str:
    utc = f"({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC')"
    return f"replace(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '.000000Z', 'Z')"


# The columns of serialize.request_summary(), for list_request_summaries() (with_strain_and_node).
# The times as summary_time() gives them (no UTCDateTime converter, two Python calls per value and
# a pass over each row in reads.Read): serialize.summaries_from_rows writes them as iso_utc does.
SUMMARY_COLUMNS = (
    ConversionRequest.id,
    ConversionRequest.reference,
    ConversionRequest.status,
    ROW_STRAIN.emma_id.label("strain"),
    ROW_STRAIN.gene.label("gene"),
    ConversionRequest.target,
    ConversionRequest.product_symbol,
    ROW_NODE.code.label("node"),
    by_key(User.email, User.id, ConversionRequest.requester_id).label("requester"),
    summary_time(ConversionRequest.created_at).label("created_at"),
    summary_time(ConversionRequest.updated_at).label("updated_at"),
)


# The API list's statements, built once per process for each shape of query (role, which filters,
# which kind of text search) with every value a bound parameter: building them per call (the
# conditions of request_filter) cost more CPU than running them. Same conditions as request_filter.
_LIST_STATEMENTS: dict[tuple, Any] = {}


def list_read(stmt: Select, readable: bool) -> Any:
    """A list statement as a reads.Read when it has plain bound parameters only (`readable`: no
    expanding IN, no in_sql_text), else as it is; run_list runs either."""
    return Read(stmt) if readable else stmt


def run_list(stmt: Any, params: dict, *, plain: bool = False) -> list:
    """The rows of a list_read() statement: through the driver (reads.Read), else Connection.execute.
    `plain`: rows read by position only, a Read's as the driver gives them (no named tuples)."""
    if isinstance(stmt, Read):
        return stmt.values(params) if plain else stmt.all(params)
    return list(db.session.connection().execute(stmt, params).all())


_STRAINS_MATCHING = (
    select(Strain.id)
    .where(_strain_matches(bindparam("pattern")))
    .limit(literal_column(str(STRAIN_IDS_INLINE + 1)))  # in the SQL text (a LIMIT parameter: planned on every call)
)
_MATCHING_STRAINS = Read(_STRAINS_MATCHING)

# The API list reads the newest matches only (ORDER BY id DESC LIMIT 26): a search found in many
# requests is answered sooner by LIKE on the newest requests first, stopping when the page is full
# (26 of 20,000 requests in a few hundred rows), than from the trigram table, whose ids SQLite
# collects first, all of them, ORs with the matching strains' and sorts (measured at 20,000: "wtsi",
# in 16,600 requests, 0.1 ms by LIKE, 4.4 ms from the index; a gene, ~900 requests by strain and by
# product symbol, 1 ms by LIKE, 2.5-5 from the index). So on SQLite the API list's strains
# statement also reads the ids the trigram table finds and counts the matching strains' requests,
# up to FREQUENT_MATCHES each: fewer than FREQUENT_MATCHES in all, the list reads those ids
# (FOUND: the trigram table read once), else it keeps LIKE.
FREQUENT_MATCHES = 500
_STRAIN_IDS = _STRAINS_MATCHING.cte("matching_strains")
_ROWS_BY_TEXT = (select(_SEARCH_INDEX.c.rowid).where(_MATCH).limit(literal_column(str(FREQUENT_MATCHES)))).subquery()
_ROWS_BY_STRAIN = (
    select(literal_column("1"))
    .select_from(ConversionRequest)
    .where(ConversionRequest.strain_id.in_(select(_STRAIN_IDS.c.id)))
    .limit(literal_column(str(FREQUENT_MATCHES)))
).subquery()
_FOUND = select(func.json_group_array(_ROWS_BY_TEXT.c.rowid).label("ids")).cte("found")
_MATCHES_AND_STRAINS = Read(  # one row: the strains' ids and the found ids as JSON arrays, and how many rows in all
    select(
        select(func.json_group_array(_STRAIN_IDS.c.id)).scalar_subquery().label("strains"),
        _FOUND.c.ids.label("found"),
        (
            func.json_array_length(_FOUND.c.ids) + select(func.count()).select_from(_ROWS_BY_STRAIN).scalar_subquery()
        ).label("matches"),
    ).select_from(_FOUND)
)


def text_search(q: str | None, params: dict, *, newest: bool = False) -> str | None:
    """The kind of text search for the statements built with bound parameters (the API list,
    listing.list_page and request_filter): None (no search), "text" (no strain
    matches), "ids" (the matching strains' ids, read here) or "strains" (more than
    STRAIN_IDS_INLINE of them: a subquery); on SQLite followed by INDEXED or FOUND when the trigram
    table answers the reference and product symbol arms (FOUND: `newest`, the caller reads the
    newest matches only, the API list; neither there for a search found in FREQUENT_MATCHES requests
    or more). Adds `pattern`, `reference` (and `strain_ids`, `match` or `found`) to params."""
    pattern = _search_pattern(q)
    if not pattern or q is None:
        return None
    params["pattern"], params["reference"] = pattern, _reference_pattern(q)
    phrase = _match_phrase(q)
    suffix = ""
    if phrase is not None and newest:  # still one statement
        strains, found, matches = _MATCHES_AND_STRAINS.all({"pattern": pattern, "match": phrase})[0]
        strain_ids = json.loads(strains)
        if matches < FREQUENT_MATCHES:
            suffix, params["found"] = FOUND, found
    else:
        strain_ids = [row[0] for row in _MATCHING_STRAINS.all({"pattern": pattern})]
        if phrase is not None:
            suffix, params["match"] = INDEXED, phrase
    return _search_kind(strain_ids, params) + suffix


def _search_kind(strain_ids: list | None, params: dict) -> str:
    """text_search()'s kind for the matching strains' ids: "text", "strains" or "ids" (adding
    `strain_ids` to params)."""
    if not strain_ids:
        return "text"
    if len(strain_ids) > STRAIN_IDS_INLINE:
        return "strains"
    params["strain_ids"] = strain_ids
    return "ids"


def bound_search(search: str | None) -> ColumnElement | None:
    """The text search of text_search()'s kind with the bound parameters it set: "strain_id among
    the matching strains' ids, or reference or product symbol matches". With the ids as values,
    PostgreSQL estimates the rows from its statistics and can OR three index scans, (strain_id, id)
    and the trigram indexes of migration 0008, instead of reading every request (a subquery under
    OR is evaluated row by row). On SQLite (INDEXED, FOUND) the reference and product symbol arms
    are one: the request ids from the trigram table of migration 0021."""
    if search is None:
        return None
    pattern: Any = bindparam("pattern")
    kind, slash, index = search.partition("/")
    text_arms = [_TEXT_ARMS[slash + index]] if index else _request_matches(pattern, bindparam("reference"))
    if kind == "ids":
        return or_(ConversionRequest.strain_id.in_(bindparam("strain_ids", expanding=True)), *text_arms)
    if kind == "strains":
        return or_(ConversionRequest.strain_id.in_(select(Strain.id).where(_strain_matches(pattern))), *text_arms)
    return or_(*text_arms)


def sql_limit(n: int, common: tuple[int, ...]) -> Any:
    """A LIMIT written into the SQL text: a literal for one of the `common` values (a statement
    each), else in_sql_text (one statement, whose text is written out again on every call)."""
    return literal_column(str(n)) if n in common else in_sql_text(None, "limit", Integer)


API_LIMITS = (26, 51, 101)  # the API list's usual page sizes (25, 50, 100), and one to see if there is more


def _list_statement(role: Role, status: bool, node: bool, cursor: bool, search: str | None, limit: int) -> Any:
    """search: None, "text" (no strain matches), "ids" (the matching strains' ids) or "strains"
    (more than STRAIN_IDS_INLINE of them: a subquery), on SQLite perhaps with FOUND (text_search).
    limit: the LIMIT (sql_limit)."""
    key = (role, status, node, cursor, search, limit if limit in API_LIMITS else None)
    stmt = _LIST_STATEMENTS.get(key)
    if stmt is not None:
        return stmt
    ids = _list_ids(role, status, node, cursor, search, limit)
    # A text search is planned again for its pattern on every call: the ids alone (one table) plan
    # in a tenth of the time the joined statement took (1.3 ms); _SUMMARIES then reads their rows.
    stmt = ids if search is not None else _page_summaries(ids.subquery("page"))
    _LIST_STATEMENTS[key] = found = list_read(stmt, not inline_ids(search) and limit in API_LIMITS)
    return found


def _list_ids(role: Role, status: bool, node: bool, cursor: bool, search: str | None, limit: int) -> Select:
    """The API list's page of ids, newest first (_list_statement's arguments)."""
    ids = select(ConversionRequest.id).where(*visible_by_params(role, "user_node_id"))
    if status:
        ids = ids.where(ConversionRequest.status == bindparam("status"))
    if node:  # an unknown code matches nothing (list_request_summaries then says so)
        ids = ids.where(
            ConversionRequest.node_id == select(Node.id).where(Node.code == bindparam("node")).scalar_subquery()
        )
    matches = bound_search(search)
    if matches is not None:
        ids = ids.where(matches)
    if cursor:
        ids = ids.where(ConversionRequest.id < bindparam("cursor"))
    sql: Any = sql_limit(limit, API_LIMITS)  # in the SQL text: generic plans of the prepared statement
    return ids.order_by(ConversionRequest.id.desc()).limit(sql)


# On PostgreSQL a text search of the API list reads the matching strains and, when there are none
# (a search for a reference, most of them), the page's ids of the "text" search in one statement:
# its strains column is NULL then and its ids the page's; with matching strains the ids column is
# NULL (a subquery under CASE is only run when its branch is taken) and the list goes on as
# text_search would (the same kinds, the same statements). One round trip fewer for most searches.
_SEARCH_FIRST: dict[tuple, Read] = {}


def _search_first(role: Role, status: bool, node: bool, cursor: bool, limit: int) -> Read:
    """(the matching strains' ids or None, the "text" search's page ids or None); limit in API_LIMITS."""
    key = (role, status, node, cursor, limit)
    found = _SEARCH_FIRST.get(key)
    if found is None:
        # a plain SELECT (no WITH): a statement not starting with SELECT takes the connection out
        # of autocommit (extensions.py), and its ROLLBACK drops every prepared statement
        strains = select(func.array_agg(_STRAINS_MATCHING.subquery("matching").c.id).label("ids")).subquery("strains")
        page = _list_ids(role, status, node, cursor, "text", limit)
        found = _SEARCH_FIRST[key] = Read(
            select(
                strains.c.ids.label("strains"),
                case(
                    (strains.c.ids.is_(None), func.array(page.scalar_subquery(), type_=ARRAY(Integer))),
                    else_=null(),
                ).label("ids"),
            )
        )
    return found


_SUMMARIES = with_strain_and_node(select(*SUMMARY_COLUMNS).select_from(ConversionRequest)).order_by(
    ConversionRequest.id.desc()
)


def _page_summaries(page: Any) -> Select:
    """SUMMARY_COLUMNS of the requests of `page` (a subquery of ids, newest first, limited), in its
    order: the page joined first, then each row by primary key. PostgreSQL's nested loops keep the
    page's order, so it neither sorts the rows again nor hashes the ids, as it did for `id IN
    (page)` (a semi-join: HashAggregate, Sort, Limit): ~10-15 % less of its CPU per list call."""
    joined = page.join(ConversionRequest, ConversionRequest.id == page.c.id)
    return with_strain_and_node(select(*SUMMARY_COLUMNS).select_from(joined)).order_by(page.c.id.desc())


def ids_in(stmt: Select) -> tuple[Select, Read]:
    """`stmt` for the requests of the list `ids`, for run_ids: (elsewhere, PostgreSQL).
    PostgreSQL takes the list as one array parameter (`id = ANY(...)`): the same SQL text for any
    number of ids (an expanding IN is written out again for each call), run as a reads.Read. The
    array is sent as its text, '{1,2,3}', cast to INTEGER[] in the SQL: sent as a list, psycopg
    typed it smallint[] when every id was below 32,768 and integer[] otherwise, two prepared
    statements whose smallint[] one PostgreSQL planned again on every call (a cast in its generic
    plan): ~0.3 ms of planning for half the API list's text searches at 50,000 requests."""
    return (
        stmt.where(ConversionRequest.id.in_(bindparam("ids", expanding=True))),
        Read(stmt.where(ConversionRequest.id == any_(sql_cast(bindparam("ids", type_=String), ARRAY(Integer))))),
    )


def run_ids(pair: tuple[Select, Read], ids: list, *, plain: bool = False) -> list:
    """The rows of an ids_in() statement for the request ids `ids` (integers), in the session's
    dialect's form (`plain`: as run_list)."""
    if db.engine.dialect.name == "postgresql":
        return run_list(pair[1], {"ids": "{" + ",".join(map(str, ids)) + "}"}, plain=plain)
    return run_list(pair[0], {"ids": ids}, plain=plain)


_SUMMARIES_OF = ids_in(_SUMMARIES)


def list_request_summaries(
    user: User,
    *,
    status: str | None = None,
    node: str | None = None,
    q: str | None = None,
    cursor: int | None = None,
    limit: int = 25,
) -> tuple[list, int | None]:
    """The visible requests matching the filters, newest first, keyset-paginated on id, as rows of
    SUMMARY_COLUMNS (one Core statement, no ORM entities: the API list's hot path; a text search
    reads the matching strains first, as the pages do: request_filter()). Invalid for an unknown
    status or node. Returns (rows, next cursor); the rows are read by position (the driver's)."""
    # The page's ids first, from an index alone ((status, id), (node_id, status, id), ...), then
    # their rows: without it PostgreSQL walks the primary key backwards and filters the newest
    # requests, which are mostly in other states (4,700 rows read for 26 at 50,000 requests).
    check_status(status)
    params: dict = {"user_id": user.id, "user_node_id": user.node_id, "limit": limit + 1}
    if status:
        params["status"] = status
    if node:
        params["node"] = node.strip().upper()
    if cursor:
        params["cursor"] = cursor
    page: list | None = None  # the page's ids, when _search_first found them
    pattern = _search_pattern(q)
    if pattern and limit + 1 in API_LIMITS and db.engine.dialect.name == "postgresql":
        params["pattern"], params["reference"] = pattern, _reference_pattern(cast(str, q))
        strain_ids, page = _search_first(user.role, bool(status), bool(node), bool(cursor), limit + 1).values(params)[0]
        search: str | None = _search_kind(strain_ids, params)
    else:
        search = text_search(q, params, newest=True)
    if page is not None:
        rows = run_ids(_SUMMARIES_OF, page, plain=True) if page else []
    else:
        stmt = _list_statement(user.role, bool(status), bool(node), bool(cursor), search, limit + 1)
        rows = run_list(stmt, params, plain=True)  # on the session's connection: no ORM step
        if search is not None and rows:  # the ids, then their rows
            rows = run_ids(_SUMMARIES_OF, [r[0] for r in rows], plain=True)
    if node and not rows and _NODE_BY_CODE.first({"code": params["node"]}) is None:
        raise unknown_node(node)
    more = len(rows) > limit
    rows = rows[:limit]
    return list(rows), (rows[-1][0] if more and rows else None)


_NODE_BY_CODE = Read(select(Node.id).where(Node.code == bindparam("code")))  # as get_node, one column


# ---- submission ------------------------------------------------------------
@dataclass
class Billing:
    organisation: str
    address: str
    country: str
    sector: str
    vat_number: str | None = None


def _validate_billing(billing: Billing) -> Billing:
    problems = []
    organisation, address = (billing.organisation or "").strip(), (billing.address or "").strip()
    country = ""
    if not organisation:
        problems.append("billing organisation is required")
    if not address:
        problems.append("billing address is required")
    try:
        country = parse_country(billing.country)
    except ValueError as exc:
        problems.append("billing " + str(exc)[0].lower() + str(exc)[1:].rstrip("."))
    if billing.sector not in {s.value for s in Sector}:
        problems.append("billing sector must be academic or industry")
    vat = (billing.vat_number or "").strip() or None
    if vat and not problems:
        try:
            vat = normalise_vat(country, vat)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        message = "; ".join(problems)
        raise Invalid(message[0].upper() + message[1:] + ".")
    return Billing(organisation, address, country, billing.sector, vat)


def billing_profiles(user: User, limit: int = 5) -> list[Billing]:
    """The billing details a requester used before, most recent first, each once: the request
    form offers them to pick (and edit)."""
    if user.role is not Role.requester:
        return []
    rows = db.session.execute(
        select(
            ConversionRequest.billing_organisation,
            ConversionRequest.billing_address,
            ConversionRequest.billing_country,
            ConversionRequest.billing_sector,
            ConversionRequest.billing_vat_number,
        )
        .where(ConversionRequest.requester_id == user.id)
        .order_by(ConversionRequest.id.desc())
        .limit(100)
    )
    out: list[Billing] = []
    for organisation, address, country, sector, vat in rows:
        profile = Billing(organisation, address, country, sector.value, vat)
        if profile not in out:
            out.append(profile)
        if len(out) == limit:
            break
    return out


def archived_derivative(product_symbol: str) -> Strain | None:
    """The public catalogue strain carrying this product already (canonical comparison)."""
    return find_archived(product_symbol)


def open_request_making(product_symbol: str, *, excluding: int | None = None) -> ConversionRequest | None:
    """The oldest open request whose product is this allele (symbols compared in canonical form)."""
    from ..alleles import SymbolError, canonical_symbol

    try:
        wanted = canonical_symbol(product_symbol)
    except SymbolError:
        return None
    stmt = select(ConversionRequest).where(
        ConversionRequest.product_symbol == wanted, ConversionRequest.status.in_(lifecycle.OPEN_STATES)
    )
    if excluding is not None:
        stmt = stmt.where(ConversionRequest.id != excluding)
    return db.session.scalar(stmt.order_by(ConversionRequest.id).limit(1))


def _lock_product(strain: Strain, product_symbol: str) -> None:
    """Serialise submissions of one product until commit (PostgreSQL: an advisory lock on the
    symbol; SQLite: the database write lock, taken by a no-op update of the strain)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:product))"), {"product": product_symbol})
    else:
        sqlite_write_lock(Strain, strain.id)


def duplicate_work(product_symbol: str) -> ApiError | None:
    """Why a request for this product would duplicate EMMA's work: 422 naming the archived strain,
    409 naming the open request making it; None when neither."""
    existing = archived_derivative(product_symbol)
    if existing is not None:
        return Invalid(
            f"{product_symbol} is already archived at EMMA as {existing.emma_id} "
            f"({existing.strain_name}): request that strain instead."
        )
    making = open_request_making(product_symbol)
    if making is not None:
        return Conflict(
            f"{product_symbol} is already being made by request {making.reference} "
            f"({making.status.replace('_', ' ')}): ask to be emailed when it is archived "
            "instead of starting the same conversion twice."
        )
    return None


def _idempotent_replay(user: User, key: str | None, strain: str, target: str) -> ConversionRequest | None:
    """The request `user` already submitted with this Idempotency-Key (a retry gets it back), or
    None; 409 when the key was used for another strain or target."""
    if key is None:
        return None
    req = db.session.scalar(
        select(ConversionRequest).where(
            ConversionRequest.requester_id == user.id, ConversionRequest.idempotency_key == key
        )
    )
    if req is not None and (
        req.strain.emma_id != (strain or "").strip().upper()
        or req.target.lstrip(".") != (target or "").strip().lstrip(".")
    ):
        raise Conflict(
            f"This Idempotency-Key was used for {req.reference} ({req.strain.emma_id}, target "
            f"{req.target}): use a new key for a different request."
        )
    return req


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= 100 or not key.isprintable() or not key.isascii():
        raise Invalid("Idempotency-Key must be 1 to 100 printable ASCII characters.")
    return key


def submit_request(
    user: User,
    *,
    strain: str,
    target: str,
    deliverable: str,
    billing: Billing,
    use_tat_cre: bool = False,
    comment: str | None = None,
    idempotency_key: str | None = None,
) -> ConversionRequest:
    """Submit a request (commits). With an `idempotency_key`, a repeat of the same submission,
    also one running at the same moment, answers the first request instead of making another."""
    from ..alleles import SymbolError, plan_conversion

    if user.role is not Role.requester:
        raise Forbidden("Only requesters submit conversion requests.")
    idempotency_key = check_idempotency_key(idempotency_key)
    replay = _idempotent_replay(user, idempotency_key, strain, target)
    if replay is not None:
        return replay
    found = get_strain(user, strain or "")
    if found is None:
        raise Invalid(f"No strain {strain!r} in the catalogue.")
    try:
        plan = plan_conversion(found.allele_symbol, target, design=found.design, tat_cre=use_tat_cre)
    except (SymbolError, ValueError) as exc:
        raise Invalid(str(exc)) from None
    if not plan.feasible:
        raise Invalid(f"This conversion is not possible: {plan.reason}")
    if deliverable not in {d.value for d in Deliverable}:
        raise Invalid("deliverable must be frozen_sperm, frozen_embryos or live_animals.")
    billing = _validate_billing(billing)
    product = plan.product_symbol or ""  # a feasible plan has one
    _lock_product(found, product)  # two submissions of one product: the second sees the first
    replay = _idempotent_replay(user, idempotency_key, strain, target)  # ... also the same one again
    if replay is not None:
        return replay
    duplicate = duplicate_work(product)
    if duplicate is not None:
        db.session.rollback()
        raise duplicate
    if billing.sector == Sector.industry.value and found.industry_licence == "genoway":
        raise Invalid(
            f"{found.emma_id} is an EUCOMM line licensed to industry through genOway: "
            "industry requests for it are routed to genOway, not converted by EMMA."
        )
    if use_tat_cre and "Cre" not in {s.recombinase for s in plan.steps}:
        raise Invalid("TAT-Cre can only replace a Cre step, and this plan has none.")
    details = plan.to_dict()
    req = ConversionRequest(
        requester=user,
        strain=found,
        status="submitted",
        target=plan.target,
        source_class=plan.source_class,
        product_symbol=plan.product_symbol,
        product_class=plan.product_class,
        plan=details,
        step_count=len(plan.steps),
        current_step=1,
        use_tat_cre=use_tat_cre,
        recipe=recipe_of([s.recombinase for s in plan.steps], use_tat_cre),
        deliverable=Deliverable(deliverable),
        billing_organisation=billing.organisation,
        billing_address=billing.address,
        billing_country=billing.country,
        billing_vat_number=billing.vat_number,
        billing_sector=Sector(billing.sector),
        idempotency_key=idempotency_key,
    )
    db.session.add(req)
    try:
        db.session.flush()
    except IntegrityError:  # the same Idempotency-Key committed meanwhile (a parallel submit)
        db.session.rollback()
        replay = _idempotent_replay(user, idempotency_key, strain, target)
        if replay is None:
            raise
        return replay
    req.reference = f"AC-{req.created_at.year}-{req.id:05d}"
    event = RequestEvent(
        request=req,
        trigger="submit",
        from_status=None,
        to_status="submitted",
        actor=user,
        comment=(comment or "").strip() or None,
        data={},
    )
    db.session.add(event)
    tallies.submitted(req)
    _commit(req, event)
    return req


# ---- transitions -----------------------------------------------------------
def _commit(req: ConversionRequest, event: RequestEvent) -> None:
    _commit_many([(req, event)])


def _commit_many(fired: list[tuple[ConversionRequest, RequestEvent]]) -> None:
    for req, event in fired:
        request_changed.send(req, event=event)
    try:
        # what the completion estimate learns changes only when requests are completed (it flushes
        # the transition first: a conflict there is the same conflict as at the commit)
        learn((req.node_id, req.recipe) for req, event in fired if event.to_status == "completed")
        db.session.commit()
    except (StaleDataError, OperationalError) as exc:
        db.session.rollback()
        if isinstance(exc, OperationalError) and "locked" not in str(exc):
            raise
        raise Conflict("Someone else changed this request at the same moment: reload and try again.") from None
    for req, event in fired:
        for hook in AFTER_COMMIT:
            hook(req, event)


def fire_trigger(
    user: User, request_id: int, trigger: str, *, comment: str | None = None, **data
) -> tuple[ConversionRequest, RequestEvent]:
    """Fire `trigger` on the request as `user`; 404/403/409/422 as ApiError subclasses."""
    req = get_request(user, request_id, for_update=True)
    try:
        event = _apply(user, req, trigger, comment, data)
    except ApiError:
        db.session.rollback()
        raise
    _commit(req, event)
    return req, event


def fire_bulk(
    user: User, request_ids: list[int], trigger: str, *, comment: str | None = None, **data
) -> list[ConversionRequest]:
    """Fire one trigger on several requests: all of them or none (the message lists the refusals)."""
    ids = sorted({int(i) for i in request_ids})
    if not ids:
        raise Invalid("Select at least one request.")
    if len(ids) > 200:
        raise Invalid("At most 200 requests at once.")
    fired, problems = [], []
    for rid in ids:
        try:
            req = get_request(user, rid, for_update=True)
        except NotFound:
            problems.append(f"#{rid}: not found")
            continue
        try:
            fired.append((req, _apply(user, req, trigger, comment, dict(data))))
        except ApiError as exc:
            problems.append(f"{req.reference}: {exc.message}")
    if problems:
        db.session.rollback()
        raise Conflict(
            f"Nothing was changed: '{trigger}' is not possible for {len(problems)} of the "
            f"{len(ids)} selected requests. " + "; ".join(problems)
        )
    _commit_many(fired)
    return [req for req, _ in fired]


def _apply(user: User, req: ConversionRequest, trigger: str, comment: str | None, data: dict) -> RequestEvent:
    """Move one loaded request and add its history row (no commit)."""
    node: Node | None = None
    if trigger == "assign" and isinstance(data.get("node"), str):
        data["node"] = data["node"].strip().upper()
        node = get_node(data["node"])
        if node is None:
            raise Invalid(f"Unknown node {data['node']!r}: use a node code such as ICS or MRC.")
    comment = (comment or "").strip() or None
    node_before = req.node_id or 0
    try:
        fired = lifecycle.fire(req, trigger, actor_for(user, req), comment=comment, **data)
    except LifecycleError as exc:
        raise from_lifecycle(exc) from None
    if fired.trigger == "assign" and node is not None:
        req.node = node
        req.product_strain_name = _product_strain_name(req, node)
    elif fired.trigger == "decline":
        req.node = None
        req.product_strain_name = None
    event_data = dict(fired.data or {})
    if fired.trigger == "complete_cryopreservation" and req.archived_strain_id is None:
        event_data["archived_strain"] = archive_product(req).emma_id
    if fired.notice:
        event_data["notice"] = fired.notice
    at = utcnow()
    req.state_since = at
    event = RequestEvent(
        request=req,
        trigger=fired.trigger,
        from_status=fired.from_status,
        to_status=fired.to_status,
        actor=user,
        comment=comment,
        data=event_data,
        at=at,
    )
    db.session.add(event)
    tallies.moved(req, node_before, event)
    return event


def _product_strain_name(req: ConversionRequest, node: Node) -> str:
    """The product's strain name: the source strain's with the allele replaced and the node's lab
    code appended; for a (legacy) strain name not carrying its allele, the product symbol with it."""
    from ..alleles import product_strain_name

    try:
        return product_strain_name(req.strain.strain_name, req.product_symbol, node.lab_code)
    except ValueError:
        return f"{req.product_symbol}/{node.lab_code}"


def archive_product(req: ConversionRequest) -> Strain:
    """The archive loop: the finished conversion becomes a catalogue strain of its own (a new EMMA
    id, the product allele and strain name, the converting node as holder, material and count from
    the stock in force). No commit: the transition's commit carries it."""
    from ..catalogue.models import Material

    node = req.node
    assert node is not None, "a request in cryopreservation has a node"
    stock = next((found for _, found in stock_asked.send(req) if found), None)
    material, count = stock if stock else (None, None)
    name = req.product_strain_name or _product_strain_name(req, node)
    strain = create_derived_strain(
        parent=req.strain,
        allele_symbol=req.product_symbol,
        strain_name=name,
        holder=node,
        material=Material.frozen_embryos if material == "embryos" else Material.frozen_sperm,
        stock_count=count,
        request_id=req.id,
        reference=req.reference or "",
    )
    req.archived_strain = strain
    return strain


# ---- node suggestion ---------------------------------------------------------
@dataclass
class NodeSuggestion:
    node: Node
    ok: bool
    problem: str | None
    holds_stock: bool
    open_requests: int


@dataclass
class AssignmentContext:
    """What ranking nodes needs, read once for a whole page of requests."""

    nodes: list[Node]
    open_requests: dict[int, int]


def assignment_context() -> AssignmentContext:
    open_states = [s for s in lifecycle.OPEN_STATES if s not in ("submitted", "approved")]
    counts = cast(
        dict[int, int],
        dict(
            db.session.execute(  # from the tallies (requests.tallies): a few dozen rows at any size
                select(RequestTally.node_id, func.sum(RequestTally.n))
                .where(RequestTally.key.in_(open_states), RequestTally.node_id != 0)
                .group_by(RequestTally.node_id)
            ).all()
        ),
    )
    nodes = list(db.session.scalars(select(Node).options(selectinload(Node.deleters)).order_by(Node.code)))
    return AssignmentContext(nodes, counts)


def suggest_nodes(req: ConversionRequest, context: AssignmentContext | None = None) -> list[NodeSuggestion]:
    """Nodes ranked for assignment: able first, then holding the stock, then least busy.
    Pass one assignment_context() when ranking for many requests (the review page)."""
    return rank_nodes(req.recombinases_needed(), req.strain.holder_node_id, context)


def rank_nodes(
    needed: set[str], holder_node_id: int | None, context: AssignmentContext | None = None
) -> list[NodeSuggestion]:
    """Nodes ranked for a plan needing these recombinases (suggest_nodes; quotes before a request)."""
    context = context or assignment_context()
    counts = context.open_requests
    out = []
    for node in context.nodes:
        problem = conversion_problem(node, needed)
        out.append(NodeSuggestion(node, problem is None, problem, node.id == holder_node_id, counts.get(node.id, 0)))
    out.sort(key=lambda s: (not s.ok, not s.holds_stock, s.open_requests, s.node.code))
    return out
