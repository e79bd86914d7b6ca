"""The lifecycle diagram, drawn from the machine in `workflows.lifecycle` (SVG and DOT).

Nothing here lists states or edges: they are read from the machine. Layout: the main path
(initial state to the farthest final state) runs left to right in rows; other states sit in
a band above; events fired from many states (hold, cancel) or into many states (resume) are
drawn once, dashed, through an "any open state" box."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from xml.sax.saxutils import escape

from . import lifecycle

BOX_W, BOX_H, GAP, MARGIN = 116, 44, 96, 24
BAND_Y = MARGIN
ROW0_Y = BAND_Y + BOX_H + 84
ROW_PITCH = BOX_H + 110
WRAP_DY = 86
LINE_H = 12
CHAR_W = 5.9
ANY = "any open state"
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif\""
GROUP_MIN = 3  # an event with this many sources (or targets from one source) is drawn grouped


@dataclass(frozen=True)
class Edge:
    trigger: str
    source: str
    dest: str
    label: str  # trigger plus condition, e.g. "pass_qc (more steps)"


def _condition_label(transition) -> str | None:
    words = []
    for cond in transition.conditions:
        word = getattr(cond.func, "when" if cond.target else "unless", None)
        if word:
            words.append(word)
    return ", ".join(words) or None


def _graph():
    """(states, final set, initial, simple edges, groups) read from the machine."""
    m = lifecycle.machine
    states = list(m.states)
    final = {name for name, st in m.states.items() if getattr(st, "final", False)}
    simple: list[Edge] = []
    groups: list[dict] = []
    for trigger, event in m.events.items():
        edges = []
        for source, transitions in event.transitions.items():
            for t in transitions:
                cond = _condition_label(t)
                edges.append(Edge(trigger, source, t.dest, f"{trigger} ({cond})" if cond else trigger))
        sources = {e.source for e in edges}
        dests = {e.dest for e in edges}
        if len(sources) >= GROUP_MIN and len(dests) == 1:
            groups.append({"trigger": trigger, "kind": "in", "state": dests.pop(), "others": sources,
                           "edges": edges})
        elif len(sources) == 1 and len(dests) >= GROUP_MIN:
            conds = {e.label for e in edges}
            groups.append({"trigger": trigger, "kind": "out", "state": sources.pop(), "others": dests,
                           "edges": edges, "when": _common_condition(trigger, conds)})
        else:
            simple.extend(edges)
    return states, final, m.initial, simple, groups


def _common_condition(trigger: str, labels: set[str]) -> str | None:
    words = {lab[len(trigger):].strip(" ()") for lab in labels}
    return words.pop() if len(words) == 1 and "" not in words else None


def _main_path(initial: str, final: set[str], simple: list[Edge]) -> list[str]:
    nxt: dict[str, list[str]] = {}
    for e in simple:
        nxt.setdefault(e.source, []).append(e.dest)
    parent, dist, queue = {initial: None}, {initial: 0}, deque([initial])
    while queue:
        s = queue.popleft()
        for d in nxt.get(s, []):
            if d not in dist:
                dist[d], parent[d] = dist[s] + 1, s
                queue.append(d)
    end = max((s for s in dist if s in final), key=lambda s: dist[s], default=initial)
    path = [end]
    while parent[path[-1]] is not None:
        path.append(parent[path[-1]])
    return path[::-1]


def _describe(states: set[str], all_states: list[str], final: set[str]) -> str:
    open_states = [s for s in all_states if s not in final]
    if states == set(open_states):
        return ""
    left_out = [s for s in open_states if s not in states]
    if states < set(open_states) and len(left_out) <= 2:
        return "not from " + ", ".join(left_out)
    return "from " + ", ".join(s for s in all_states if s in states)


def to_dot() -> str:
    """Graphviz DOT of every transition (grouped events dashed)."""
    states, final, initial, simple, groups = _graph()
    out = ["digraph request_lifecycle {", "  rankdir=LR;",
           '  node [shape=box, style="rounded,filled", fillcolor="#eef4fb", fontname="Helvetica"];',
           '  edge [fontname="Helvetica", fontsize=10];',
           '  __start [shape=point, label=""];', f'  __start -> "{initial}";']
    for s in states:
        attrs = ' [peripheries=2, fillcolor="#eeeeee"]' if s in final else ""
        out.append(f'  "{s}"{attrs};')
    for e in simple:
        out.append(f'  "{e.source}" -> "{e.dest}" [label="{e.label}"];')
    for g in groups:
        for e in g["edges"]:
            out.append(f'  "{e.source}" -> "{e.dest}" [label="{e.label}", style=dashed, color="#888888"];')
    out.append("}")
    return "\n".join(out) + "\n"


# ---- SVG ------------------------------------------------------------------------
def _wrap(label: str, width: float) -> list[str]:
    """Split a label at underscores and spaces into lines about `width` px wide; a condition
    in brackets goes on its own line."""
    if " (" in label:
        head, tail = label.split(" (", 1)
        return _wrap(head, width) + ["(" + tail]
    parts, cur = [], ""
    for ch in label:
        cur += ch
        if ch in "_ ":
            parts.append(cur)
            cur = ""
    if cur:
        parts.append(cur)
    lines, line = [], ""
    for part in parts:
        if line and len(line + part) * CHAR_W > width:
            lines.append(line.rstrip())
            line = part
        else:
            line += part
    if line:
        lines.append(line.rstrip())
    return lines


class _Svg:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, item: str) -> None:
        self.items.append(item)

    def text(self, x: float, y: float, lines: list[str], *, anchor="middle", size=10.5, color="#333",
             weight="normal", up: bool = False, halo: bool = True) -> None:
        """Lines starting at baseline y (or ending there when `up`)."""
        if up:
            y -= LINE_H * (len(lines) - 1)
        halo_attrs = ' stroke="#ffffff" stroke-width="3.5" paint-order="stroke" stroke-linejoin="round"' if halo else ""
        spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else LINE_H}">{escape(s)}</tspan>'
                        for i, s in enumerate(lines))
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
                 f'font-weight="{weight}" fill="{color}"{halo_attrs}>{spans}</text>')

    def path(self, d: str, *, dashed=False, title: str = "") -> None:
        color = "#8a8a8a" if dashed else "#4a5563"
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        marker = "wf-arrow-dashed" if dashed else "wf-arrow"
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.add(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="1.6"{dash} '
                 f'marker-end="url(#{marker})">{tip}</path>')


def to_svg() -> str:
    """A self-contained SVG of the lifecycle (no scripts, no external fonts or files)."""
    states, final, initial, simple, groups = _graph()
    main = _main_path(initial, final, simple)
    pos_index = {s: i for i, s in enumerate(main)}

    def crossings(n: int) -> int:
        return sum(1 for e in simple if e.source in pos_index and e.dest in pos_index
                   and pos_index[e.dest] < pos_index[e.source]
                   and pos_index[e.dest] // n != pos_index[e.source] // n)

    per_row = min((5, 4, 3), key=lambda n: (crossings(n), -n))
    width = 2 * MARGIN + per_row * BOX_W + (per_row - 1) * GAP

    pos: dict[str, tuple[float, float]] = {}
    for i, s in enumerate(main):
        row, col = divmod(i, per_row)
        pos[s] = (MARGIN + col * (BOX_W + GAP), ROW0_Y + row * ROW_PITCH)
    rows = (len(main) - 1) // per_row + 1

    # the band above: side states above their source, then the group box and grouped states
    def col_x(col: int) -> float:
        return MARGIN + col * (BOX_W + GAP)

    taken: set[int] = set()
    group_states = [g["state"] for g in groups]
    side = [s for s in states if s not in pos and s not in group_states]
    for s in side:
        src = next((e.source for e in simple if e.dest == s and e.source in pos), None)
        want = round((pos[src][0] - MARGIN) / (BOX_W + GAP)) if src else 0
        col = next(c for c in list(range(want, per_row)) + list(range(per_row)) if c not in taken)
        taken.add(col)
        pos[s] = (col_x(col), BAND_Y)
    free = [c for c in range(per_row) if c not in taken]
    any_col = free[1] if len(free) > 2 else free[0]
    any_pos = (col_x(any_col), BAND_Y)
    order = sorted(free, key=lambda c: (abs(c - any_col), c))
    order.remove(any_col)
    for g in sorted(groups, key=lambda g: g["kind"] == "out"):  # fan-in targets first
        if g["state"] not in pos:
            pos[g["state"]] = (col_x(order.pop(0)), BAND_Y) if order else (col_x(per_row - 1), BAND_Y)

    svg = _Svg()
    bottom = ROW0_Y + (rows - 1) * ROW_PITCH + BOX_H

    # edges between individually drawn states, merged per (source, dest)
    merged: dict[tuple[str, str], list[Edge]] = {}
    for e in simple:
        merged.setdefault((e.source, e.dest), []).append(e)
    for (src, dst), edges in merged.items():
        labels = [e.label for e in edges]
        title = ", ".join(dict.fromkeys(e.trigger for e in edges)) + f": {src} -> {dst}"
        (sx, sy), (dx, dy) = pos[src], pos[dst]
        i, j = pos_index.get(src), pos_index.get(dst)
        if i is not None and j is not None and j == i + 1 and sy == dy:  # forward, same row
            y = sy + BOX_H / 2
            svg.path(f"M{sx + BOX_W:.1f},{y:.1f} H{dx - 2:.1f}", title=title)
            svg.text((sx + BOX_W + dx) / 2, y - 5, sum((_wrap(lab, GAP - 6) for lab in labels), []), up=True)
        elif i is not None and j is not None and j == i + 1:  # forward, next row
            x1, x2 = sx + BOX_W / 2, dx + BOX_W / 2
            wy = sy + BOX_H + WRAP_DY
            svg.path(f"M{x1:.1f},{sy + BOX_H:.1f} V{wy:.1f} H{x2:.1f} V{dy - 2:.1f}", title=title)
            svg.text((x1 + x2) / 2, wy - 5, labels, up=True)
        elif i is not None and j is not None and j < i and sy == dy:  # backwards, same row: arc below
            x1, x2, y = sx + BOX_W * 0.3, dx + BOX_W * 0.7, sy + BOX_H
            depth = 34 + 10 * (i - j - 1)
            svg.path(f"M{x1:.1f},{y:.1f} C{x1:.1f},{y + depth:.1f} {x2:.1f},{y + depth:.1f} {x2:.1f},{y + 2:.1f}",
                     title=title)
            svg.text((x1 + x2) / 2, y + depth * 0.75 + 12, labels)
        elif dy == BAND_Y and sx == dx:  # up into the band, straight
            x = sx + BOX_W / 2
            svg.path(f"M{x:.1f},{sy:.1f} V{dy + BOX_H + 2:.1f}", title=title)
            svg.text(x + 6, (sy + dy + BOX_H) / 2 + 4, labels, anchor="start")
        else:  # anything else: a curve from box centre to box centre edge
            x1, y1 = sx + BOX_W / 2, sy + (0 if dy < sy else BOX_H)
            x2, y2 = dx + BOX_W / 2, dy + (BOX_H + 2 if dy < sy else -2)
            my = (y1 + y2) / 2
            svg.path(f"M{x1:.1f},{y1:.1f} C{x1:.1f},{my:.1f} {x2:.1f},{my:.1f} {x2:.1f},{y2:.1f}", title=title)
            svg.text((x1 + x2) / 2 + 6, my, labels, anchor="start")

    # grouped events, dashed, through the "any open state" box
    notes = []
    for g in groups:
        target = pos[g["state"]]
        ax, tx, y = any_pos[0], target[0], BAND_Y + BOX_H / 2
        detail = _describe(g["others"], states, final)
        if g["kind"] == "in":
            label = g["trigger"] + (f" ({detail})" if detail else "")
            notes.append(f"{g['trigger']}: from {detail.replace('not from', 'any open state except') if detail else ANY}"
                         f" to {g['state']}")
            if tx > ax:
                d, lx = f"M{ax + BOX_W:.1f},{y:.1f} H{tx - 2:.1f}", (ax + BOX_W + tx) / 2
            else:
                d, lx = f"M{ax:.1f},{y:.1f} H{tx + BOX_W + 2:.1f}", (ax + tx + BOX_W) / 2
            svg.path(d, dashed=True, title=f"{g['trigger']}: {ANY} -> {g['state']}")
            svg.text(lx, y - 5, _wrap(label, GAP - 6), up=True, color="#555")
        else:
            when = g.get("when") or ", ".join(sorted(g["others"]))
            notes.append(f"{g['trigger']}: from {g['state']} {when}")
            x1, x2, yb = tx + BOX_W * 0.3, ax + BOX_W * 0.7, BAND_Y + BOX_H
            if x1 < x2:
                x1, x2 = tx + BOX_W * 0.7, ax + BOX_W * 0.3
            svg.path(f"M{x1:.1f},{yb:.1f} C{x1:.1f},{yb + 36:.1f} {x2:.1f},{yb + 36:.1f} {x2:.1f},{yb + 2:.1f}",
                     dashed=True, title=f"{g['trigger']}: {g['state']} -> {when}")
            svg.text((x1 + x2) / 2, yb + 40, [f"{g['trigger']}", f"({when})"], color="#555")

    # boxes on top of the lines
    boxes = []
    for s in states:
        x, y = pos[s]
        fill, stroke = ("#eeeeee", "#555555") if s in final else (
            ("#fff4d6", "#b7862b") if s in group_states else ("#eaf2fb", "#3b6ea8"))
        boxes.append(f'<g data-state="{escape(s)}"><title>{escape(s)}'
                     f'{" (final)" if s in final else ""}</title>'
                     f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="10" fill="{fill}" '
                     f'stroke="{stroke}" stroke-width="1.6"/>')
        if s in final:
            boxes.append(f'<rect x="{x + 3}" y="{y + 3}" width="{BOX_W - 6}" height="{BOX_H - 6}" rx="8" '
                         f'fill="none" stroke="{stroke}" stroke-width="1"/>')
        boxes.append(f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2 + 4.5}" text-anchor="middle" '
                     f'font-size="13" font-weight="600" fill="#1d2733">{escape(s)}</text></g>')
    if groups:
        x, y = any_pos
        boxes.append(f'<g data-state="{ANY}"><title>Every open state</title>'
                     f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="22" fill="#ffffff" '
                     f'stroke="#8a8a8a" stroke-width="1.4" stroke-dasharray="6 4"/>'
                     f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2 + 4}" text-anchor="middle" font-size="12" '
                     f'font-style="italic" fill="#444">{ANY}</text></g>')
    # start marker: a dot and arrow into the initial state
    ix, iy = pos[initial]
    start = (f'<circle cx="{ix + 10}" cy="{iy - 26}" r="5" fill="#1d2733"/>'
             f'<path d="M{ix + 10},{iy - 21} V{iy - 2}" stroke="#1d2733" stroke-width="1.6" '
             f'marker-end="url(#wf-arrow)"/>')

    legend_y = bottom + 40
    legend = [f"A request starts in '{initial}'. Double borders mark final states: "
              + ", ".join(s for s in states if s in final) + "."]
    legend += [f"Dashed: {n}." for n in notes]
    svg.text(MARGIN, legend_y, legend, anchor="start", size=11.5, color="#444", halo=False)
    height = legend_y + LINE_H * (len(legend) - 1) + MARGIN

    defs = "".join(
        f'<marker id="{mid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
        for mid, color in (("wf-arrow", "#4a5563"), ("wf-arrow-dashed", "#8a8a8a")))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" '
            f'width="{width}" height="{height:.0f}" role="img" aria-labelledby="wf-title wf-desc" '
            f'style="max-width:100%;height:auto" {FONT}>'
            f'<title id="wf-title">Request lifecycle</title>'
            f'<desc id="wf-desc">States of a conversion request and the triggers that move it, '
            f'drawn from the state machine.</desc><defs>{defs}</defs>'
            f'<rect width="100%" height="100%" fill="#ffffff"/>'
            + "".join(svg.items) + start + "".join(boxes) + "</svg>\n")
