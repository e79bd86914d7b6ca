"""Benchmark support: `flask --app wsgi seed-bench --requests N` (a synthetic data set).

Not part of the app package: wsgi.py registers it, and it refuses under APP_CONFIG=production."""

from __future__ import annotations

import sys
import time

import click

from conversion.cli import not_in_production


@click.command("seed-bench")
@click.option(
    "--requests",
    "count",
    type=click.IntRange(1, 2_000_000),
    default=50_000,
    show_default=True,
    help="How many conversion requests to add.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed (same seed, same data).")
@not_in_production("seed-bench")
def seed_bench_cmd(count: int, seed: int) -> None:
    """Add N synthetic requests over all states and nodes, with history, lab records and invoices."""
    from .seed import seed_bench

    started = time.perf_counter()
    with click.progressbar(length=count, label=f"Seeding {count} requests", file=sys.stderr) as bar:
        made = seed_bench(count, seed=seed, progress=bar.update)
    click.echo(", ".join(f"{n} {name}" for name, n in made.items()) + f" in {time.perf_counter() - started:.1f} s.")


def register_bench_cli(app) -> None:
    app.cli.add_command(seed_bench_cmd)
