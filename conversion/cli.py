"""Command line: flask --app wsgi seed-demo | users create | strains import."""

from __future__ import annotations

import sys
from functools import wraps

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from .extensions import db


def not_in_production(command: str):
    """Refuse (exit 1, saying why) under APP_CONFIG=production: demo users have published
    passwords and benchmark invoices would advance the legal invoice counters."""

    def decorate(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            if not current_app.config.get("SEED_COMMANDS_ALLOWED", True):
                raise click.ClickException(
                    f"{command} refuses to run under APP_CONFIG=production: it would load data with "
                    "published passwords or take real invoice numbers. Use it on a development or "
                    "test database only."
                )
            return fn(*args, **kwargs)

        return with_appcontext(wrapper)

    return decorate


users_cli = AppGroup("users", help="Manage user accounts.")
strains_cli = AppGroup("strains", help="Manage the strain catalogue.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, help="At least 10 characters.")
@click.option("--role", required=True, type=click.Choice(["requester", "staff", "coordinator"]))
@click.option("--node", "node_code", help="Node code, required for staff (e.g. ICS).")
@click.option("--name", default="")
def create_user_cmd(email, password, role, node_code, name):
    """Create a user account."""
    from .accounts.operations import AccountError, create_user

    try:
        user = create_user(email, password, role, node_code, name=name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    node = f" at {user.node.code}" if user.node else ""
    click.echo(f"Created {user.role.value} {user.email}{node}.")


@strains_cli.command("import")
@click.argument("file", type=click.File("rb"))
def import_strains_cmd(file):
    """Import catalogue strains from a CSV file (all rows or none)."""
    from .catalogue.importer import ImportFailed, import_csv

    data = file.read()
    try:
        with click.progressbar(length=max(data.count(b"\n"), 1), label="Importing", file=sys.stderr) as bar:
            count = import_csv(data, progress=bar.update)
    except ImportFailed as exc:
        for err in exc.errors:
            click.echo(err, err=True)
        raise click.ClickException(
            f"{len(exc.errors)} problem(s) found; nothing was imported from {file.name}."
        ) from None
    click.echo(f"Imported {count} strain(s) from {file.name}.")


@click.command("seed-demo")
@not_in_production("seed-demo")
def seed_demo_cmd():
    """Load demo nodes, deleters, strains, price lists and users (idempotent)."""
    from .seed import seed_demo

    seed_demo()
    click.echo("Demo data loaded.")


@click.command("seed-if-empty")
@not_in_production("seed-if-empty")
def seed_if_empty_cmd():
    """Load demo data only when the database holds no node yet (used by make run)."""
    from sqlalchemy import func, select

    from .catalogue.models import Node
    from .seed import seed_demo

    if db.session.scalar(select(func.count()).select_from(Node)):
        click.echo("Database already has data; demo data not loaded.")
        return
    seed_demo()
    click.echo("Demo data loaded into the empty database.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(strains_cli)
    app.cli.add_command(seed_demo_cmd)
    app.cli.add_command(seed_if_empty_cmd)
