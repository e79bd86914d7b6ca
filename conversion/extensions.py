"""Flask extensions, created unbound and initialised in create_app()."""

from __future__ import annotations

import select as select_module
from datetime import UTC, date, datetime
from functools import lru_cache

import orjson
from flask import g, has_request_context, request
from flask.json.provider import DefaultJSONProvider
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _FlaskSession
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import DateTime, MetaData, bindparam, select
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timestamp always stored and returned as timezone-aware UTC.

    SQLite keeps no zone, so values are normalised to UTC on the way in and
    marked UTC on the way out; PostgreSQL uses timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def utctoday() -> date:
    """Today's date in UTC: the one "today" of the app (price lists, invoices, lab dates, files)."""
    return utcnow().date()


def iso_utc(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as the API shows times."""
    return dt.isoformat().replace("+00:00", "Z") if dt else None


# ---- a read-only request's connection ------------------------------------------------
# A GET or HEAD request whose statements are all reads.Read (the API detail and list) needs no
# Session: its Reads run on one pooled connection of its own (reads.connection), held in `g` and
# returned when the app context ends. Should the request use the Session after all (an ORM query,
# a write), the Session joins that connection (Session.get_bind below): still one connection per
# request. The Session's transaction bookkeeping (begin, close, rollback, expunge) cost about
# 70 us of an API detail's ~2 ms (issue 20).
def request_connection(open_one: bool = False):
    """The app context's read connection (opened if `open_one` and this is a GET or HEAD request on
    PostgreSQL). Not on SQLite, whose locks are the whole database's: with it, two staff saving the
    same record at once after GETs (tests/test_lab_records.py) saw the second refused at once
    ("database is locked") instead of waiting for the first; the gain there was small anyway."""
    conn = g.get("_read_connection")  # (like the Session, only ever asked for in an app context)
    if conn is None and open_one and has_request_context() and request.method in _READ_ONLY:
        engine = db.engine
        if engine.dialect.name == "postgresql":
            conn = g._read_connection = engine.connect()
    return conn


def close_request_connection(exc: BaseException | None = None) -> None:
    conn = g.pop("_read_connection", None)
    if conn is not None:
        conn.close()


class _Session(_FlaskSession):
    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None:
            conn = request_connection()
            if conn is not None and not conn.closed:
                return conn
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": _Session})


def by_key(column, key, of):
    """`column` of the row whose primary key `key` equals `of`, as a scalar subquery: a column per
    row of another table without a join. Joined, PostgreSQL hashed every user for a page's emails
    (0.3-0.9 ms), and planned a list's rows statement, planned again on every call since its ids
    vary, about ten times slower than from the list's own table (docs/DEVELOPING.md)."""
    return select(column).where(key == of).scalar_subquery()


def in_sql_text(value, name: str | None = None, type_=None):
    """`value` written into the SQL text instead of sent as a parameter (LIMIT, OFFSET, constants).
    PostgreSQL cannot cost a prepared statement's generic plan when its LIMIT is a parameter, and
    then plans it again on every call (psycopg prepares what a connection runs five times): about
    1 ms of planning per list call, often more than running it (docs/benchmarks.md). Never user
    text: only integers and values of the code."""
    return bindparam(name, value, type_=type_, literal_execute=True)


def sqlite_write_lock(model, row_id: int) -> None:
    """SQLite has no SELECT ... FOR UPDATE: a no-op UPDATE of the row takes the database
    write lock, held until commit, so two writers of one row run one after the other.
    On PostgreSQL this does nothing (use with_for_update)."""
    if db.session.get_bind().dialect.name == "sqlite":
        table = model.__table__
        db.session.execute(table.update().where(table.c.id == row_id).values(id=table.c.id))


def insert_or(table):
    """An INSERT into `table` that takes ON CONFLICT clauses: the session's dialect's (PostgreSQL
    or SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(table)


def add_to_counts(table, keys: list[str], rows: list[dict]) -> None:
    """Add rows to a table of counters: INSERT ... ON CONFLICT (keys) DO UPDATE adding every other
    column, so concurrent transactions add up. Rows go in key order (two transactions lock them in
    the same order) and 1,000 at a time; a transition's pending ORM changes stay pending."""
    if not rows:
        return
    stmt = insert_or(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={c.name: c + stmt.excluded[c.name] for c in table.c if c.name not in keys},
    )
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in keys))
    with db.session.no_autoflush:
        for start in range(0, len(rows), 1000):
            db.session.execute(stmt, rows[start : start + 1000])


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


# ---- read-only requests end with COMMIT, not ROLLBACK ----------------------------------
# psycopg forgets its prepared statements on every ROLLBACK (a rolled-back transaction may have
# dropped what they refer to), so a request that ends in one makes PostgreSQL parse and plan every
# statement of the next request again: about half of the API detail's time at 5,000 requests
# (docs/benchmarks.md). A GET that wrote nothing ends its transaction with COMMIT instead, which
# changes nothing in the database and keeps the statements prepared; anything else (a write, an
# error, a failed answer) still ends in ROLLBACK. (On PostgreSQL a GET's reads run in autocommit,
# below: this is for one that needed a transaction after all, and for SQLite.)
def _note_write(conn, cursor, statement: str, parameters, context, executemany) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        conn.info["wrote"] = True


def _forget_writes(conn) -> None:
    conn.info.pop("wrote", None)


