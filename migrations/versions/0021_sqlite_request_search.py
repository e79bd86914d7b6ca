"""SQLite: a trigram full-text index for the requests' text search (no-op on PostgreSQL)

The text search (conversion/requests/operations.py bound_search) is a case-insensitive substring
of the reference or the product symbol. PostgreSQL answers it from the pg_trgm GIN indexes of
migration 0008 (and the btree of 0019); SQLite had no such index and read every request: 27 ms
for one reference at 20,000 requests. This adds, on SQLite only, an FTS5 table with the trigram
tokenizer (SQLite 3.34+) over the two columns, its rowid the request's id, kept in step by
triggers on INSERT, UPDATE OF id, reference, product_symbol and DELETE of conversion_requests,
and filled from the existing requests. It holds lower(reference) and lower(product_symbol), case
sensitive (FTS5 would otherwise fold non-ASCII letters too, which SQLite's lower() and LIKE do not):
a search of 3+ characters, lowercased, reads the rowids holding the phrase of its trigrams, i.e.
exactly the rows where lower(x) LIKE '%search%'; shorter ones keep LIKE.

The table and its shadow tables (<name>_data, _idx, _content, _docsize, _config) are not in
the models' metadata: conversion.requests.models.SEARCH_TABLE names them, and the comparison of
models and migrations (tests/test_migrations.py, migrations/env.py) leaves them out.

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TABLE = "conversion_requests_search"  # conversion.requests.models.SEARCH_TABLE
ROW = "new.id, lower(new.reference), lower(new.product_symbol)"

UPGRADE = [
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5(reference, product_symbol, tokenize='trigram case_sensitive 1')",
    f"INSERT INTO {TABLE} (rowid, reference, product_symbol) SELECT id, lower(reference), lower(product_symbol) FROM conversion_requests",
    f"CREATE TRIGGER {TABLE}_insert AFTER INSERT ON conversion_requests BEGIN "
    f"INSERT INTO {TABLE} (rowid, reference, product_symbol) VALUES ({ROW}); END",
    f"CREATE TRIGGER {TABLE}_update AFTER UPDATE OF id, reference, product_symbol ON conversion_requests BEGIN "
    f"DELETE FROM {TABLE} WHERE rowid = old.id; "
    f"INSERT INTO {TABLE} (rowid, reference, product_symbol) VALUES ({ROW}); END",
    f"CREATE TRIGGER {TABLE}_delete AFTER DELETE ON conversion_requests BEGIN "
    f"DELETE FROM {TABLE} WHERE rowid = old.id; END",
]


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{trigger}")
        op.execute(f"DROP TABLE IF EXISTS {TABLE}")
