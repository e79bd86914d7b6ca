"""Where a view's time goes: each series' distinct URLs called in-process (Flask test client) on the
database in DATABASE_URL, with CPU time and SQL statements per call, optionally under cProfile.

    python bench/profiling.py                          # every read series, 200 calls each
    python bench/profiling.py api_detail page_staff --calls 500 --profile [--sort tottime] [--top 40]

CPU time is this process's (the app's Python: SQLAlchemy, Jinja, JSON ...), not the database's, so
the figures hold on a busy machine better than wall time does."""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import querycounts, targets  # noqa: E402

WHO = {
    "api_detail": "api",
    "api_list": "api",
    "pdf": "api",
    "page_staff": "staff",
    "queue": "staff",
    "page_coordinator": "coordinator",
    "review": "coordinator",
    "dashboard": "coordinator",
    "csv": "coordinator",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("series", nargs="*", default=[s for s in WHO if s not in ("pdf", "csv")])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=45)
    opts = parser.parse_args()

    from bench.sqlcount import count_statements
    from conversion import create_app
    from conversion.extensions import db

    app = create_app(
        {
            "WTF_CSRF_ENABLED": True,
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        engine = db.engine
    urls = targets.series(engine)
    clients = {}
    for who, (email, password) in (("staff", querycounts.STAFF), ("coordinator", querycounts.COORDINATOR)):
        client = app.test_client()
        querycounts.sign_in(client, email, password)
        clients[who] = (client, {})
    api = app.test_client()
    clients["api"] = (api, querycounts.bearer(api, *querycounts.COORDINATOR))

    for name in opts.series:
        client, headers = clients[WHO[name]]
        lines = urls[name]
        paths = [lines[i % len(lines)].split(" ", 1)[1] for i in range(opts.calls)]
        for path in paths[:5]:  # warm-up
            assert client.get(path, headers=headers).status_code == 200, path
        profiler = cProfile.Profile(time.process_time) if opts.profile else None  # CPU, not waits
        with count_statements(engine) as seen:
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for path in paths:
                res = client.get(path, headers=headers)
                if res.status_code != 200:
                    raise SystemExit(f"{path}: {res.status_code}")
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        n = len(paths)
        print(
            f"{name:18} {cpu / n * 1000:7.2f} ms CPU/call  {wall / n * 1000:7.2f} ms wall/call  "
            f"{len(seen) / n:5.1f} statements/call  ({len(set(paths))} distinct URLs)",
            flush=True,
        )
        if profiler:
            calls = sum(v[1] for v in pstats.Stats(profiler).stats.values())
            print(
                f"{'':18} {calls / n:7.0f} Python function calls/call (a steadier measure than time on a busy machine)"
            )
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(opts.sort).print_stats(opts.top)
            print(out.getvalue())


if __name__ == "__main__":
    main()
