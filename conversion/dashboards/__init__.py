"""Dashboards for coordinators and node staff: counts, time in state, overdue requests, charts,
and the estimated completion date shown on request pages."""


def init_app(app):
    from ..registry import add_links
    from . import views

    app.register_blueprint(views.bp)
    for role in ("coordinator", "staff"):
        add_links(app, role, nav=("Dashboard", "dashboards.dashboard"),
                  home=("Dashboard: counts, overdue, charts", "dashboards.dashboard"))
