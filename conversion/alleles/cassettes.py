"""Cassettes and classification rules, as data.

An allele is an ordered tuple of element names, 5'->3'. Recombinase sites are "loxP" and
"FRT", optionally suffixed with their orientation: "loxP" == "loxP+" (forward), "loxP-"
(reverse); only two sites of the same kind AND orientation recombine. "CE" is the critical
exon(s). Adding a cassette is one new CASSETTES entry; a new allele family adds a RULES entry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A structural predicate naming one MGI class: the elements it must have and must lack, and
    whether the critical exon must (True) or must not (False) lie between two same-orientation
    loxP sites. `desc` finishes the phrase "a ... allele"."""

    cls: str
    desc: str
    has: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()
    floxed: bool | None = None


# Per allele family, first matching rule wins.
RULES: dict[str, tuple[Rule, ...]] = {
    "knockout_first": (
        Rule("a", "knockout-first", has=("lacZ", "neo", "CE"), floxed=True),
        Rule("e", "targeted non-conditional", has=("lacZ", "neo", "CE"), floxed=False),
        Rule("b", "lacZ-tagged null", has=("lacZ",), lacks=("CE",)),
        Rule("c", "conditional", has=("CE",), lacks=("lacZ", "neo"), floxed=True),
        Rule("d", "reporter-free null", lacks=("CE", "lacZ", "neo")),
        Rule("e.1", "non-conditional lacZ-tagged null", has=("lacZ", "CE"), lacks=("neo",), floxed=False),
    ),
    "deletion": (
        Rule("", "deletion", has=("lacZ", "neo")),
        Rule(".1", "neo-free lacZ-tagged deletion", has=("lacZ",), lacks=("neo",)),
        Rule(".2", "reporter-free deletion", lacks=("lacZ", "neo")),
    ),
    # Velocigene has no FRT, hence no Flp product class.
    "velocigene": (
        Rule("", "Velocigene deletion", has=("lacZ", "neo")),
        Rule(".1", "neo-free lacZ-tagged deletion", has=("lacZ",), lacks=("neo",)),
    ),
    "crispr": (Rule("", "CRISPR"),),
    # A CRISPR allele declared conditional ("conditional ready"): loxP sites around the critical exon.
    "crispr_conditional": (
        Rule("", "conditional-ready CRISPR", has=("CE",), floxed=True),
        Rule(".1", "CRISPR deletion", lacks=("CE",)),
    ),
}

# How refusals name elements: (noun, past participle of its loss).
ELEMENT_NAMES: dict[str, tuple[str, str]] = {
    "CE": ("the critical exon", "deleted"),
    "lacZ": ("lacZ", "removed"),
    "neo": ("neo", "removed"),
}

IKMC_PROJECTS = ("EUCOMM", "EUCOMMTools", "KOMP", "NorCOMM", "TIGM", "IMPC")

_PD = ("FRT", "SA", "IRES", "lacZ", "pA", "loxP", "promoter(hBactP)", "neo", "pA", "FRT", "loxP")
_PL = ("FRT", "SA", "T2A", "lacZ", "T2A", "neo", "pA", "FRT", "loxP")

# name -> label (for sentences), elements of the gene-targeted allele, rule family, which symbols
# it may stand for ("match": kind, and optional labs / not_labs / projects), and "default": the
# cassette assumed when several fit a symbol (EUCOMM/KOMP tm1a does not say promoter-driven or not).
# "assumption": a warning shown with every plan made on that cassette when the caller did not name
# it, because the symbol alone cannot prove the structure ({allele} is replaced by e.g. "tm1e").
# "design": the strain's declared design a cassette needs ("conditional" for floxed CRISPR alleles).
CASSETTES: dict[str, dict] = {
    "knockout_first_promoter_driven": {  # L1L2_Bact_P: EUCOMM / KOMP-CSD tm1a
        "label": "knockout-first (promoter-driven)",
        "elements": _PD + ("CE", "loxP"),
        "rules": "knockout_first",
        "match": {"kind": "tm", "not_labs": ("Vlcg",)},
        "default": True,
    },
    "knockout_first_promoterless": {  # L1L2_gt*: lacZ-T2A-neo, no loxP before neo
        "label": "knockout-first (promoterless)",
        "elements": _PL + ("CE", "loxP"),
        "rules": "knockout_first",
        "match": {"kind": "tm", "not_labs": ("Vlcg",)},
    },
    "tm1e_promoter_driven": {  # tm1a whose 3' loxP was lost in the ES cell
        "label": "targeted non-conditional (promoter-driven)",
        "elements": _PD + ("CE",),
        "rules": "knockout_first",
        "match": {"kind": "tm", "not_labs": ("Vlcg",)},
        "default": True,
        "assumption": (
            "{allele} is assumed to be promoter-driven (the EUCOMM/KOMP-CSD cassette, with a "
            "loxP site before neo): a promoterless {allele} has no such site, so Cre could not "
            "remove neo from it. Check the line's targeting cassette."
        ),
    },
    "tm1e_promoterless": {
        "label": "targeted non-conditional (promoterless)",
        "elements": _PL + ("CE",),
        "rules": "knockout_first",
        "match": {"kind": "tm", "not_labs": ("Vlcg",)},
    },
    # KOMP-CSD deletion allele tm1: the L1L2_Bact_P cassette replaces the deleted region (no CE
    # left). Cre removes hBactP-neo (tm1.1, lacZ kept); Flp removes lacZ and neo (tm1.2).
    "komp_csd_deletion": {
        "label": "KOMP-CSD deletion",
        "elements": _PD,
        "rules": "deletion",
        "match": {"kind": "tm", "projects": IKMC_PROJECTS, "not_labs": ("Vlcg",)},
        "assumption": (
            "{allele} is assumed to be a KOMP-CSD deletion allele (the lacZ-neo cassette "
            "replacing the deleted exons, with FRT and loxP sites as in tm1a): the symbol "
            "alone cannot show this. Check the allele's MGI record."
        ),
    },
    "velocigene": {  # ZEN-Ub1: tm1(KOMP)Vlcg
        "label": "Velocigene",
        "elements": ("lacZ", "pA", "loxP", "promoter(hUbC)", "neo", "pA", "loxP"),
        "rules": "velocigene",
        "match": {"kind": "tm", "labs": ("Vlcg",)},
    },
    "crispr_em": {
        "label": "CRISPR em",
        "elements": ("indel",),
        "rules": "crispr",
        "match": {"kind": "em"},
    },
    "crispr_conditional": {  # IMPC "conditional ready" em allele: declared, not visible in the symbol
        "label": "conditional CRISPR (floxed)",
        "elements": ("loxP", "CE", "loxP"),
        "rules": "crispr_conditional",
        "match": {"kind": "em"},
        "design": "conditional",
    },
}
