"""SVG charts (pygal), served as images: no JavaScript, no external assets."""
from __future__ import annotations

import re

import pygal
from pygal.style import Style

from workflows.lifecycle import OPEN_STATES

from ..requests.present import state_label

STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#1d2733",
    foreground_strong="#1d2733", foreground_subtle="#d8dee6", opacity=".85", opacity_hover=".95",
    colors=("#0b5e7e", "#1f7a3a", "#9a5b00", "#b3261e", "#6a4c93"),
    font_family="DejaVu Sans, Arial, sans-serif", label_font_size=12, major_label_font_size=12,
    legend_font_size=13, title_font_size=15, value_font_size=11, tooltip_font_size=12,
    no_data_font_size=20, guide_stroke_color="#e3e8ee", major_guide_stroke_color="#c9d2dc",
)
COMMON = dict(style=STYLE, js=[], width=760, height=340, legend_at_bottom=True, legend_at_bottom_columns=2,
              print_values=False, show_y_guides=True, margin=16, truncate_label=-1,
              no_data_text="Nothing measured yet")


def _render(chart) -> bytes:
    """The SVG without pygal's inline config script (tooltips need JS we do not serve)."""
    return re.sub(rb"<script.*?</script>", b"", chart.render(), flags=re.S)


def throughput_svg(rows: list[tuple[str, int, int]]) -> bytes:
    chart = pygal.Bar(title="Requests per month", x_label_rotation=-40, y_title="requests",
                      **COMMON)
    chart.x_labels = [month for month, _, _ in rows]
    chart.add("Submitted", [s for _, s, _ in rows])
    chart.add("Completed", [c for _, _, c in rows])
    return _render(chart)


def time_in_state_svg(durations: dict[str, list[float]]) -> bytes:
    chart = pygal.Box(title="Time in each state (weeks)", box_mode="tukey", y_title="weeks",
                      x_label_rotation=-30, show_legend=False, **COMMON)
    states = [s for s in OPEN_STATES if durations.get(s)]
    chart.x_labels = [state_label(s) for s in states]
    for state in states:
        chart.add(state_label(state), [round(d / 7, 2) for d in durations[state]])
    if not states:
        chart.add("No finished state yet", [])
    return _render(chart)
