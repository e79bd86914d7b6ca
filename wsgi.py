from bench.cli import register_bench_cli
from conversion import create_app

app = create_app()
register_bench_cli(app)  # seed-bench: benchmark data, refused under APP_CONFIG=production
