"""EXPLAIN ANALYZE of the SQL behind the benchmarked pages (PostgreSQL in DATABASE_URL).

python bench/explain.py [min_ms]     # plans of the statements slower than min_ms (default 0.5)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import querycounts  # noqa: E402


def main() -> None:
    from sqlalchemy import event

    from conversion import create_app
    from conversion.extensions import db

    min_ms = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    app = create_app({"SESSION_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        engine = db.engine
    seen: list = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["t"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        seen.append(((time.perf_counter() - conn.info.pop("t")) * 1000, statement, parameters))

    querycounts.measure(app)  # warm up
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    querycounts.measure(app)
    event.remove(engine, "before_cursor_execute", before)
    event.remove(engine, "after_cursor_execute", after)
    done = set()
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for ms, statement, params in sorted(seen, key=lambda s: -s[0]):
            if ms < min_ms or not statement.lstrip().upper().startswith("SELECT") or statement in done:
                continue
            done.add(statement)
            print(f"---- {ms:.1f} ms\n{' '.join(statement.split())[:600]}")
            with raw.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, params)
                for (line,) in cur.fetchall():
                    print("   ", line)


if __name__ == "__main__":
    main()
