"""Dashboards for coordinators and node staff: counts, time in state, overdue requests, charts,
and the estimated completion date shown on request pages."""


def init_app(app):
    from ..registry import add_links
    from ..requests.signals import request_changed
    from . import views
    from .metrics import record_visit

    app.register_blueprint(views.bp)
    request_changed.connect(record_visit)  # the time-in-state histogram, in the transition's transaction
    for role in ("coordinator", "staff"):
        add_links(app, role, nav=("Dashboard", "dashboards.dashboard"),
                  home=("Dashboard: counts, overdue, charts", "dashboards.dashboard"))
