"""The lifecycle diagram: Graphviz DOT read from the machine in `workflows.lifecycle`, drawn by
`dot -Tsvg` (Debian package `graphviz`).

Nothing here lists states or edges: they are read from the machine, and named for people with
`STATE_LABELS` / `TRIGGER_LABELS`. Events fired from many states (hold, cancel) or into many
states (resume) are drawn once, dashed, through an "any open state" box. The SVG depends only
on the machine, so it is rendered once per process."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass

from . import lifecycle

ANY = "__any_open"
ANY_LABEL = "Any open state"
GROUP_MIN = 3  # an event with this many sources (or targets from one source) is drawn grouped
FONT = "DejaVu Sans"


class DiagramUnavailable(RuntimeError):
    """Graphviz's `dot` is missing or failed."""


@dataclass(frozen=True)
class Edge:
    trigger: str
    source: str
    dest: str
    condition: str | None  # "more steps", "last step", "to the state held"

    @property
    def label(self) -> str:
        words = lifecycle.TRIGGER_LABELS[self.trigger]
        return f"{words} ({self.condition})" if self.condition else words


def _condition(transition) -> str | None:
    words = []
    for cond in transition.conditions:
        word = getattr(cond.func, "when" if cond.target else "unless", None)
        if word:
            words.append(word)
    return ", ".join(words) or None


def edges() -> tuple[list[Edge], list[Edge]]:
    """(simple edges, grouped edges) of every transition of the machine."""
    simple: list[Edge] = []
    grouped: list[Edge] = []
    for trigger, event in lifecycle.machine.events.items():
        found = [
            Edge(trigger, source, t.dest, _condition(t))
            for source, transitions in event.transitions.items()
            for t in transitions
            if t.dest is not None
        ]  # an internal transition (no dest) draws no edge
        sources = {e.source for e in found}
        dests = {e.dest for e in found}
        if (len(sources) >= GROUP_MIN and len(dests) == 1) or (len(sources) == 1 and len(dests) >= GROUP_MIN):
            grouped.extend(found)
        else:
            simple.extend(found)
    return simple, grouped


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot() -> str:
    """Graphviz DOT of every transition: top to bottom, so it reads on a phone."""
    m = lifecycle.machine
    final = {name for name, st in m.states.items() if getattr(st, "final", False)}
    simple, grouped = edges()
    out = [
        "digraph request_lifecycle {",
        '  graph [rankdir=TB, nodesep=0.35, ranksep=0.42, bgcolor="transparent", '
        f'fontname="{FONT}", label="", id="lifecycle"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#e6f2f7", color="#0b5e7e", '
        f'fontcolor="#1d2733", fontname="{FONT}", fontsize=12, margin="0.14,0.06", height=0.4];',
        f'  edge [color="#3d4b5c", fontcolor="#3d4b5c", fontname="{FONT}", fontsize=10, arrowsize=0.7];',
    ]
    for name in m.states:
        attrs = {
            "label": lifecycle.STATE_LABELS[name],
            "id": f"state-{name}",
            "class": "state final" if name in final else "state",
        }
        if name in final:
            attrs.update(peripheries="2", fillcolor="#eef1f5")
        if name == m.initial:
            attrs.update(penwidth="2")
        out.append(f"  {_q(name)} [" + ", ".join(f"{k}={_q(v)}" for k, v in attrs.items()) + "];")
    if grouped:
        out.append(
            f'  {_q(ANY)} [label={_q(ANY_LABEL)}, id="state-any", class="any", '
            'style="rounded,dashed", fillcolor="#ffffff", fontcolor="#5b6b7c"];'
        )
    for e in simple:
        back = lifecycle.STATES.index(e.dest) < lifecycle.STATES.index(e.source)
        extra = ', constraint=false, color="#9a5b00", fontcolor="#7a4800"' if back else ""
        out.append(
            f'  {_q(e.source)} -> {_q(e.dest)} [label={_q(e.label)}, id="edge-{e.trigger}-{e.source}-{e.dest}"{extra}];'
        )
    seen: set[tuple[str, str, str]] = set()
    for e in grouped:  # one dashed edge per event, through the "any open state" box
        many_sources = sum(1 for g in grouped if g.trigger == e.trigger and g.dest == e.dest) > 1
        src, dst = (ANY, e.dest) if many_sources else (e.source, ANY)
        if (e.trigger, src, dst) in seen:
            continue
        seen.add((e.trigger, src, dst))
        out.append(
            f"  {_q(src)} -> {_q(dst)} [label={_q(e.label)}, style=dashed, "
            f'color="#5b6b7c", id="edge-{e.trigger}-grouped"];'
        )
    out.append("}")
    return "\n".join(out) + "\n"


@functools.lru_cache(maxsize=1)
def to_svg() -> str:
    """The diagram as an SVG element to embed in a page (no XML prolog, no inline style)."""
    dot = shutil.which("dot")
    if not dot:
        raise DiagramUnavailable("Graphviz is not installed (apt-get install graphviz)")
    try:
        res = subprocess.run([dot, "-Tsvg"], input=to_dot(), capture_output=True, text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise DiagramUnavailable(f"Graphviz failed: {exc}") from None
    svg = res.stdout[res.stdout.index("<svg") :]
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
    # scale with the page: keep the viewBox, drop the fixed size in points
    svg = re.sub(
        r'<svg width="[^"]*" height="[^"]*"', '<svg role="img" aria-labelledby="lifecycle-title"', svg, count=1
    )
    svg = svg.replace(
        '<g id="lifecycle" class="graph"',
        '<title id="lifecycle-title">The request lifecycle: '
        "every state and the actions that move a request between them</title>\n"
        '<g id="lifecycle" class="graph"',
        1,
    )
    return svg
