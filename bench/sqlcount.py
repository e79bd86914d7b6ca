"""Count the SQL statements a block of code sends (tests pin them; the benchmark reports them)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event


class Statements(list):
    """The statements seen, in order (`len()` is the count)."""


@contextmanager
def count_statements(engine):
    """`with count_statements(db.engine) as seen: ...` then `len(seen)`; executemany counts once."""
    seen = Statements()

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
