import gc

from bench.cli import register_bench_cli
from conversion import create_app

app = create_app()
register_bench_cli(app)  # seed-bench: benchmark data, refused under APP_CONFIG=production

# The ~170,000 objects of the loaded app (modules, mappers, templates) never become garbage: moved
# out of the collector's sight, a full collection takes 3 ms instead of ~90 ms (one every ~15
# review-queue pages at 50,000 requests, docs/benchmarks.md).
gc.freeze()
# A request makes thousands of short-lived objects: collecting the youngest generation every 10,000
# allocations rather than 700 halves the collector's time on a request page (0.39 -> 0.21 ms).
gc.set_threshold(10_000, 10, 10)
