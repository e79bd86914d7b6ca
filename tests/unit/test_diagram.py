"""The lifecycle diagram is drawn from the machine and is a self-contained, readable SVG."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from workflows.diagram import to_dot, to_svg
from workflows.lifecycle import STATES, TRIGGERS, machine

SVG_NS = "{http://www.w3.org/2000/svg}"


def _texts(root) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{SVG_NS}text")]


def test_svg_parses_and_names_every_state_and_trigger():
    svg = to_svg()
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    texts = " ".join(_texts(root))
    for state in STATES:
        assert re.search(rf"(?<![\w]){state}(?![\w])", texts), state
    for trigger in TRIGGERS:
        assert trigger in texts, trigger
    boxes = [g.get("data-state") for g in root.iter(f"{SVG_NS}g") if g.get("data-state") in STATES]
    assert sorted(boxes) == sorted(STATES)


def test_svg_is_self_contained_and_fits():
    svg = to_svg()
    root = ET.fromstring(svg)
    assert not any(el.tag in (f"{SVG_NS}script", f"{SVG_NS}image", f"{SVG_NS}style", f"{SVG_NS}foreignObject")
                   for el in root.iter())
    assert "href" not in svg and "@import" not in svg and "@font-face" not in svg
    assert re.findall(r"url\(([^)]*)\)", svg) and all(u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", svg))
    assert svg.count("http://") == 1  # the xmlns only
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    assert 800 <= width <= 1100 and height < 800


def test_boxes_do_not_overlap():
    root = ET.fromstring(to_svg())
    rects = []
    for g in root.iter(f"{SVG_NS}g"):
        if g.get("data-state"):
            r = g.find(f"{SVG_NS}rect")
            rects.append(tuple(float(r.get(k)) for k in ("x", "y", "width", "height")))
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]


def test_main_path_runs_left_to_right_in_rows():
    root = ET.fromstring(to_svg())
    where = {}
    for g in root.iter(f"{SVG_NS}g"):
        r = g.find(f"{SVG_NS}rect")
        if g.get("data-state"):
            where[g.get("data-state")] = (float(r.get("y")), float(r.get("x")))
    main = ["submitted", "approved", "assigned", "accepted", "rederivation", "breeding", "qc",
            "cryopreservation", "ready", "shipped", "completed"]
    assert [where[s] for s in main] == sorted(where[s] for s in main)
    for side in ("rejected", "cancelled", "on_hold"):
        assert where[side][0] < where["submitted"][0]  # in the band above the main path


def test_dot_has_every_transition_of_the_machine():
    dot = to_dot()
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            for t in transitions:
                assert re.search(rf'"{source}" -> "{t.dest}" \[label="{trigger}[" (]', dot), (trigger, source, t.dest)
