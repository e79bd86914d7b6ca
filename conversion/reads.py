"""The hottest reads (the API caller's token, the request detail, its lab records, the list pages)
run through the driver's cursor rather than SQLAlchemy's execution layer.

A `Read` is a Core SELECT, written and typed as usual, compiled once per dialect into its SQL text,
its parameters' order and converters, and its result columns' converters. Each call then sends the
text with the values (`connection()`: the Session's connection once it has a transaction, else a
GET's own connection on PostgreSQL, which the Session joins if it needs one) and returns plain
named tuples; PostgreSQL answers in its binary format. SQLAlchemy's per-call work (execution
context, cursor description, result metadata, Row objects) cost ~90 µs of CPU per statement, more
than psycopg and PostgreSQL together for these index reads, plus ~10 µs per result column for
psycopg's description (docs/benchmarks.md, issue 20). What stays the same: the engine's before_ and after_cursor_execute
listeners see every statement (statement counts, the read/write bookkeeping, bench/explain.py),
and a driver error is raised as SQLAlchemy's (a dropped connection invalidated, as with
`Connection.execute`).

A NULL is returned as None without its column's converter (true of every type used here).
Statements with expanding IN lists or other post-compile parameters are refused at compile time:
run those with `Connection.execute`."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from sqlalchemy import Integer, cast, literal_column, null, select, union_all
from sqlalchemy.orm import class_mapper, make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql import operators

from .extensions import db, request_connection

try:  # psycopg parses a statement's text once and keeps the result, unless it is over 4 KB: the
    # lab records' union is 6.6 KB and the API detail's Batch 19 KB, parsed again on every call
    # (~50 µs). Our statements are a fixed set built once per process, so the cache stays small.
    from psycopg import _queries

    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, 32_768)
except (ImportError, AttributeError):  # SQLite only, or another psycopg
    pass


class _Compiled:
    __slots__ = ("sql", "defaults", "order", "processors", "row", "columns", "results", "error", "cursor_args")

    def __init__(self, stmt, dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        if compiled.post_compile_params or compiled.literal_execute_params or compiled.escaped_bind_names:
            raise ValueError("reads.Read takes plain bound parameters only (no expanding IN, no quoted names)")
        self.sql = compiled.string
        self.defaults = compiled.construct_params(_check=False, escape_names=False)
        names = compiled.positiontup if compiled.positional else list(self.defaults)
        self.order = names if compiled.positional else None
        self.processors = [(name, compiled._bind_processors.get(name)) for name in names]
        self.columns = compiled._result_columns
        self.row = namedtuple("Row", [column.keyname for column in self.columns])  # type: ignore[misc]
        self.results: list | None = None  # [(index, converter)], from the first answer's column types
        self.error = dialect.loaded_dbapi.Error
        # PostgreSQL answers in its binary format: no text rendering of every value on the server
        # (timestamps most of all) and none parsed in the worker; the API detail's statement cost
        # PostgreSQL ~15 % less CPU (0.66 -> 0.56 ms), the answers the same (tests/test_reads.py).
        self.cursor_args = {"binary": True} if dialect.driver == "psycopg" else {}

    def args(self, params: dict):
        values = {**self.defaults, **params}
        if self.order is None:
            return {name: (values[name] if proc is None else proc(values[name])) for name, proc in self.processors}
        return tuple(values[name] if proc is None else proc(values[name]) for name, proc in self.processors)

    def converters(self, dialect, description) -> list:
        if len(description) != len(self.columns):
            raise ValueError(f"{len(description)} columns answered, {len(self.columns)} expected")
        pairs = []
        for i, (column, described) in enumerate(zip(self.columns, description, strict=True)):
            proc = column.type._cached_result_processor(dialect, described[1])
            if proc is not None:
                pairs.append((i, proc))
        return pairs


def connection():
    """The connection a Read runs on: the Session's when it has begun a transaction (a read sees the
    request's own changes); else a GET or HEAD request's own connection (extensions.request_connection,
    which the Session joins if it needs one later); else the Session's."""
    registry = db.session.registry
    if not registry.has() or not registry().in_transaction():
        conn = request_connection(open_one=True)
        if conn is not None:
            return conn
    return db.session.connection()


