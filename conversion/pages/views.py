"""Landing page, role home pages, the lifecycle diagram."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user

from ..catalogue.operations import search_strains
from ..registry import home_cards, nav_links

bp = Blueprint("pages", __name__)


NAV_GROUPS: dict[str, str] = {
    "invoices.index": "Billing",
    "invoices.prices": "Billing",
    "accounts.users": "Admin",
    "accounts.accounts": "Admin",
    "accounts.security_events": "Admin",
}
"""Top-bar links shown under a menu (when the role has more than one link of that group)."""
ACCOUNT_MENU = ("notifications.settings",)
"""Top-bar links shown in the signed-in user's menu instead."""


@bp.app_context_processor
def _nav():
    def role_nav_links():
        if not current_user.is_authenticated:
            return []
        return nav_links(current_app, current_user.role.value)

    def nav_menu() -> list[dict]:
        """The top bar: links, and menus grouping a role's links (it fits a 1280 px screen)."""
        links = [link for link in role_nav_links() if link[1] not in ACCOUNT_MENU]
        size = {}
        for _, endpoint in links:
            group = NAV_GROUPS.get(endpoint)
            size[group] = size.get(group, 0) + 1
        items, groups = [], {}
        for title, endpoint in links:
            group = NAV_GROUPS.get(endpoint)
            current = request.endpoint == endpoint
            if group and size[group] > 1:
                if group not in groups:
                    groups[group] = {"title": group, "links": [], "current": False}
                    items.append(groups[group])
                groups[group]["links"].append((title, endpoint))
                groups[group]["current"] |= current
            else:
                items.append({"title": title, "endpoint": endpoint, "current": current})
        return [i for i in items if "links" not in i] + [i for i in items if "links" in i]

    def account_links():
        return [link for link in role_nav_links() if link[1] in ACCOUNT_MENU]

    return {"nav_links": role_nav_links, "nav_menu": nav_menu, "account_links": account_links}


LAB_STATES = ("accepted", "rederivation", "breeding", "qc", "cryopreservation")


def _what_waits(user) -> dict:
    """Coordinators and staff: counts of what waits for them, and the overdue requests."""
    from workflows.lifecycle import OPEN_STATES

    from ..dashboards import metrics

    _, _, counts = metrics.counts_by_node_and_state(user)
    by_state = dict.fromkeys(OPEN_STATES, 0)
    for (_, state), n in counts.items():
        if state in by_state:
            by_state[state] += n
    overdue_total, overdue = metrics.overdue(user, limit=8)
    return {
        "by_state": by_state,
        "overdue": overdue,
        "overdue_total": overdue_total,
        "open_total": sum(by_state.values()),
        "in_lab": sum(by_state[s] for s in LAB_STATES),
    }


def _my_requests(user) -> dict:
    """Requesters: their open requests (each with what it waits for) and how many are closed."""
    from workflows.lifecycle import OPEN_STATES

    from ..requests.listing import list_page, read_args

    listing = list_page(user, {**read_args({}), "sort": "updated", "per_page": 100})
    mine = [r for r in listing.items if r.status in OPEN_STATES]
    return {"open": mine, "closed": listing.total - len(mine) if listing.total <= 100 else None, "total": listing.total}


@bp.route("/")
def home():
    q = request.args.get("q", "")[:200]
    if not current_user.is_authenticated:
        return render_template("pages/landing.html", q=q, strains=search_strains(current_user, q, limit=25))
    role = current_user.role.value
    user = current_user._get_current_object()
    waits = _what_waits(user) if role in ("coordinator", "staff") else None
    if role == "coordinator":
        from ..accounts.operations import pending_accounts

        waits["accounts"] = len(pending_accounts())
    mine = _my_requests(user) if role == "requester" else None
    return render_template(
        "pages/home.html", q=q, role=role, waits=waits, mine=mine, sections=home_cards(current_app, role)
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
        sources = sorted(
            {s for s, ts in lifecycle.machine.events[trigger].transitions.items() if ts}, key=lifecycle.STATES.index
        )
        targets = sorted(
            {t.dest for ts in lifecycle.machine.events[trigger].transitions.values() for t in ts},
            key=lifecycle.STATES.index,
        )
        guard = lifecycle.GUARDS.get(trigger)
        rows.append(
            {
                "trigger": trigger,
                "from": sources,
                "to": targets,
                "who": lifecycle.WHO_MAY[trigger].who,
                "comment": trigger in lifecycle.COMMENT_REQUIRED,
                "guard": (guard.__doc__ or "").strip() if guard else "",
            }
        )
    return render_template("pages/workflow.html", svg=svg, rows=rows)


@bp.route("/workflow.svg")
def workflow_svg():
    from workflows.diagram import DiagramUnavailable, to_svg

    try:
        svg = to_svg()
    except DiagramUnavailable:
        abort(404)
    return Response(svg, mimetype="image/svg+xml")
