"""Conversion planning: shortest Cre/Flp plan from a symbol to a target class, or why not."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from .cassettes import CASSETTES, ELEMENT_NAMES, RULES, Rule
from .recombination import (
    SITES,
    Structure,
    apply,
    classify,
    count_sites,
    family_classes,
    flanked,
    has_pair,
    reachable,
    rules_of,
    site_of,
)
from .symbols import CLASSES, AlleleSymbol, SymbolError, parse_symbol, plain_form

QC_ASSAYS = [
    "Cre PCR",
    "Flp PCR",
    "tm1b PCR",
    "tm1c PCR",
    "tm1d PCR",
    "5' FRT PCR",
    "3' loxP PCR",
    "lacZ qPCR",
    "neo qPCR",
    "LoA qPCR",
]
TARGETS = ("b", "c", "d", "e.1", ".1", ".2")
DESIGNS = ("conditional",)
# The assay confirming a product is named after it: "tm1b PCR", "tm2c PCR", "em1.1 PCR".
_PRODUCT_PCR = re.compile(r"(tm)(\d+)([bcd]) pcr")


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
        return {
            "feasible": self.feasible,
            "source_class": self.source_class,
            "product_symbol": self.product_symbol,
            "steps": [s.recombinase for s in self.steps],
            "reason": self.reason,
            "target": self.target,
            "product_class": self.product_class,
            "warnings": list(self.warnings),
            "assumed_cassette": self.assumed_cassette,
            "step_details": [s.to_dict() for s in self.steps],
        }


# ---- names -------------------------------------------------------------------------
def normalize_target(target: str, source: AlleleSymbol | None = None) -> str:
    """ "b", "tm1b", "TM1B" -> "b"; ".1", "tm1.1", "em1.1" -> ".1". ValueError for anything else, and
    (given the `source` allele) for a target of another serial or type: tm2b is not made from tm1a."""
    m = re.match(r"^(tm|em)(\d+)", target.strip(), flags=re.I) if isinstance(target, str) else None
    t = target.strip()[m.end() :] if m else (target.strip() if isinstance(target, str) else None)
    t = t.lower() if t and t[0].isalpha() else t
    if t not in TARGETS:
        raise ValueError(
            f"Unknown target {target!r}: use one of {', '.join(TARGETS)} "
            "(tm1a, tm1e and tm1 come from gene targeting, not from conversion)."
        )
    if m and source is not None and source.kind != "Tg":
        kind, serial = m.group(1).lower(), int(m.group(2))
        if (kind, serial) != (source.kind, source.serial):
            raise ValueError(
                f"Target {target.strip()!r} does not fit {source}: a conversion keeps the allele's type "
                f"and serial number ({source.kind}{source.serial}), so use {source.kind}{source.serial}{t} "
                f"or just {t!r}."
            )
    return t


def normalize_assay(name: str) -> str:
    """The canonical QC assay name, matched case-insensitively; a product's PCR follows the
    allele's serial ("tm2b PCR", "em1.1 PCR")."""
    wanted = " ".join(str(name or "").replace("’", "'").split()).lower()
    for assay in QC_ASSAYS:
        if assay.lower() == wanted:
            return assay
    m = _PRODUCT_PCR.fullmatch(wanted)
    if m and int(m.group(2)) > 0:
        return f"{m.group(1)}{int(m.group(2))}{m.group(3) or ''} PCR"
    raise ValueError(
        f"Unknown assay {name!r}: use one of {', '.join(QC_ASSAYS)} "
        "(a product's PCR follows its serial, e.g. tm2b PCR)."
    )


def is_conditional_target(target: str) -> bool:
    """True when the product must keep a floxed critical exon (needs the 3' loxP), i.e. c."""
    t = normalize_target(target)
    return any(r.cls == t and r.floxed for rules in RULES.values() for r in rules)


def _allele_in(strain_name: str, gene: str) -> re.Match | None:
    """Where `Gene<...>` stands in a strain name (plain form), the gene not part of a longer name."""
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(gene) + r"<[^<>]*>", strain_name)


def strain_carries(strain_name: str, symbol: str) -> bool:
    """Whether a strain name carries the allele (any of its spellings: `<...>`, `<sup>`, `‹...›`)."""
    sym = parse_symbol(symbol)
    found = _allele_in(plain_form(strain_name), sym.gene)
    if found is None:
        return False
    try:
        return str(parse_symbol(found.group(0))) == str(sym)
    except SymbolError:
        return False


