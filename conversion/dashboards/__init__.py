"""Dashboards for coordinators and node staff: counts, time in state, overdue requests, charts,
and the estimated completion date shown on request pages."""

import click


def init_app(app):
    from ..registry import add_links
    from ..requests.signals import request_changed
    from . import views
    from .metrics import record_visit

    app.register_blueprint(views.bp)
    request_changed.connect(record_visit)  # the time-in-state histogram, in the transition's transaction
    app.cli.add_command(rebuild_dashboard_cmd)
    for role in ("coordinator", "staff"):
        add_links(
            app,
            role,
            nav=("Dashboard", "dashboards.dashboard"),
            home=("Dashboard: counts, overdue, charts", "dashboards.dashboard"),
        )
    add_links(
        app,
        "coordinator",
        home=("Derived alleles for MGI: the report of archived derivatives (TSV)", "api_archive.derived_alleles"),
    )


@click.command("rebuild-dashboard")
def rebuild_dashboard_cmd():
    """Recompute the dashboard's time-in-state histogram and its counts from the requests and their
    history (after a restore or rows written outside the app; transitions keep them up to date),
    and what the request pages' completion estimates learnt per node and recipe."""
    from ..extensions import db
    from ..requests.estimates import rebuild as rebuild_learnt
    from ..requests.tallies import rebuild
    from .metrics import rebuild_state_durations

    visits = rebuild_state_durations()
    requests = rebuild()
    learnt = rebuild_learnt()
    db.session.commit()
    click.echo(
        f"Time in state: {visits} finished visits counted. Counts: {requests} requests tallied. "
        f"Estimates: {learnt} node and recipe pairs learnt."
    )
