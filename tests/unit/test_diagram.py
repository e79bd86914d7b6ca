"""The lifecycle diagram is drawn by Graphviz from the machine: every state under its human label,
every transition, nothing the page's Content-Security-Policy would block."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from workflows.diagram import edges, to_dot, to_svg
from workflows.lifecycle import STATE_LABELS, STATES, TRIGGER_LABELS, TRIGGERS, machine

SVG_NS = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(not shutil.which("dot"), reason="graphviz (dot) not installed")


def _texts(root) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{SVG_NS}text")]


def test_dot_has_every_transition_of_the_machine_under_human_labels():
    dot = to_dot()
    simple, grouped = edges()
    drawn = {(e.trigger, e.source, e.dest) for e in simple + grouped}
    every = {
        (trigger, source, t.dest)
        for trigger, event in machine.events.items()
        for source, ts in event.transitions.items()
        for t in ts
    }
    assert drawn == every
    for e in simple:
        assert re.search(rf'"{e.source}" -> "{e.dest}" \[label="{re.escape(e.label)}"', dot), e
    assert {e.trigger for e in grouped} == {"hold", "resume", "cancel"}  # drawn once, via "any open state"
    for state, label in STATE_LABELS.items():
        assert f'"{state}" [label="{label}"' in dot


@needs_dot
def test_svg_names_every_state_and_action_for_people():
    root = ET.fromstring(to_svg())
    assert root.tag == f"{SVG_NS}svg"
    texts = _texts(root)
    for state in STATES:
        assert STATE_LABELS[state] in texts, state
    assert "on_hold" not in texts and "On hold" in texts and "Assigned to a node" in texts
    joined = " ".join(texts)
    for trigger in TRIGGERS:
        assert TRIGGER_LABELS[trigger] in joined, trigger
    boxes = {g.get("id") for g in root.iter(f"{SVG_NS}g") if "state" in (g.get("class") or "").split()}
    assert boxes == {f"state-{s}" for s in STATES}


@needs_dot
def test_svg_is_self_contained_scales_and_has_no_inline_style():
    svg = to_svg()
    root = ET.fromstring(svg)
    assert not any(
        el.tag in (f"{SVG_NS}script", f"{SVG_NS}image", f"{SVG_NS}style", f"{SVG_NS}foreignObject")
        for el in root.iter()
    )
    assert not any("style" in el.attrib for el in root.iter())  # the CSP blocks inline style
    assert "href" not in svg and "<?xml" not in svg and "<!--" not in svg
    assert root.get("width") is None and root.get("viewBox")  # scales to the page
    width = float(root.get("viewBox").split()[2])
    assert width < 600  # drawn top to bottom: readable on a 390 px phone
    assert root.get("role") == "img" and root.find(f"{SVG_NS}title").text.startswith("The request lifecycle")


@needs_dot
def test_svg_is_rendered_once_per_process():
    assert to_svg() is to_svg()