def background_of(strain_name: str, gene: str) -> str:
    """The genetic background of a strain name: `C57BL/6N` of `C57BL/6N-Gene<tm1b(EUCOMM)Wtsi>/H`
    (empty when the name does not say)."""
    text = plain_form(strain_name)
    found = _allele_in(text, gene)
    return text[: found.start()].rstrip("-") if found else ""


def product_strain_name(strain_name: str, product_symbol: str, node_lab_code: str) -> str:
    """`C57BL/6N-Gene<tm1a(EUCOMM)Wtsi>/H` -> `C57BL/6N-Gene<tm1b(EUCOMM)Wtsi>/HWtsi`: the allele
    replaced, the converting node's lab code appended to the holder part after the last slash
    (or `/code` added when the name has no holder part; not repeated if already last). Names in
    `<sup>` or `‹...›` form give the same result (in MGI's plain form)."""
    product = parse_symbol(product_symbol)
    name = plain_form(strain_name)
    found = _allele_in(name, product.gene)
    if found is None:
        raise ValueError(f"{strain_name!r} does not carry a {product.gene} allele.")
    renamed = name[: found.start()] + str(product) + name[found.end() :]
    end = found.start() + len(str(product))
    if "/" not in renamed[end:]:
        return f"{renamed}/{node_lab_code}"
    return renamed if renamed.endswith(node_lab_code) else f"{renamed}{node_lab_code}"


# ---- which cassette a symbol stands for -------------------------------------------
def _fits(sym: AlleleSymbol, match: dict) -> bool:
    return (
        sym.kind == match["kind"]
        and sym.lab not in match.get("not_labs", ())
        and ("labs" not in match or sym.lab in match["labs"])
        and ("projects" not in match or sym.project in match["projects"])
    )


def check_design(sym: AlleleSymbol, design: str | None) -> str | None:
    """The declared design ("conditional" or None); ValueError when it does not apply."""
    design = (design or "").strip().lower() or None
    if design is None:
        return None
    if design not in DESIGNS:
        raise ValueError(f"Unknown design {design!r}: use 'conditional' (a floxed CRISPR allele) or leave it out.")
    if sym.kind != "em":
        raise ValueError(
            f"design 'conditional' is for CRISPR em alleles, whose symbol cannot show loxP "
            f"sites; {sym.allele_class} says what it is by its class."
        )
    return design


def candidates(sym: AlleleSymbol, design: str | None = None) -> list[str]:
    """Cassettes that fit the symbol (and the declared design) and give its class."""
    return [
        name
        for name, c in CASSETTES.items()
        if _fits(sym, c["match"]) and c.get("design") == design and sym.cls in family_classes(name)
    ]


def family_for(
    sym: AlleleSymbol, cassette: str | None = None, design: str | None = None
) -> tuple[str | None, str | None]:
    """(cassette, assumed cassette or None). The first is None when no known cassette fits; the
    second names the default picked when the symbol does not tell which of several it is."""
    design = check_design(sym, design)
    if cassette is not None and design is None:  # naming a cassette declares its design
        design = CASSETTES.get(cassette, {}).get("design")
    fitting = candidates(sym, design)
    if cassette is not None:
        if cassette not in fitting:
            raise ValueError(
                f"Cassette {cassette!r} does not fit {sym}: use one of "
                f"{', '.join(fitting) or 'none (no known cassette fits)'}."
            )
        return cassette, None
    if len(fitting) <= 1:
        return (fitting[0] if fitting else None), None
    chosen = next((n for n in fitting if CASSETTES[n].get("default")), fitting[0])
    return chosen, chosen


def assumption_warnings(sym: AlleleSymbol, family: str, named: bool) -> list[str]:
    """What the engine assumed about a symbol's structure (nothing when the caller named the cassette)."""
    text = CASSETTES[family].get("assumption")
    return [text.format(allele=sym.allele_class, symbol=str(sym))] if text and not named else []


# ---- QC and warnings --------------------------------------------------------------------
def qc_assays_for(
    recombinase: str, before: Structure, after: Structure, cls: str, label: str | None = None, tat_cre: bool = False
) -> list[str]:
    """Assays that confirm one step's product, chosen from what the step changed. The product's
    PCR is named after its label (`tm2b PCR` for tm2b; default tm1<cls>). TAT-Cre leaves no
    transgene to test for: its steps have no Cre PCR."""
    product_pcr = f"{label or 'tm1' + cls} PCR"
    wanted = {f"{recombinase} PCR"} | ({product_pcr} if cls in ("b", "c", "d") else set())
    if tat_cre and recombinase == "Cre":
        wanted.discard("Cre PCR")
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
    order = {a: i for i, a in enumerate(QC_ASSAYS)}
    return sorted(wanted, key=lambda a: order.get(a, order["tm1b PCR"]))


