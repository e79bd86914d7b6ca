"""The Alembic migrations build exactly the models' schema (autogenerate finds nothing to add,
drop or alter), on SQLite and on PostgreSQL: a model change without its migration fails here."""

from __future__ import annotations


def test_migrations_match_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from conversion.extensions import db
    from conversion.requests.models import is_search_table

    with db.engine.connect() as conn:
        opts = {
            "compare_type": True,
            "compare_server_default": False,
            # SQLite's FTS5 search table of migration 0021 and its shadow tables: not models
            "include_name": lambda name, type_, parent: not (type_ == "table" and is_search_table(name)),
        }
        context = MigrationContext.configure(conn, opts=opts)
        diff = [
            d
            for d in compare_metadata(context, db.metadata)
            if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
        ]
    assert diff == [], "models and migrations differ:\n" + "\n".join(map(str, diff))
