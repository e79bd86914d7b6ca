"""Production safety: the seeding commands refuse under APP_CONFIG=production (demo users have
published passwords; benchmark invoices would take legal invoice numbers)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select


@pytest.mark.parametrize("command", ["seed-demo", "seed-if-empty", "seed-bench"])
def test_seed_commands_refuse_under_production(tmp_path, command):
    from bench.cli import register_bench_cli
    from conversion import create_app
    from conversion.catalogue.models import Node
    from conversion.extensions import db

    app = create_app(
        {
            "APP_CONFIG": "production",
            "SECRET_KEY": "k" * 64,
            "ALLOW_SQLITE": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        }
    )
    register_bench_cli(app)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=[command])
    assert result.exit_code == 1
    assert f"{command} refuses to run under APP_CONFIG=production" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Node)) == 0
        db.engine.dispose()


def test_seed_demo_runs_outside_production(tmp_path):
    from conversion import create_app
    from conversion.catalogue.models import Node
    from conversion.extensions import db

    app = create_app({"APP_CONFIG": "development", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'dev.sqlite3'}"})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Node)) == 12
        db.engine.dispose()
