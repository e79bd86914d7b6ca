"""SVG charts (pygal), served as images: no JavaScript, no external assets."""

from __future__ import annotations

import re

import pygal
from pygal.style import Style

from workflows.lifecycle import OPEN_STATES

from ..requests.present import short_label

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2733",
    foreground_strong="#1d2733",
    foreground_subtle="#d8dee6",
    opacity=".85",
    opacity_hover=".95",
    colors=("#0b5e7e", "#1f7a3a", "#9a5b00", "#b3261e", "#6a4c93"),
    font_family="DejaVu Sans, Arial, sans-serif",
    label_font_size=15,
    major_label_font_size=15,
    legend_font_size=16,
    title_font_size=19,
    value_font_size=14,
    tooltip_font_size=14,
    no_data_font_size=20,
    guide_stroke_color="#e3e8ee",
    major_guide_stroke_color="#c9d2dc",
)
COMMON = dict(
    style=STYLE,
    js=[],
    width=640,
    height=400,
    legend_at_bottom=True,
    legend_at_bottom_columns=2,
    print_values=False,
    show_y_guides=True,
    margin=16,
    truncate_label=-1,
    no_data_text="Nothing measured yet",
)


def _render(chart) -> bytes:
    """The SVG without pygal's inline config script (tooltips need JS we do not serve)."""
    return re.sub(rb"<script.*?</script>", b"", chart.render(), flags=re.S)


def _month(key: str) -> str:
    """2026-03 -> Mar 26"""
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return f"{names[int(key[5:]) - 1]} {key[2:4]}"


def throughput_svg(rows: list[tuple[str, int, int]]) -> bytes:
    top = max([3] + [max(s, c) for _, s, c in rows])
    step = max(1, -(-top // 6))
    chart = pygal.Bar(
        title="Requests per month",
        x_label_rotation=-45,
        range=(0, top),
        y_labels=list(range(0, top + step, step)),
        **COMMON,
    )
    chart.x_labels = [_month(month) for month, _, _ in rows]
    chart.add("Submitted", [s for _, s, _ in rows])
    chart.add("Completed", [c for _, _, c in rows])
    return _render(chart)


def time_in_state_svg(durations: dict[str, list[float]]) -> bytes:
    chart = pygal.Box(
        title="Time in each state (weeks)", box_mode="tukey", x_label_rotation=-35, show_legend=False, **COMMON
    )
    states = [s for s in OPEN_STATES if durations.get(s)]
    chart.x_labels = [short_label(s) for s in states]
    for state in states:
        chart.add(short_label(state), [round(d / 7, 2) for d in durations[state]])
    if not states:
        chart.add("No finished state yet", [])
    return _render(chart)
