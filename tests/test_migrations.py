"""The Alembic migrations build exactly the models' schema (autogenerate finds nothing to add,
drop or alter), on SQLite and on PostgreSQL: a model change without its migration fails here."""

from __future__ import annotations


def test_migrations_match_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from conversion.extensions import db

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        diff = [
            d
            for d in compare_metadata(context, db.metadata)
            if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
        ]
    assert diff == [], "models and migrations differ:\n" + "\n".join(map(str, diff))
