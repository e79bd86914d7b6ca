"""conversion.reads.Read, the hottest reads sent through the driver's cursor: the same answers as
SQLAlchemy's Connection.execute (typed: UTC datetimes, enums, dates, JSON, NULLs), every statement
seen by the statement counters, and a failing statement raised as SQLAlchemy raises it."""

from __future__ import annotations

import pytest
from flows import BILLING_DE, Api, walk
from sqlalchemy import bindparam, event, select
from sqlalchemy.exc import StatementError

from bench.sqlcount import count_statements
from conversion.accounts.models import User
from conversion.extensions import db
from conversion.reads import Batch, Read
from conversion.requests.models import ConversionRequest, RequestEvent


def test_a_read_answers_what_core_answers(seeded, client):
    api = Api(client)
    body = {"strain": "EM:05402", "target": "c", "deliverable": "frozen_sperm", "billing": BILLING_DE}
    walk(api, api.ok("requester", "/requests", body)["id"], "breeding")
    stmt = (
        select(
            ConversionRequest.id,
            ConversionRequest.reference,
            ConversionRequest.status,
            ConversionRequest.created_at,
            ConversionRequest.plan,
            ConversionRequest.node_id,
            RequestEvent.at,
            RequestEvent.trigger,
            User.role,
        )
        .join(RequestEvent, RequestEvent.request_id == ConversionRequest.id)
        .join(User, User.id == RequestEvent.actor_id)
        .where(ConversionRequest.id >= bindparam("from_id"))
        .order_by(RequestEvent.id)
    )
    params = {"from_id": 1}
    expected = [tuple(row) for row in db.session.connection().execute(stmt, params)]
    read = Read(stmt)
    for _ in range(2):  # the first call learns the column types, the second uses them
        got = read.all(params)
        assert [tuple(row) for row in got] == expected
    assert len(expected) >= 5
    row = got[0]
    assert row.created_at.utcoffset().total_seconds() == 0  # aware UTC, on SQLite too
    assert row.role.value in {"requester", "staff", "coordinator"}  # the enum, not its text
    assert read.first({"from_id": 10**9}) is None


def test_every_table_reads_back_as_core_reads_it(seeded, client):
    """Every column type of the schema (money, dates, floats, JSON, bytes, flags, enums, UTC times,
    NULLs) comes back from a Read as from Connection.execute: on PostgreSQL in the binary format."""
    api = Api(client)
    body = {"strain": "EM:05402", "target": "c", "deliverable": "frozen_sperm", "billing": BILLING_DE}
    walk(api, api.ok("requester", "/requests", body)["id"], "completed")
    kinds, rows = set(), 0
    for table in db.metadata.sorted_tables:
        stmt = select(table).order_by(*table.primary_key.columns)
        expected = [tuple(row) for row in db.session.connection().execute(stmt)]
        read = Read(stmt)
        for _ in range(2):  # the first call learns the column types, the second uses them
            assert [tuple(row) for row in read.all({})] == expected, table.name
        rows += len(expected)
        kinds |= {type(value).__name__ for row in expected for value in row}
    assert rows > 100, rows
    assert {"Decimal", "date", "datetime", "dict", "list", "bool", "int", "float", "bytes", "str", "Role"} <= kinds, (
        kinds
    )


def test_a_read_is_counted_and_sees_the_transaction(seeded):
    read = Read(select(User.email).where(User.id == bindparam("id")))
    user = db.session.scalar(select(User).order_by(User.id))
    user.email = "renamed@example.org"
    db.session.flush()  # not committed: a read in the same transaction sees it
    finished = []

    def after(conn, cursor, statement, parameters, context, executemany):
        finished.append(statement)

    event.listen(db.engine, "after_cursor_execute", after)
    try:
        with count_statements(db.engine) as seen:
            assert read.first({"id": user.id}).email == "renamed@example.org"
    finally:
        event.remove(db.engine, "after_cursor_execute", after)
    assert len(seen) == 1 and "FROM users" in seen[0]
    assert len(finished) == 1 and "FROM users" in finished[0]
    db.session.rollback()


def test_a_failing_read_raises_as_sqlalchemy_does(app):
    read = Read(select(User.id).where(User.id == bindparam("id")))
    with pytest.raises(StatementError):
        read.all({"id": object()})  # the driver cannot send it
    db.session.rollback()
    assert read.all({"id": 1}) == []  # the session goes on


def test_expanding_in_lists_are_refused(app):
    read = Read(select(User.id).where(User.id.in_(bindparam("ids", expanding=True))))
    with pytest.raises(ValueError, match="expanding IN"):
        read.all({"ids": [1, 2]})


def test_a_batch_answers_what_each_of_its_reads_answers_in_one_statement(seeded, client):
    api = Api(client)
    body = {"strain": "EM:05402", "target": "c", "deliverable": "frozen_sperm", "billing": BILLING_DE}
    rid = api.ok("requester", "/requests", body)["id"]
    walk(api, rid, "breeding")
    history = (
        select(RequestEvent.id, RequestEvent.at, RequestEvent.trigger, RequestEvent.data)
        .where(RequestEvent.request_id == bindparam("rid"))
        .order_by(RequestEvent.id.desc())
    )
    users = select(User.email, User.role, User.active).where(User.id <= bindparam("most")).order_by(User.email)
    request = select(ConversionRequest.reference, ConversionRequest.plan, ConversionRequest.created_at).where(
        ConversionRequest.id == bindparam("rid")
    )
    params = {"rid": rid, "most": 4}
    parts = [history, users, request]
    batch = Batch(*parts)
    for _ in range(2):  # the first call learns the column types, the second uses them
        with count_statements(db.engine) as seen:
            got = batch.all(params)
        assert len(seen) == 1
        assert got == [Read(part).all(params) for part in parts]
    events, people, (req,) = got
    assert len(events) >= 4 and events[0].id > events[-1].id  # each part in its own order
    assert [p.email for p in people] == sorted(p.email for p in people) and len(people) == 4
    assert req.created_at.utcoffset().total_seconds() == 0 and req.plan["steps"]
    assert batch.all({"rid": 10**9, "most": 0}) == [[], [], []]


def test_a_batch_part_must_be_ordered_by_its_own_columns(app):
    with pytest.raises(ValueError, match="not by one of its columns"):
        Batch(select(User.email).order_by(User.id))
