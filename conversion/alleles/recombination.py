"""Cre/Flp excision on element tuples, and classification of the result by its structure."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from functools import cache

from .cassettes import CASSETTES, RULES, Rule

Structure = tuple[str, ...]

SITES = {"Cre": "loxP", "Flp": "FRT"}
RECOMBINASES = ("Flp", "Cre")  # breadth-first search order


def site_of(element: str) -> tuple[str, str] | None:
    """("loxP", "+") for "loxP"/"loxP+", ("loxP", "-") for "loxP-"; None if not a site."""
    for kind in SITES.values():
        if element in (kind, kind + "+"):
            return kind, "+"
        if element == kind + "-":
            return kind, "-"
    return None


def count_sites(structure: Sequence[str], kind: str) -> int:
    """How many `kind` ("loxP" or "FRT") sites, either orientation."""
    return sum(1 for e in structure if (site_of(e) or ("",))[0] == kind)


def _first_pair(structure: Sequence[str], kind: str) -> tuple[int, int] | None:
    for i, el in enumerate(structure):
        site = site_of(el)
        if site and site[0] == kind:
            for j in range(i + 1, len(structure)):
                if site_of(structure[j]) == site:
                    return i, j
    return None


def has_pair(structure: Sequence[str], recombinase: str) -> bool:
    """Whether `recombinase` finds two same-orientation sites to recombine."""
    return _first_pair(structure, SITES[recombinase]) is not None


def apply(structure: Sequence[str], recombinase: str) -> Structure:
    """Excise between two same-orientation sites (loxP for Cre, FRT for Flp), leaving the first,
    until no such pair is left. Idempotent."""
    out = tuple(structure)
    while (pair := _first_pair(out, SITES[recombinase])) is not None:
        i, j = pair
        out = out[: i + 1] + out[j + 1 :]
    return out


def flanked(structure: Sequence[str], element: str, kind: str) -> bool:
    """Whether `element` lies between two same-orientation `kind` sites (so it can be excised)."""
    if element not in structure:
        return False
    at = structure.index(element)
    before = {s for s in map(site_of, structure[:at]) if s and s[0] == kind}
    return any(site_of(e) in before for e in structure[at + 1 :])


def matches(rule: Rule, structure: Sequence[str]) -> bool:
    return (
        all(e in structure for e in rule.has)
        and not any(e in structure for e in rule.lacks)
        and (rule.floxed is None or flanked(structure, "CE", "loxP") == rule.floxed)
    )


def rules_of(family: str) -> tuple[Rule, ...]:
    return RULES[CASSETTES[family]["rules"]]


def classify(family: str, structure: Sequence[str]) -> str | None:
    """The MGI class suffix ("a", "e.1", ".1", "") of `structure` in `family`, or None."""
    return next((r.cls for r in rules_of(family) if matches(r, structure)), None)


def reachable(family: str, start: Structure) -> dict[str, list[tuple[str, Structure]]]:
    """Breadth-first: each class reachable from `start` by single Cre/Flp steps through
    classifiable structures -> the shortest path [(recombinase, structure after), ...]."""
    found: dict[str, list[tuple[str, Structure]]] = {}
    start_cls = classify(family, start)
    if start_cls is not None:
        found[start_cls] = []
    seen = {start}
    queue: deque[tuple[Structure, list[tuple[str, Structure]]]] = deque([(start, [])])
    while queue:
        structure, path = queue.popleft()
        for rec in RECOMBINASES:
            nxt = apply(structure, rec)
            cls = classify(family, nxt)
            if nxt in seen or cls is None:
                continue
            seen.add(nxt)
            found.setdefault(cls, path + [(rec, nxt)])
            queue.append((nxt, path + [(rec, nxt)]))
    return found


@cache
def family_classes(family: str) -> dict[str, Structure]:
    """Every class a cassette gives (itself and its Cre/Flp products) -> its structure."""
    start = CASSETTES[family]["elements"]
    return {cls: (path[-1][1] if path else start) for cls, path in reachable(family, start).items()}


def structure_of(family: str, cls: str) -> Structure | None:
    """The structure of class `cls` in `family` (e.g. tm1b = Cre applied to tm1a), or None."""
    return family_classes(family).get(cls)
