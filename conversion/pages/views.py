"""Landing page, role home pages, the lifecycle diagram."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

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


def _menu_items(role: str | None, endpoint: str | None) -> list[dict]:
    """The top bar: links, and menus grouping a role's links (it fits a 1280 px screen)."""
    links = [link for link in (nav_links(current_app, role) if role else []) if link[1] not in ACCOUNT_MENU]
    size: dict[str | None, int] = {}
    for _, target in links:
        group = NAV_GROUPS.get(target)
        size[group] = size.get(group, 0) + 1
    items: list[dict] = []
    groups: dict[str, dict] = {}
    for title, target in links:
        group = NAV_GROUPS.get(target)
        current = endpoint == target
        if group and size[group] > 1:
            if group not in groups:
                groups[group] = {"title": group, "links": [], "current": False}
                items.append(groups[group])
            groups[group]["links"].append((title, target))
            groups[group]["current"] |= current
        else:
            items.append({"title": title, "endpoint": target, "current": current})
    return [i for i in items if "links" not in i] + [i for i in items if "links" in i]


_CURRENT = ' aria-current="page"'
_BARS: dict[tuple, tuple[str, str, str, str]] = {}


def _bar_parts(role: str | None, endpoint: str | None) -> tuple[str, str, str, str]:
    """The top bar's text that is the same for every user of a role on a page (per script root):
    its menus, and the links of the signed-in user's menu (the layout's loops, built once)."""
    from ..urls import fixed_url_for as url

    key = (request.script_root, role, endpoint)
    parts = _BARS.get(key)
    if parts is not None:
        return parts
    catalogue = _CURRENT if endpoint and endpoint.startswith("catalogue.") else ""
    workflow = _CURRENT if endpoint == "pages.workflow" else ""
    out = [
        f'  <a class="brand" href="{escape(url("pages.home"))}"><img src="{escape(url("static", filename="favicon.svg"))}"'
        ' alt="" width="24" height="24"> EMMA <span>allele conversions</span></a>\n'
        '  <nav aria-label="Main">\n'
        f'    <a href="{escape(url("catalogue.search"))}"{catalogue}>Catalogue</a>\n'
        f'    <a href="{escape(url("pages.workflow"))}"{workflow}>Workflow</a>\n'
        "    \n"  # where the layout had an empty nav block
        "    "
    ]
    for item in _menu_items(role, endpoint):
        current = _CURRENT if item["current"] else ""
        if "links" in item:
            links = "".join(
                f'<li><a href="{escape(url(target))}"{_CURRENT if endpoint == target else ""}>{escape(title)}</a></li>'
                for title, target in item["links"]
            )
            out.append(
                f'\n      \n      <details class="menu">\n        <summary{current}>{escape(item["title"])}</summary>\n'
                f"        <ul>{links}</ul>\n      </details>\n      \n    "
            )
        else:
            out.append(
                f'\n      \n      <a href="{escape(url(item["endpoint"]))}"{current}>{escape(item["title"])}</a>\n      \n    '
            )
    out.append("\n    ")
    account = "".join(
        f'<li><a href="{escape(url(target))}">{escape(title)}</a></li>'
        for title, target in (nav_links(current_app, role) if role else [])
        if target in ACCOUNT_MENU
    )
    parts = ("".join(out), account, escape(url("accounts.account")), escape(url("accounts.logout")))
    if len(_BARS) < 1_000:
        _BARS[key] = parts
    return parts


def topbar() -> Markup:
    """The layout's top bar from its brand link to the end of its menus: the links, the role's
    menus and the signed-in user's menu (or the sign-in link), as base.html rendered them, built
    here: every page shows them."""
    from ..urls import fixed_url_for as url

    user = current_user._get_current_object()
    if not user.is_authenticated:
        return Markup(
            f'{_bar_parts(None, request.endpoint)[0]}\n      <a class="button" href="{escape(url("accounts.login"))}">Sign in</a>\n    \n  </nav>'
        )
    role = user.role.value
    menus, account, account_url, logout_url = _bar_parts(role, request.endpoint)
    email = escape(user.email)
    node = user.node
    return Markup(
        f'{menus}\n      <details class="menu who-menu">\n'
        f'        <summary title="Signed in as {email}">{escape(user.display_name)}</summary>\n'
        f"        <ul>\n"
        f'          <li class="menu-note">{email}<br>{escape(role)}{f" · {escape(node.code)}" if node else ""}</li>\n'
        f'          <li><a href="{account_url}">Your account</a></li>\n'
        f"          {account}\n"
        f'          <li><form method="post" action="{logout_url}"><input name="csrf_token" type="hidden"'
        f' value="{escape(generate_csrf())}"><button type="submit" class="linklike">Sign out</button></form></li>\n'
        f"        </ul>\n      </details>\n    \n  </nav>"
    )


@bp.app_context_processor
def _nav():
    def role_nav_links():
        if not current_user.is_authenticated:
            return []
        return nav_links(current_app, current_user.role.value)

    return {"nav_links": role_nav_links, "topbar": topbar}


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