def _closed_while_idle(dbapi_connection, connection_record, connection_proxy) -> None:
    """A pooled PostgreSQL connection checked out is tested without a round trip: the server sends
    nothing to an idle connection unless it closes it (a restart, a terminated backend, an idle
    timeout), so a socket with something to read means a dead or odd connection, replaced by a
    new one (as redis-py does). pool_pre_ping's SELECT 1 cost a round trip on every request."""
    pgconn = getattr(dbapi_connection, "pgconn", None)  # psycopg; SQLite has no server
    if pgconn is None:
        return
    from sqlalchemy.exc import DisconnectionError

    try:
        readable = select_module.select([pgconn.socket], [], [], 0)[0]
    except (OSError, ValueError) as exc:  # the socket is gone
        raise DisconnectionError(str(exc)) from exc
    if readable:
        raise DisconnectionError("the database closed the connection while it was idle")


def check_pooled_connections() -> None:
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    if not event.contains(Pool, "checkout", _closed_while_idle):
        event.listen(Pool, "checkout", _closed_while_idle)


# ---- a read-only request's statements run in autocommit -----------------------------
# A GET or HEAD request on PostgreSQL gets its pooled connection in autocommit: its SELECTs need
# no BEGIN and no COMMIT, two of an API call's five round trips to the server (each a wait on the
# network, and on one machine a switch between the worker and PostgreSQL: about 5 % of the API's
# throughput, docs/benchmarks.md). Under READ COMMITTED, every statement of a transaction saw the
# latest committed data anyway, so the answers are the same. The first statement that needs a
# transaction (anything but a SELECT; a locking SELECT ... FOR UPDATE/SHARE; an advisory lock; a
# server-side cursor) turns autocommit off before it runs: from there the request has its
# transaction as before, committed or rolled back as before (tests/test_read_transactions.py).
_READ_ONLY = frozenset(("GET", "HEAD"))


def _reads_in_autocommit(dbapi_connection, connection_record, connection_proxy) -> None:
    """Every checkout sets the mode its user needs: autocommit for a GET or HEAD, transactions for
    anything else (another method, a command, a test outside any request). A pooled connection keeps
    its mode in between, so GETs in a row switch nothing (each switch costs psycopg a call)."""
    from flask import has_request_context, request

    if getattr(dbapi_connection, "pgconn", None) is None:
        return
    reads = has_request_context() and request.method in _READ_ONLY
    connection_record.info["read_autocommit"] = reads
    if dbapi_connection.autocommit != reads:
        dbapi_connection.autocommit = reads


@lru_cache(maxsize=1024)
def _text_needs_transaction(statement: str) -> bool:
    """By its text (remembered per statement: the API detail's is 19 KB, read twice per call)."""
    return statement.lstrip()[:6].upper() != "SELECT" or " FOR " in statement or "advisory" in statement


def _needs_transaction(statement: str, context) -> bool:
    return _text_needs_transaction(statement) or (context is not None and context._is_server_side)


def _transaction_when_needed(conn, cursor, statement: str, parameters, context, executemany) -> None:
    record = conn.connection._connection_record
    if record is not None and record.info.get("read_autocommit") and _needs_transaction(statement, context):
        record.info["read_autocommit"] = False
        conn.connection.dbapi_connection.autocommit = False


def read_only_requests_in_autocommit() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    if not event.contains(Pool, "checkout", _reads_in_autocommit):
        event.listen(Pool, "checkout", _reads_in_autocommit)
        event.listen(Engine, "before_cursor_execute", _transaction_when_needed)


def end_reads_with_commit(app) -> None:
    from flask import g, request
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "before_cursor_execute", _note_write):
        event.listen(Engine, "before_cursor_execute", _note_write)
        event.listen(Engine, "begin", _forget_writes)

    @app.after_request
    def _answered(response):
        g.read_answered = request.method in ("GET", "HEAD") and response.status_code < 400
        return response

    @app.teardown_request
    def _commit_reads(exc) -> None:
        if not db.session.registry.has():
            return  # no Session this request (its Reads ran on the request's connection, in autocommit)
        session = db.session()  # the request's Session (the scoped_session proxies only part of it)
        if exc is not None or not g.pop("read_answered", False) or not session.in_transaction():
            return
        if session.new or session.dirty or session.deleted:
            return  # left to the usual ROLLBACK
        conn = session.connection()
        if conn.info.get("wrote"):
            return
        # The driver's COMMIT: the session's own commit would also expire every entity it holds and
        # walk its transaction states, all of which the session's removal at the end of the request
        # undoes anyway (its ROLLBACK then finds no transaction open: no statement is sent).
        conn.connection.dbapi_connection.commit()


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON (responses, `tojson`) written by orjson: a tenth of the CPU of the standard
    library's encoder (0.12 -> 0.01 ms for an API detail). The same JSON: keys sorted, compact;
    dates, decimals, dataclasses and the like go through Flask's own `default`, as before. Only
    non-ASCII characters are written as UTF-8 rather than \\u escapes (JSON's default encoding)."""

    _OPTIONS = (
        orjson.OPT_SORT_KEYS
        | orjson.OPT_NON_STR_KEYS
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
    )

    def dumps(self, obj, **kwargs) -> str:
        if kwargs.get("indent") or kwargs.get("cls"):  # pretty (debug) or a custom encoder: the standard library
            return super().dumps(obj, **kwargs)
        return orjson.dumps(obj, default=self.default, option=self._OPTIONS).decode()
