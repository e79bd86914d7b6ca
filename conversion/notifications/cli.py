"""flask --app wsgi outbox send | status"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

outbox_cli = AppGroup("outbox", help="The email outbox.")


@outbox_cli.command("send")
@click.option("--limit", default=500, show_default=True, help="At most this many messages per run.")
def send_cmd(limit):
    """Deliver queued emails that are due (run it every minute, e.g. from cron)."""
    from . import operations as ops

    ids = ops.due_ids(limit=limit)
    with click.progressbar(length=len(ids), label="Sending", file=sys.stderr) as bar:
        result = ops.send_pending(ids, progress=bar.update)
    for error in result.errors:
        click.echo(f"Not sent: {error}", err=True)
    left = ops.backlog()
    click.echo(f"Sent {result.sent}, failed {result.failed}; {left} message(s) queued.")
    if result.failed:
        sys.exit(1)


@outbox_cli.command("status")
def status_cmd():
    """How many emails wait to be sent."""
    from . import operations as ops

    click.echo(f"{ops.backlog()} message(s) queued.")
