"""Landing page, role home pages, the lifecycle diagram."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user

from ..catalogue.operations import search_strains

bp = Blueprint("pages", __name__)

HOME_SECTIONS: dict[str, list] = {"requester": [], "staff": [], "coordinator": []}
"""Other domains register (title, endpoint) links shown on each role's home page."""
NAV_LINKS: dict[str, list] = {"requester": [], "staff": [], "coordinator": []}
"""Other domains register (title, endpoint) links shown in the top bar per role."""


@bp.app_context_processor
def _nav():
    def nav_links():
        if not current_user.is_authenticated:
            return []
        return NAV_LINKS.get(current_user.role.value, [])

    return {"nav_links": nav_links}


@bp.route("/")
def home():
    q = request.args.get("q", "")[:200]
    strains = search_strains(current_user, q, limit=25)
    if not current_user.is_authenticated:
        return render_template("pages/landing.html", q=q, strains=strains)
    return render_template(
        "pages/home.html", q=q, strains=strains,
        sections=HOME_SECTIONS.get(current_user.role.value, []),
    )


@bp.route("/workflow")
def workflow():
    from workflows import lifecycle
    from workflows.diagram import DiagramUnavailable, to_svg

    try:
        svg = to_svg()
    except DiagramUnavailable as exc:
        current_app.logger.warning("workflow diagram: %s", exc)
        svg = None
    rows = []
    for trigger in lifecycle.TRIGGERS:
        sources = sorted({s for s, ts in lifecycle.machine.events[trigger].transitions.items() if ts},
                         key=lifecycle.STATES.index)
        targets = sorted({t.dest for ts in lifecycle.machine.events[trigger].transitions.values() for t in ts},
                         key=lifecycle.STATES.index)
        guard = lifecycle.GUARDS.get(trigger)
        rows.append({"trigger": trigger, "from": sources, "to": targets,
                     "who": lifecycle.WHO_MAY[trigger].who,
                     "comment": trigger in lifecycle.COMMENT_REQUIRED,
                     "guard": (guard.__doc__ or "").strip() if guard else ""})
    return render_template("pages/workflow.html", svg=svg, rows=rows)


@bp.route("/workflow.svg")
def workflow_svg():
    from workflows.diagram import DiagramUnavailable, to_svg

    try:
        svg = to_svg()
    except DiagramUnavailable:
        abort(404)
    return Response(svg, mimetype="image/svg+xml")