def qc_expectations(
    recombinase: str, before: Structure, after: Structure, cls: str, label: str | None = None, tat_cre: bool = False
) -> dict[str, str]:
    """What each of the step's assays should show on a correct product (read from the structures)."""
    label = label or f"tm1{cls}"

    def kept(element: str, name: str) -> str:
        if element in after:
            return f"{name} kept" + (" (as before)" if element in before else "")
        return f"{name} lost" if element in before else f"no {name}"

    out = {}
    for assay in qc_assays_for(recombinase, before, after, cls, label, tat_cre=tat_cre):
        out[assay] = {
            f"{recombinase} PCR": f"negative: the {recombinase} deleter transgene bred out",
            f"{label} PCR": f"positive: the {label} band",
            "5' FRT PCR": f"positive: {count_sites(after, 'FRT')} FRT site left",
            "3' loxP PCR": "positive: the 3' loxP site kept (else the line is tm1e)",
            "lacZ qPCR": kept("lacZ", "lacZ"),
            "neo qPCR": kept("neo", "neo"),
            "LoA qPCR": "loss of the critical exon" if "CE" not in after else "critical exon kept",
        }.get(assay, "positive")
    return out


def _race_warning(sym: AlleleSymbol, family: str, source: Structure, steps: list[Step], target: str) -> list[str]:
    """For plans using both recombinases: run them one after the other (and why, if racing fails)."""
    recs = [s.recombinase for s in steps]
    if len(set(recs)) < 2:
        return []
    order = " then ".join(f"{s.recombinase} ({s.to_class})" for s in steps)
    text = (
        f"Do not combine Cre and Flp deleters in one cross: run the steps one after the other "
        f"({order}), confirming each product by QC before the next."
    )
    other = next(r for r in recs if r != recs[0])
    raced = apply(source, other)
    early = classify(family, raced)
    if early is not None and target not in reachable(family, raced):
        text += (
            f" If {other} acts first it gives {sym.with_class(early).allele_class}, which can "
            f"no longer be turned into {steps[-1].to_class}."
        )
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
        has_5, has_3 = count_sites(source[:at], "loxP") > 0, count_sites(source[at + 1 :], "loxP") > 0
        side = "3' loxP site is" if has_5 and not has_3 else "5' loxP site is" if has_3 else "loxP sites are"
        src_rule = _rule(family, sym.cls)
        desc = f" ({src_rule.desc})" if src_rule else ""
        return (
            f"The {side} missing in {src}{desc}: the critical exon is not flanked by loxP sites, "
            f"so it can be neither floxed nor deleted and {what} cannot be made."
        )
    return (
        f"{_noun(element, True)} cannot be removed from {src}: no two FRT or loxP sites of the same "
        f"orientation flank it any more ({src} keeps {_count(source, 'FRT')} and "
        f"{_count(source, 'loxP')}), so {what} cannot be made."
    )


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
            return (
                f"{CASSETTES[family]['label']} alleles have no {site} sites: {rec} cannot act on "
                f"them, so {what} cannot be made."
            )
        if rule is not None and not has_pair(source, rec):
            return f"{src} has only {_count(source, site)}: {rec} needs two, so {what} cannot be made."
    order = {c: i for i, c in enumerate(CLASSES)}
    products = [
        sym.with_class(c).allele_class for c in sorted(reachable(family, source), key=order.__getitem__) if c != sym.cls
    ]
    can = (
        f"from {src} only {', '.join(products[:-1]) + ' and ' if len(products) > 1 else ''}{products[-1]} can be made"
        if products
        else f"nothing can be made from {src}"
    )
    return (
        f"No sequence of Cre and Flp steps turns {src} into {tgt}: {can}. Recombinases only "
        "remove DNA, so conversions cannot go backwards or across allele families."
    )


