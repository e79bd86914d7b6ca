"""Conversion planning: shortest Cre/Flp plan from a symbol to a target class, or why not."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from .cassettes import CASSETTES, ELEMENT_NAMES, RULES, Rule
from .recombination import (
    SITES, Structure, apply, classify, count_sites, family_classes, flanked, has_pair, reachable, rules_of,
    site_of,
)
from .symbols import CLASSES, AlleleSymbol, parse_symbol

QC_ASSAYS = ["Cre PCR", "Flp PCR", "tm1b PCR", "tm1c PCR", "tm1d PCR", "5' FRT PCR", "3' loxP PCR",
             "lacZ qPCR", "neo qPCR", "LoA qPCR"]
TARGETS = ("b", "c", "d", "e.1", ".1", ".2")


@dataclass
class Step:
    number: int
    recombinase: str
    from_class: str
    to_class: str
    from_symbol: str
    to_symbol: str
    tat_cre_possible: bool
    qc_assays: list[str]
    qc_expected: dict[str, str] = field(default_factory=dict)  # assay -> the result that confirms the step

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Plan:
    feasible: bool
    source_class: str | None
    target: str
    product_symbol: str | None = None
    product_class: str | None = None
    steps: list[Step] = field(default_factory=list)
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    assumed_cassette: str | None = None

    def to_dict(self) -> dict:
        """The contract's feasibility body, plus target, product_class, warnings,
        assumed_cassette and step_details."""
        return {"feasible": self.feasible, "source_class": self.source_class,
                "product_symbol": self.product_symbol, "steps": [s.recombinase for s in self.steps],
                "reason": self.reason, "target": self.target, "product_class": self.product_class,
                "warnings": list(self.warnings), "assumed_cassette": self.assumed_cassette,
                "step_details": [s.to_dict() for s in self.steps]}


# ---- names -------------------------------------------------------------------------
def normalize_target(target: str) -> str:
    """"b", "tm1b", "TM1B" -> "b"; ".1", "tm1.1" -> ".1". ValueError for anything else."""
    t = re.sub(r"^tm\d+", "", target.strip(), flags=re.I) if isinstance(target, str) else None
    t = t.lower() if t and t[0].isalpha() else t
    if t not in TARGETS:
        raise ValueError(f"Unknown target {target!r}: use one of {', '.join(TARGETS)} "
                         "(tm1a, tm1e and tm1 come from gene targeting, not from conversion).")
    return t


def normalize_assay(name: str) -> str:
    """The canonical QC assay name, matched case-insensitively."""
    wanted = " ".join(str(name or "").replace("’", "'").split()).lower()
    for assay in QC_ASSAYS:
        if assay.lower() == wanted:
            return assay
    raise ValueError(f"Unknown assay {name!r}: use one of {', '.join(QC_ASSAYS)}.")


def is_conditional_target(target: str) -> bool:
    """True when the product must keep a floxed critical exon (needs the 3' loxP), i.e. c."""
    t = normalize_target(target)
    return any(r.cls == t and r.floxed for rules in RULES.values() for r in rules)


def product_strain_name(strain_name: str, product_symbol: str, node_lab_code: str) -> str:
    """`C57BL/6N-Gene<tm1a(EUCOMM)Wtsi>/H` -> `C57BL/6N-Gene<tm1b(EUCOMM)Wtsi>/HWtsi`: the allele
    replaced, the converting node's lab code appended to the holder part after the last slash
    (or `/code` added when the name has no holder part; not repeated if already last)."""
    product = parse_symbol(product_symbol)
    pattern = re.escape(product.gene) + r"(?:<[^<>]*>|<sup>.*?</sup>)"
    renamed, n = re.subn(pattern, lambda _m: str(product), strain_name, count=1)
    if not n:
        raise ValueError(f"{strain_name!r} does not carry a {product.gene} allele.")
    end = renamed.index(str(product)) + len(str(product))
    if "/" not in renamed[end:]:
        return f"{renamed}/{node_lab_code}"
    return renamed if renamed.endswith(node_lab_code) else f"{renamed}{node_lab_code}"


# ---- which cassette a symbol stands for -------------------------------------------
def _fits(sym: AlleleSymbol, match: dict) -> bool:
    return (sym.kind == match["kind"] and sym.lab not in match.get("not_labs", ())
            and ("labs" not in match or sym.lab in match["labs"])
            and ("projects" not in match or sym.project in match["projects"]))


def candidates(sym: AlleleSymbol) -> list[str]:
    """Cassettes that fit the symbol and give its class."""
    return [name for name, c in CASSETTES.items()
            if _fits(sym, c["match"]) and sym.cls in family_classes(name)]


def family_for(sym: AlleleSymbol, cassette: str | None = None) -> tuple[str | None, str | None]:
    """(cassette, assumed cassette or None). The first is None when no known cassette fits; the
    second names the default picked when the symbol does not tell which of several it is."""
    fitting = candidates(sym)
    if cassette is not None:
        if cassette not in fitting:
            raise ValueError(f"Cassette {cassette!r} does not fit {sym}: use one of "
                             f"{', '.join(fitting) or 'none (no known cassette fits)'}.")
        return cassette, None
    if len(fitting) <= 1:
        return (fitting[0] if fitting else None), None
    chosen = next((n for n in fitting if CASSETTES[n].get("default")), fitting[0])
    return chosen, chosen


# ---- QC and warnings --------------------------------------------------------------------
def qc_assays_for(recombinase: str, before: Structure, after: Structure, cls: str) -> list[str]:
    """Assays that confirm one step's product, chosen from what the step changed."""
    wanted = {f"{recombinase} PCR", f"tm1{cls} PCR"}
    if recombinase == "Flp" and count_sites(after, "FRT"):
        wanted.add("5' FRT PCR")
    if flanked(after, "CE", "loxP"):
        wanted.add("3' loxP PCR")
    if "lacZ" in before:
        wanted.add("lacZ qPCR")
    if "neo" in before and "lacZ" in after:  # otherwise lacZ copy number already tells
        wanted.add("neo qPCR")
    if "CE" in before and "CE" not in after:
        wanted.add("LoA qPCR")
    return [a for a in QC_ASSAYS if a in wanted]


def qc_expectations(recombinase: str, before: Structure, after: Structure, cls: str) -> dict[str, str]:
    """What each of the step's assays should show on a correct product (read from the structures)."""
    def kept(element: str, name: str) -> str:
        if element in after:
            return f"{name} kept" + (" (as before)" if element in before else "")
        return f"{name} lost" if element in before else f"no {name}"

    out = {}
    for assay in qc_assays_for(recombinase, before, after, cls):
        out[assay] = {
            f"{recombinase} PCR": f"negative: the {recombinase} deleter transgene bred out",
            f"tm1{cls} PCR": f"positive: the tm1{cls} band",
            "5' FRT PCR": f"positive: {count_sites(after, 'FRT')} FRT site left",
            "3' loxP PCR": "positive: the 3' loxP site kept (else the line is tm1e)",
            "lacZ qPCR": kept("lacZ", "lacZ"),
            "neo qPCR": kept("neo", "neo"),
            "LoA qPCR": "loss of the critical exon" if "CE" not in after else "critical exon kept",
        }.get(assay, "positive")
    return out


def _race_warning(sym: AlleleSymbol, family: str, source: Structure, steps: list[Step],
                  target: str) -> list[str]:
    """For plans using both recombinases: run them one after the other (and why, if racing fails)."""
    recs = [s.recombinase for s in steps]
    if len(set(recs)) < 2:
        return []
    order = " then ".join(f"{s.recombinase} ({s.to_class})" for s in steps)
    text = (f"Do not combine Cre and Flp deleters in one cross: run the steps one after the other "
            f"({order}), confirming each product by QC before the next.")
    other = next(r for r in recs if r != recs[0])
    raced = apply(source, other)
    early = classify(family, raced)
    if early is not None and target not in reachable(family, raced):
        text += (f" If {other} acts first it gives {sym.with_class(early).allele_class}, which can "
                 f"no longer be turned into {steps[-1].to_class}.")
    return [text]


# ---- reasons for refusals ----------------------------------------------------------------
def _count(structure: Structure, kind: str) -> str:
    n = count_sites(structure, kind)
    return f"{'no' if n == 0 else 'one' if n == 1 else n} {kind} site{'' if n == 1 else 's'}"


def _recombinases_making(target: str) -> list[str]:
    """Recombinases on the shortest path to `target` from every gene-targeted cassette giving it."""
    needed: list[str] = []
    for name, c in CASSETTES.items():
        for rec, _ in reachable(name, c["elements"]).get(target) or []:
            if rec not in needed:
                needed.append(rec)
    return needed


def _rule(family: str, cls: str) -> Rule | None:
    return next((r for r in rules_of(family) if r.cls == cls), None)


def _target_desc(cls: str) -> str:
    return next((r.desc for rules in RULES.values() for r in rules if r.cls == cls), cls)


def _noun(element: str, sentence_start: bool = False) -> str:
    noun = ELEMENT_NAMES.get(element, (element, "removed"))[0]
    return noun[0].upper() + noun[1:] if sentence_start and noun.startswith("the") else noun


def _unremovable(sym: AlleleSymbol, family: str, source: Structure, element: str, what: str) -> str:
    """Why `element` of `source` can no longer be excised (or, for CE, floxed)."""
    src = sym.allele_class
    if element == "CE":
        at = source.index("CE")
        has_5, has_3 = count_sites(source[:at], "loxP") > 0, count_sites(source[at + 1:], "loxP") > 0
        side = "3' loxP site is" if has_5 and not has_3 else "5' loxP site is" if has_3 else "loxP sites are"
        src_rule = _rule(family, sym.cls)
        desc = f" ({src_rule.desc})" if src_rule else ""
        return (f"The {side} missing in {src}{desc}: the critical exon is not flanked by loxP sites, "
                f"so it can be neither floxed nor deleted and {what} cannot be made.")
    return (f"{_noun(element, True)} cannot be removed from {src}: no two FRT or loxP sites of the same "
            f"orientation flank it any more ({src} keeps {_count(source, 'FRT')} and "
            f"{_count(source, 'loxP')}), so {what} cannot be made.")


def _refusal(sym: AlleleSymbol, family: str, source: Structure, target: str) -> str:
    """The biological reason why no plan reaches `target`, derived from the source structure."""
    src, tgt = sym.allele_class, sym.with_class(target).allele_class
    what = f"a {_target_desc(target)} allele ({tgt})"
    rule = _rule(family, target)
    if rule is not None:  # a class of this family: which needed element is gone or stuck?
        for el in rule.has:
            if el not in source:
                lost = ELEMENT_NAMES.get(el, (el, "removed"))[1]
                return f"{_noun(el, True)} is already {lost} in {src}: {what} cannot be made from it."
        stuck = (["CE"] if rule.floxed and "CE" in source else []) + [e for e in rule.lacks if e in source]
        for el in stuck:
            if not any(flanked(source, el, kind) for kind in SITES.values()):
                return _unremovable(sym, family, source, el, what)
    for rec in _recombinases_making(target):
        site = SITES[rec]
        if not count_sites(CASSETTES[family]["elements"], site):
            return (f"{CASSETTES[family]['label']} alleles have no {site} sites: {rec} cannot act on "
                    f"them, so {what} cannot be made.")
        if rule is not None and not has_pair(source, rec):
            return f"{src} has only {_count(source, site)}: {rec} needs two, so {what} cannot be made."
    order = {c: i for i, c in enumerate(CLASSES)}
    products = [sym.with_class(c).allele_class
                for c in sorted(reachable(family, source), key=order.__getitem__) if c != sym.cls]
    can = (f"from {src} only {', '.join(products[:-1]) + ' and ' if len(products) > 1 else ''}"
           f"{products[-1]} can be made" if products else f"nothing can be made from {src}")
    return (f"No sequence of Cre and Flp steps turns {src} into {tgt}: {can}. Recombinases only "
            "remove DNA, so conversions cannot go backwards or across allele families.")


# ---- planning ---------------------------------------------------------------------------------
def plan_conversion(symbol: str, target: str, cassette: str | None = None) -> Plan:
    """The shortest Cre/Flp plan turning `symbol` into class `target`, or a refusal with the
    biological reason. Raises SymbolError (unparseable symbol) or ValueError (unknown target or
    a cassette that does not fit)."""
    sym = parse_symbol(symbol)
    target = normalize_target(target)
    src = sym.allele_class
    if sym.kind == "Tg":
        return Plan(False, src, target, reason=f"{sym} is a transgene, not a targeted allele: "
                    "Cre and Flp conversions apply to IKMC targeted alleles only.")
    family, assumed = family_for(sym, cassette)
    if family is None:
        return Plan(False, src, target, reason=(
            f"{sym} is not an allele of a known IKMC cassette (knockout-first, tm1e, KOMP-CSD "
            "deletion, Velocigene, CRISPR): its structure is unknown, so no conversion can be planned."))
    source = family_classes(family)[sym.cls]

    def refuse(reason: str) -> Plan:
        return Plan(False, src, target, reason=reason, assumed_cassette=assumed)

    if not any(site_of(e) for e in source):
        if sym.kind == "em":
            return refuse("CRISPR em alleles carry no recombinase sites (no loxP or FRT sites): "
                          "Cre and Flp cannot convert them.")
        return refuse(f"{src} carries no loxP or FRT sites: Cre and Flp cannot convert it.")
    if sym.cls == target:
        return refuse(f"The allele is already {src}: there is nothing to convert.")
    path = reachable(family, source).get(target)
    if path is None:
        return refuse(_refusal(sym, family, source, target))
    steps, before, current = [], source, sym
    for number, (rec, after) in enumerate(path, 1):
        cls = classify(family, after) or ""
        nxt = current.with_class(cls)
        steps.append(Step(number, rec, current.allele_class, nxt.allele_class, str(current), str(nxt),
                          rec == "Cre", qc_assays_for(rec, before, after, cls),
                          qc_expectations(rec, before, after, cls)))
        before, current = after, nxt
    return Plan(True, src, target, str(current), current.allele_class, steps, None,
                _race_warning(sym, family, source, steps, target), assumed)


def all_products(symbol: str, cassette: str | None = None) -> list[Plan]:
    """The feasible plans for every target, in TARGETS order."""
    return [p for p in (plan_conversion(symbol, t, cassette) for t in TARGETS) if p.feasible]
