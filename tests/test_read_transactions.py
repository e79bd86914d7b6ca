"""A GET that wrote nothing ends its transaction with COMMIT (so that PostgreSQL keeps the
statements it prepared: docs/benchmarks.md); anything that wrote, or failed, still ends in ROLLBACK.
These routes do what a careless view might: the database must not keep any of it.

On PostgreSQL a GET's reads run in autocommit (no BEGIN, no COMMIT: extensions.py); whatever needs
a transaction (a write, a row lock, an advisory lock, a streamed result) still gets one."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text


@pytest.fixture
def careless(app):
    """A second app on the same database with views that write during a GET and never commit."""
    from flask import abort, request
    from sqlalchemy import bindparam
    from sqlalchemy.exc import OperationalError

    from conversion import create_app
    from conversion.catalogue.models import Node
    from conversion.extensions import csrf, db
    from conversion.reads import Read

    other = create_app({"APP_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})

    def node(code: str) -> Node:
        return Node(code=code, name=f"Node {code}", country="DE", lab_code=code)

    @other.get("/_t/flush")
    def flushed():
        db.session.add(node("FLUSH"))
        db.session.flush()
        return "ok"

    @other.get("/_t/core")
    def core():
        db.session.execute(
            text(
                "INSERT INTO nodes (code, name, country, lab_code, offers_conversion, address, email) "
                "VALUES ('CORE', 'Node CORE', 'DE', 'CORE', false, '', '')"
            )
        )
        return "ok"

    @other.get("/_t/pending")
    def pending():
        db.session.add(node("PENDING"))  # never flushed
        return "ok"

    @other.get("/_t/dirty")
    def dirty():
        db.session.scalar(select(Node).where(Node.code == "KEEP")).name = "Renamed in memory"
        return "ok"

    @other.get("/_t/refused")
    def refused():
        db.session.add(node("REFUSED"))
        db.session.flush()
        abort(409)

    @other.get("/_t/read")
    def read():
        return str(db.session.scalar(select(func.count()).select_from(Node).where(Node.code == "KEEP")))

    def held_elsewhere(sql: str) -> str:
        """Whether another connection is refused the lock this request should hold."""
        with db.engine.connect() as conn:
            try:
                got = conn.execute(text(sql)).scalar()
            except OperationalError:  # NOWAIT: the row is locked
                return "held"
            if got is False:  # pg_try_advisory_lock
                return "held"
            conn.execute(text("SELECT pg_advisory_unlock_all()"))
            return "free"

    @other.get("/_t/lock")
    def lock():
        db.session.scalar(select(Node).where(Node.code == "KEEP").with_for_update())
        return held_elsewhere("SELECT id FROM nodes WHERE code = 'KEEP' FOR UPDATE NOWAIT")

    @other.get("/_t/advisory")
    def advisory():
        db.session.execute(text("SELECT pg_advisory_xact_lock(4242)"))
        return held_elsewhere("SELECT pg_try_advisory_lock(4242)")

    @other.get("/_t/stream")
    def stream():
        rows = db.session.execute(select(Node.code).execution_options(yield_per=1))
        return ",".join(sorted(code for (code,) in rows))

    @other.post("/_t/post-refused")
    def post_refused():
        db.session.add(node("POSTED"))
        db.session.flush()
        abort(409)

    csrf.exempt(post_refused)

    keep = Read(select(Node.code).where(Node.code == bindparam("code")))

    @other.get("/_t/read-then-write")
    def read_then_write():  # a Read first (on the request's own connection), then the Session
        assert keep.all({"code": "KEEP"})
        db.session.add(node("JOINED"))
        db.session.flush()
        seen = len(keep.all({"code": "JOINED"}))  # the request's own write, not committed
        if request.args.get("commit"):
            db.session.commit()
        return str(seen)

    @other.get("/_t/read-then-lock")
    def read_then_lock():
        assert keep.all({"code": "KEEP"})
        return lock()

    @other.get("/_t/connections")
    def connections():  # which server process answered the Read, and which the Session
        pid = Read(select(func.pg_backend_pid().label("pid"))).all({})[0].pid
        return "same" if db.session.scalar(select(func.pg_backend_pid())) == pid else "two"

    @other.get("/_t/prepared")
    def prepared():
        return str(db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements")))

    with other.app_context():
        db.session.add(node("KEEP"))
        db.session.commit()
    yield other, other.test_client()  # each request in an app context of its own, as when served
    with other.app_context():
        db.engine.dispose()


def test_a_get_that_wrote_keeps_nothing(careless):
    from conversion.catalogue.models import Node
    from conversion.extensions import db

    other, client = careless
    assert [client.get(f"/_t/{name}").status_code for name in ("flush", "core", "pending", "dirty", "refused")] == [
        200,
        200,
        200,
        200,
        409,
    ]
    with other.app_context():
        codes = set(db.session.scalars(select(Node.code)))
        assert not codes & {"FLUSH", "CORE", "PENDING", "REFUSED"}
        assert db.session.scalar(select(Node.name).where(Node.code == "KEEP")) == "Node KEEP"


def test_a_get_that_reads_then_writes_sees_its_write_and_keeps_only_what_it_commits(careless):
    """A GET whose first statements are Reads (on a connection of the request's own, no Session
    transaction) and which then writes: its Reads see its write, one connection serves both, and
    only a commit keeps the write."""
    from conversion.catalogue.models import Node
    from conversion.extensions import db

    other, client = careless
    postgres = not other.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    for _ in range(3):  # and again on pooled connections that served such requests
        assert client.get("/_t/read-then-write").get_data(as_text=True) == "1"
        if postgres:
            assert client.get("/_t/read-then-lock").get_data(as_text=True) == "held"
            assert client.get("/_t/connections").get_data(as_text=True) == "same"
    with other.app_context():
        assert db.session.scalar(select(func.count()).select_from(Node).where(Node.code == "JOINED")) == 0
    assert client.get("/_t/read-then-write?commit=1").get_data(as_text=True) == "1"
    with other.app_context():
        assert db.session.scalar(select(func.count()).select_from(Node).where(Node.code == "JOINED")) == 1


def test_reads_keep_their_prepared_statements_on_postgresql(careless):
    other, client = careless
    if other.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("prepared statements are PostgreSQL's (psycopg prepares a query run 5 times)")
    for _ in range(6):
        assert client.get("/_t/read").get_data(as_text=True) == "1"
    # had each request ended in ROLLBACK, psycopg would have forgotten them every time
    assert int(client.get("/_t/prepared").get_data(as_text=True)) >= 1


def test_locks_taken_in_a_get_are_held_until_its_end(careless):
    """A GET's reads need no transaction, but a row lock or an advisory lock does: held for the
    rest of the request (in autocommit each would be let go as soon as taken)."""
    other, client = careless
    if other.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("row and advisory locks are PostgreSQL's")
    for _ in range(3):  # and again on the pooled connection the previous request returned
        assert client.get("/_t/lock").get_data(as_text=True) == "held"
        assert client.get("/_t/advisory").get_data(as_text=True) == "held"


def test_streamed_reads_and_later_writes_after_read_only_requests(careless):
    """A streamed result (a server-side cursor on PostgreSQL) works in a GET; a POST on a pooled
    connection that served GETs has its transaction: its failed write is not kept."""
    from conversion.catalogue.models import Node
    from conversion.extensions import db

    other, client = careless
    for _ in range(3):
        assert "KEEP" in client.get("/_t/stream").get_data(as_text=True).split(",")
        assert client.get("/_t/read").get_data(as_text=True) == "1"
        assert client.post("/_t/post-refused").status_code == 409
    with other.app_context():
        assert db.session.scalar(select(func.count()).select_from(Node).where(Node.code == "POSTED")) == 0
    # work outside any request (a command) on a connection that served GETs has its transaction too
    for _ in range(3):
        assert client.get("/_t/read").get_data(as_text=True) == "1"
    with other.app_context():
        db.session.add(Node(code="CLI", name="Node CLI", country="DE", lab_code="CLI"))
        db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Node).where(Node.code == "CLI")) == 0