# ---- planning ---------------------------------------------------------------------------------
def plan_conversion(
    symbol: str, target: str, cassette: str | None = None, *, design: str | None = None, tat_cre: bool = False
) -> Plan:
    """The shortest Cre/Flp plan turning `symbol` into class `target`, or a refusal with the
    biological reason. `design` "conditional" declares a CRISPR em allele floxed; `tat_cre` drops the
    Cre PCR from Cre steps (no transgene to breed out). Raises SymbolError (unparseable symbol) or
    ValueError (unknown target, a target of another serial, a cassette or design that does not fit)."""
    sym = parse_symbol(symbol)
    target = normalize_target(target, sym)
    src = sym.allele_class
    if sym.kind == "Tg":
        return Plan(
            False,
            src,
            target,
            reason=f"{sym} is a transgene, not a targeted allele: "
            "Cre and Flp conversions apply to IKMC targeted alleles only.",
        )
    family, assumed = family_for(sym, cassette, design)
    if family is None:
        return Plan(
            False,
            src,
            target,
            reason=(
                f"{sym} is not an allele of a known IKMC cassette (knockout-first, tm1e, KOMP-CSD "
                "deletion, Velocigene, CRISPR): its structure is unknown, so no conversion can be planned."
            ),
        )
    source = family_classes(family)[sym.cls]
    warnings = assumption_warnings(sym, family, named=cassette is not None)

    def refuse(reason: str) -> Plan:
        return Plan(False, src, target, reason=reason, warnings=warnings, assumed_cassette=assumed)

    if not any(site_of(e) for e in source):
        if sym.kind == "em":
            return refuse(
                f"EMMA converts a CRISPR em allele only when its strain is declared conditional "
                f"(design: conditional, loxP sites flanking the critical exon), and {sym} is not: "
                "without recombinase sites (no loxP or FRT sites) Cre and Flp cannot convert it."
            )
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
        steps.append(
            Step(
                number,
                rec,
                current.allele_class,
                nxt.allele_class,
                str(current),
                str(nxt),
                rec == "Cre",
                qc_assays_for(rec, before, after, cls, nxt.allele_class, tat_cre=tat_cre),
                qc_expectations(rec, before, after, cls, nxt.allele_class, tat_cre=tat_cre),
            )
        )
        before, current = after, nxt
    return Plan(
        True,
        src,
        target,
        str(current),
        current.allele_class,
        steps,
        None,
        warnings + _race_warning(sym, family, source, steps, target),
        assumed,
    )


def all_products(symbol: str, cassette: str | None = None, *, design: str | None = None) -> list[Plan]:
    """The feasible plans for every target, in TARGETS order."""
    return [p for p in (plan_conversion(symbol, t, cassette, design=design) for t in TARGETS) if p.feasible]


def three_prime_loxp_loss(symbol: str, target: str, *, design: str | None = None) -> str | None:
    """What a failed 3' loxP assay means for a conversion of `symbol` to `target`, from the
    structure: None when the target can still be made without the loxP site 3' of the critical exon
    (or the allele has none), else why not (tm1a without it is tm1e: Cre gives tm1e.1, not tm1b)."""
    sym = parse_symbol(symbol)
    target = normalize_target(target, sym)
    if sym.kind == "Tg":
        return None
    family, _ = family_for(sym, None, design)
    if family is None:
        return None
    source = family_classes(family).get(sym.cls)
    if not source or "CE" not in source:
        return None
    at = source.index("CE")
    three_prime = [i for i in range(at + 1, len(source)) if (site_of(source[i]) or ("",))[0] == "loxP"]
    if not three_prime:
        return None
    lost = source[: three_prime[0]] + source[three_prime[0] + 1 :]
    if target in reachable(family, lost):
        return None
    wanted = sym.with_class(target).allele_class
    really = classify(family, lost)
    head = (
        f"A failed 3' loxP assay shows the line is really {sym.with_class(really).allele_class}, not {sym.allele_class}"
        if really and really != sym.cls
        else f"A failed 3' loxP assay shows the 3' loxP site of {sym.allele_class} is missing"
    )
    plan = plan_conversion(symbol, target, design=design)
    instead = []
    for rec in dict.fromkeys(s.recombinase for s in plan.steps):
        got = classify(family, apply(lost, rec))
        if got is not None and got != target and has_pair(lost, rec):
            instead.append(f"{rec} gives {sym.with_class(got).allele_class}")
    tail = f" ({', '.join(instead)} instead)" if instead else ""
    return (
        f"{head}: without the 3' loxP site the critical exon is not floxed, so "
        f"a {_target_desc(target)} allele ({wanted}) cannot be made{tail}."
    )
