"""Dashboards for coordinators and node staff: counts, time in state, overdue requests, charts,
and the estimated completion date shown on request pages."""


def init_app(app):
    from ..pages.views import HOME_SECTIONS, NAV_LINKS
    from . import views

    app.register_blueprint(views.bp)
    for role in ("coordinator", "staff"):
        if ("Dashboard", "dashboards.dashboard") not in NAV_LINKS[role]:
            NAV_LINKS[role].append(("Dashboard", "dashboards.dashboard"))
            HOME_SECTIONS[role].append(("Dashboard: counts, overdue, charts", "dashboards.dashboard"))
