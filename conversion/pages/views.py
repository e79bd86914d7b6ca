"""Landing page, role home pages, the lifecycle diagram."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from flask_login import current_user

from ..catalogue.operations import search_strains
from ..registry import home_cards, nav_links

bp = Blueprint("pages", __name__)


@bp.app_context_processor
def _nav():
    def role_nav_links():
        if not current_user.is_authenticated:
            return []
        return nav_links(current_app, current_user.role.value)

    return {"nav_links": role_nav_links}


@bp.route("/")
def home():
    q = request.args.get("q", "")[:200]
    strains = search_strains(current_user, q, limit=25)
    if not current_user.is_authenticated:
        return render_template("pages/landing.html", q=q, strains=strains)
    return render_template(
        "pages/home.html", q=q, strains=strains,
        sections=home_cards(current_app, current_user.role.value),
    )


@bp.route("/workflow")
def workflow():
    from workflows.diagram import to_svg
    from workflows import lifecycle

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
    return render_template("pages/workflow.html", svg=to_svg(), rows=rows)


@bp.route("/workflow.svg")
def workflow_svg():
    from workflows.diagram import to_svg

    return Response(to_svg(), mimetype="image/svg+xml")