class Read:
    """`Read(select(...))` built once per process; `.all(params)` / `.first(params)` per call."""

    __slots__ = ("stmt", "_by_dialect")

    def __init__(self, stmt) -> None:
        self.stmt = stmt
        self._by_dialect: dict[Any, _Compiled] = {}

    def all(self, params: dict) -> list:
        plan, rows = self._run(params)
        make = plan.row._make
        return [make(values) for values in rows]

    def first(self, params: dict):
        rows = self.all(params)
        return rows[0] if rows else None

    def values(self, params: dict) -> list:
        """The rows as sequences of converted values."""
        return self._run(params)[1]

    def _run(self, params: dict) -> tuple[Any, Any]:
        conn = connection()
        dialect = conn.dialect
        plan = self._by_dialect.get(dialect)
        if plan is None:
            plan = self._by_dialect[dialect] = _Compiled(self.stmt, dialect)
        args = plan.args(params)
        cursor = conn.connection.dbapi_connection.cursor(**plan.cursor_args)  # type: ignore[union-attr]
        try:
            for listener in conn.dispatch.before_cursor_execute:
                listener(conn, cursor, plan.sql, args, None, False)
            cursor.execute(plan.sql, args)
            raw = cursor.fetchall()
            for listener in conn.dispatch.after_cursor_execute:
                listener(conn, cursor, plan.sql, args, None, False)
            if plan.results is None:
                plan.results = plan.converters(dialect, cursor.description)
        except plan.error as exc:
            conn._handle_dbapi_exception(exc, plan.sql, args, cursor, None)
        finally:
            cursor.close()
        if not plan.results:
            return plan, raw
        out = []
        for row in raw:
            values = list(row)
            for i, proc in plan.results:
                if values[i] is not None:  # NULL stays None (the union's empty slots are most values)
                    values[i] = proc(values[i])
            out.append(values)
        return plan, out


class Batch:
    """Several SELECTs answered by one statement (one round trip instead of one per SELECT): the
    UNION ALL of one arm per part, each arm with its part's columns in its own typed slots and NULLs
    of their types in the other parts' slots, ordered by part and then by each part's ORDER BY.
    `.all(params)` gives one list of named tuples per part, as `Read(part).all(params)` would; the
    parts share the parameters (the same name is the same value). A part's ORDER BY must name its
    columns, ascending or descending (`literal_column("id")`, a label or a column of its own).
    Cheaper than the separate reads when the parts are small (each row carries every part's slots)."""

    __slots__ = ("read", "_parts")

    def __init__(self, *stmts) -> None:
        subs = [stmt.order_by(None).subquery(f"part{i}") for i, stmt in enumerate(stmts)]
        labels = [[f"p{i}_{c.key}" for c in sub.c] for i, sub in enumerate(subs)]
        slots = {label: c.type for i, sub in enumerate(subs) for label, c in zip(labels[i], sub.c, strict=True)}
        arms = [
            select(*slot_columns("batch_part", i, slots, dict(zip(labels[i], sub.c, strict=True)))).select_from(sub)
            for i, sub in enumerate(subs)
        ]
        order: list[Any] = [literal_column("batch_part")]
        for i, stmt in enumerate(stmts):
            for clause in stmt._order_by_clauses:
                descending = getattr(clause, "modifier", None) is operators.desc_op
                name = getattr(clause.element if descending else clause, "name", None)
                if name is None or name not in subs[i].c:
                    raise ValueError(f"Batch: part {i} is ordered by {clause}, not by one of its columns")
                by = literal_column(f"p{i}_{name}")
                order.append(by.desc() if descending else by)
        self.read = Read(union_all(*arms).order_by(*order))
        self._parts: list[tuple[int, int, Any]] = []
        start = 1
        for sub in subs:
            end = start + len(sub.c)
            row: Any = namedtuple("Row", [c.key for c in sub.c])  # type: ignore[misc]
            self._parts.append((start, end, row._make))
            start = end

    def all(self, params: dict) -> list[list]:
        out: list[list] = [[] for _ in self._parts]
        parts = self._parts
        for values in self.read.values(params):
            start, end, make = parts[values[0]]
            out[values[0]].append(make(values[start:end]))
        return out


def entity(model, values: dict):
    """The persistent entity of `model` with these column values (and loaded relationships), as if
    the session had loaded it (no change recorded): the session's own copy if it holds one.
    Attributes not given load on first use, like an expired entity's (or load_only's)."""
    key = identity_key(model, values["id"])
    found = db.session.identity_map.get(key)
    if found is not None:
        return found
    obj = detached(model, values)
    db.session.add(obj)
    return obj


def detached(model, values: dict):
    """An entity of `model` with these column values, loaded and unchanged but in no session: for a
    read-only request that needs no Session at all (a fifth of an entity()'s cost, with the Session's
    creation and removal). Reading an attribute not given raises DetachedInstanceError."""
    obj = class_mapper(model).class_manager.new_instance()
    obj.__dict__.update(values)  # where the ORM's own loading puts loaded values
    make_transient_to_detached(obj)  # loaded, unchanged, with its identity
    return obj


def slot_columns(tag_label: str, tag: int, slots: dict[str, Any], given: dict) -> list:
    """The columns of one arm of a UNION ALL over shared typed slots (one statement for rows of
    several tables): `tag`, which arm a row comes from, labelled `tag_label`, then for each slot of
    `slots` ({name: type}) its expression in `given`, or a NULL of its type."""
    columns = [literal_column(str(tag), Integer()).label(tag_label)]
    for name, kind in slots.items():
        expr = given.get(name)
        columns.append((cast(null(), kind) if expr is None else expr).label(name))
    return columns
