"""The dashboard page and its SVG charts (coordinators: all nodes; staff: their node)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from workflows.lifecycle import OPEN_STATES, STATES

from ..requests.durations import PER_STEP, TYPICAL_WEEKS
from ..requests.present import date_tag, duration, state_label, weeks
from ..urls import id_url, query_value
from . import charts, metrics

bp = Blueprint("dashboards", __name__)

SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def _viewer():
    if current_user.role.value not in ("coordinator", "staff"):
        abort(403)
    return current_user


@bp.route("/dashboard")
@login_required
def dashboard():
    user = _viewer()
    # four statements: the signed-in user, the tallies (with the converting nodes), the overdue
    # list with its count, the medians
    nodes, states, counts, converting, months = metrics.counts_and_throughput(user)
    states = [s for s in STATES if s in OPEN_STATES or s in states]
    if user.role.value == "coordinator":  # every node that converts, busy or not
        nodes = sorted(set(nodes) | set(converting), key=lambda c: (c == "", c))
    elif not nodes:
        nodes = [user.node.code]
    overdue_total, overdue = metrics.overdue(user)
    times = metrics.median_time_in_state(user)
    total_open = sum(n for (_, state), n in counts.items() if state in OPEN_STATES)
    row_totals = {node: sum(n for (code, _), n in counts.items() if code == node) for node in nodes}
    col_totals = {state: sum(n for (_, s), n in counts.items() if s == state) for state in states}
    # the links, built here rather than by url_for in the template's loop (a call per cell)
    index, quoted = url_for("requests.index"), {v: query_value(v) for v in {*nodes, *states}}
    links = {
        (n, s): f"{index}?status={quoted[s]}&node={quoted[n]}" if n else f"{index}?status={quoted[s]}"
        for (n, s), c in counts.items()
        if c
    }
    return render_template(
        "dashboards/dashboard.html",
        nodes=nodes,
        states=states,
        counts=counts,
        links=links,
        overdue_shown=len(overdue),
        overdue_rows=_overdue_rows(overdue),
        overdue_total=overdue_total,
        times=times,
        total_open=total_open,
        row_totals=row_totals,
        col_totals=col_totals,
        typical=TYPICAL_WEEKS,
        completed_12m=sum(c for _, _, c in months),
        submitted_12m=sum(s for _, s, _ in months),
        scope=("all nodes" if user.role.value == "coordinator" else user.node.code),
        has_throughput=any(s or c for _, s, c in months),
        has_times=any(t["count"] for t in times),
    )


OVERDUE_ROW = """
      <tr><td data-label="Request"><a class="id" href="{show}">{reference}</a></td>
        <td data-label="Node">{node}</td>
        <td data-label="State">{state}</td>
        <td data-label="Since">{since}</td>
        <td data-label="In state"><strong>{days}</strong></td>
        <td data-label="Usually">{usually}</td></tr>"""


def _overdue_rows(overdue: list[metrics.Overdue]) -> Markup:
    """The overdue table's rows, from escaped parts (not ~10 Jinja expressions and filters a row)."""
    show = id_url("requests.show")
    return Markup(
        "".join(
            OVERDUE_ROW.format(
                show=show(o.request_id),
                reference=escape(o.reference),
                node=escape(o.node or "—"),
                state=escape(state_label(o.state)),
                since=date_tag(o.since),
                days=escape(duration(o.days)),
                usually=escape(weeks(o.typical_days)) + (" per step" if o.state in PER_STEP else ""),
            )
            for o in overdue
        )
    )


def _svg(data: bytes) -> Response:
    response = Response(data, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_CSP
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.route("/dashboard/throughput.svg")
@login_required
def throughput_svg():
    return _svg(charts.throughput_svg(metrics.throughput(_viewer())))


@bp.route("/dashboard/time-in-state.svg")
@login_required
def time_in_state_svg():
    return _svg(charts.time_in_state_svg(metrics.time_in_state(_viewer())))
