"""Allele engine (provisional compact version): symbols, cassettes, Cre/Flp, planner.

Pure Python: no Flask, no SQL."""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

QC_ASSAYS = ["Cre PCR", "Flp PCR", "tm1b PCR", "tm1c PCR", "tm1d PCR", "5' FRT PCR", "3' loxP PCR",
             "lacZ qPCR", "neo qPCR", "LoA qPCR"]
TARGETS = ("b", "c", "d", "e.1", ".1", ".2")


class SymbolError(ValueError):
    """An allele symbol that cannot be parsed; the message says what is wrong."""


@dataclass(frozen=True)
class AlleleSymbol:
    gene: str
    kind: str
    serial: int
    cls: str
    project: str | None
    lab: str

    @property
    def allele_class(self) -> str:
        return f"{self.kind}{self.serial}{self.cls}"

    def with_class(self, cls: str) -> "AlleleSymbol":
        return AlleleSymbol(self.gene, self.kind, self.serial, cls, self.project, self.lab)

    def __str__(self) -> str:
        project = f"({self.project})" if self.project else ""
        return f"{self.gene}<{self.allele_class}{project}{self.lab}>"


_ALLELE = re.compile(r"(?P<kind>tm|em)(?P<serial>\d+)(?P<cls>[a-e]|e\.1|\.\d)?(?:\((?P<project>[^()]+)\))?(?P<lab>[A-Za-z][A-Za-z0-9]*)")


def parse_symbol(symbol: str) -> AlleleSymbol:
    if not isinstance(symbol, str) or not symbol.strip():
        raise SymbolError("empty allele symbol")
    text = symbol.strip()
    if "<" not in text:
        raise SymbolError("missing '<...>' allele part (expected e.g. Gene<tm1a(EUCOMM)Wtsi>)")
    if not text.endswith(">"):
        raise SymbolError("the allele part must end with '>'")
    gene, _, allele = text[:-1].partition("<")
    if not gene:
        raise SymbolError("empty gene symbol")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9().\-]*", gene):
        raise SymbolError(f"gene symbol {gene!r} has characters MGI symbols do not use")
    m = _ALLELE.fullmatch(allele)
    if not m:
        head = re.match(r"[A-Za-z]+\d*", allele)
        raise SymbolError(f"unknown allele type {head.group(0) if head else allele!r}")
    cls = m.group("cls") or ""
    if m.group("kind") == "em" and cls:
        raise SymbolError("CRISPR em alleles have no class letter")
    return AlleleSymbol(gene, m.group("kind"), int(m.group("serial")), cls, m.group("project"), m.group("lab"))


# ---- cassettes (data) -------------------------------------------------------
_S = {"loxP", "FRT"}
CASSETTES: dict[str, dict] = {
    "knockout_first_promoter_driven": {
        "source": "a",
        "elements": ("FRT", "SA", "IRES", "lacZ", "pA", "loxP", "hBactP", "neo", "pA", "FRT", "loxP", "CE", "loxP")},
    "knockout_first_promoterless": {
        "source": "a",
        "elements": ("FRT", "SA", "T2A", "lacZ", "T2A", "neo", "pA", "FRT", "loxP", "CE", "loxP")},
    "tm1e_promoter_driven": {
        "source": "e",
        "elements": ("FRT", "SA", "IRES", "lacZ", "pA", "loxP", "hBactP", "neo", "pA", "FRT", "loxP", "CE")},
    "komp_csd_deletion": {
        "source": "",
        "elements": ("FRT", "SA", "lacZ", "pA", "FRT", "loxP", "hBactP", "neo", "pA", "loxP")},
    "velocigene": {"source": "", "elements": ("lacZ", "pA", "loxP", "hUbC", "neo", "pA", "loxP")},
    "crispr_em": {"source": "em", "elements": ("CE_deleted",)},
}


def apply(structure: tuple[str, ...], recombinase: str) -> tuple[str, ...]:
    """Excise between two same sites (loxP for Cre, FRT for Flp), leaving one, until stable."""
    site = {"Cre": "loxP", "Flp": "FRT"}[recombinase]
    out = list(structure)
    while True:
        idx = [i for i, e in enumerate(out) if e == site]
        if len(idx) < 2:
            return tuple(out)
        out = out[: idx[0] + 1] + out[idx[1] + 1:]


def _floxed_ce(s: tuple[str, ...]) -> bool:
    if "CE" not in s:
        return False
    i = s.index("CE")
    return "loxP" in s[:i] and "loxP" in s[i + 1:]


def classify(family: str, s: tuple[str, ...]) -> str | None:
    """The MGI class of structure `s`, from what it contains (not from names)."""
    lacz, neo, ce = "lacZ" in s, "neo" in s, "CE" in s
    if family.startswith("knockout_first") or family.startswith("tm1e"):
        if lacz and ce and neo:
            return "a" if _floxed_ce(s) else "e"
        if lacz and ce and not neo:
            return "e.1"
        if lacz and not ce:
            return "b"
        if not lacz and _floxed_ce(s):
            return "c"
        if not lacz and not ce:
            return "d"
        return None
    if family in ("velocigene", "komp_csd_deletion"):
        if lacz and neo:
            return ""
        if lacz:
            return ".1"
        if neo:
            return ".2"
        return None
    return "em"


def family_for(symbol: AlleleSymbol, cassette: str | None) -> tuple[str, str | None]:
    if symbol.kind == "em":
        return "crispr_em", None
    if symbol.lab == "Vlcg":
        return "velocigene", None
    if symbol.cls in ("", ".1", ".2"):
        return "komp_csd_deletion", None
    if symbol.cls in ("e", "e.1"):
        return "tm1e_promoter_driven", None
    if cassette:
        if cassette not in CASSETTES or not cassette.startswith("knockout_first"):
            raise ValueError(f"Unknown cassette {cassette!r}: use knockout_first_promoter_driven "
                             "or knockout_first_promoterless.")
        return cassette, None
    return "knockout_first_promoter_driven", "knockout_first_promoter_driven"


def structure_of(family: str, cls: str) -> tuple[str, ...] | None:
    """The structure of class `cls` in `family`: the source, or a product reached from it."""
    start = CASSETTES[family]["elements"]
    seen = {start}
    queue = deque([start])
    while queue:
        s = queue.popleft()
        if classify(family, s) == cls:
            return s
        for r in ("Cre", "Flp"):
            nxt = apply(s, r)
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return None


# ---- planning ---------------------------------------------------------------------
ASSAYS_FOR = {
    "b": ["Cre PCR", "tm1b PCR", "lacZ qPCR", "neo qPCR", "LoA qPCR"],
    "c": ["Flp PCR", "tm1c PCR", "5' FRT PCR", "3' loxP PCR", "lacZ qPCR"],
    "d": ["Cre PCR", "tm1d PCR", "LoA qPCR"],
    "e.1": ["Cre PCR", "neo qPCR", "lacZ qPCR"],
    ".1": ["Cre PCR", "neo qPCR", "lacZ qPCR"],
    ".2": ["Flp PCR", "lacZ qPCR", "neo qPCR"],
}
TWO_STEP_WARNING = ("Do not combine Cre and Flp deleters in one cross: Cre acting first gives tm1b, "
                    "which Flp can no longer turn into tm1d. Run the steps one after the other.")


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

    def to_dict(self) -> dict:
        return dict(self.__dict__)


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
        return {"feasible": self.feasible, "source_class": self.source_class,
                "product_symbol": self.product_symbol, "steps": [s.recombinase for s in self.steps],
                "reason": self.reason, "target": self.target, "product_class": self.product_class,
                "warnings": self.warnings, "assumed_cassette": self.assumed_cassette,
                "step_details": [s.to_dict() for s in self.steps]}


def normalize_target(target: str) -> str:
    t = (target or "").strip()
    t = re.sub(r"^tm\d+", "", t) if isinstance(target, str) else t
    if t not in TARGETS:
        raise ValueError(f"Unknown target {target!r}: use one of {', '.join(TARGETS)}.")
    return t


def normalize_assay(name: str) -> str:
    wanted = " ".join((name or "").split()).lower().replace("’", "'")
    for assay in QC_ASSAYS:
        if assay.lower() == wanted:
            return assay
    raise ValueError(f"Unknown assay {name!r}: use one of {', '.join(QC_ASSAYS)}.")


def is_conditional_target(target: str) -> bool:
    return normalize_target(target) == "c"


def _refusal(family: str, source: tuple[str, ...], src_label: str, target: str) -> str:
    tgt = f"tm1{target}"
    if family == "crispr_em":
        return "CRISPR em alleles carry no loxP or FRT sites: Cre and Flp cannot convert them."
    if family == "velocigene" and target in (".2", "c", "d"):
        return "Velocigene alleles have no FRT sites: Flp cannot act on them."
    if target in ("c", "d") and family.startswith("tm1e"):
        return (f"The 3' loxP site is missing in {src_label} (targeted non-conditional): the critical "
                f"exon is not floxed, so {tgt} cannot be made.")
    if target in ("c", "e.1") and "CE" not in source:
        return f"The critical exon is already deleted in {src_label}: {tgt} cannot be made from it."
    if target in ("b", "e.1", ".1") and "lacZ" not in source:
        return f"lacZ is already removed in {src_label}: {tgt} cannot be made from it."
    if target in ("c", "d") and source.count("FRT") < 2 and "lacZ" in source:
        return f"{src_label} has no pair of FRT sites: Flp cannot act on it, so {tgt} cannot be made."
    return (f"No sequence of Cre and Flp steps turns {src_label} into {tgt}: recombinases only "
            "remove DNA, so conversions cannot go backwards or across allele families.")


def plan_conversion(symbol: str, target: str, cassette: str | None = None) -> Plan:
    sym = parse_symbol(symbol)
    target = normalize_target(target)
    family, assumed = family_for(sym, cassette)
    label = sym.allele_class
    if family == "crispr_em":
        return Plan(False, label, target, reason=_refusal(family, (), label, target))
    source = structure_of(family, sym.cls)
    if source is None:
        return Plan(False, label, target, reason=f"{label} is not a class of this allele family.",
                    assumed_cassette=assumed)
    if sym.cls == target:
        return Plan(False, label, target, reason=f"The allele is already {label}.", assumed_cassette=assumed)
    start_cls = classify(family, source)
    queue = deque([(source, [])])
    seen = {source}
    while queue:
        s, path = queue.popleft()
        if path and classify(family, s) == target:
            steps, cur_cls, cur_sym = [], start_cls, sym
            for n, (r, cls) in enumerate(path, 1):
                nxt = sym.with_class(cls)
                steps.append(Step(n, r, f"{sym.kind}{sym.serial}{cur_cls}", nxt.allele_class, str(cur_sym),
                                  str(nxt), r == "Cre", ASSAYS_FOR.get(cls, [])))
                cur_cls, cur_sym = cls, nxt
            warnings = [TWO_STEP_WARNING] if len({st.recombinase for st in steps}) > 1 else []
            return Plan(True, label, target, str(sym.with_class(target)), sym.with_class(target).allele_class,
                        steps, None, warnings, assumed)
        for r in ("Flp", "Cre"):
            nxt = apply(s, r)
            cls = classify(family, nxt)
            if nxt != s and nxt not in seen and cls is not None and cls != "e":
                seen.add(nxt)
                queue.append((nxt, path + [(r, cls)]))
    return Plan(False, label, target, reason=_refusal(family, source, label, target), assumed_cassette=assumed)


def all_products(symbol: str, cassette: str | None = None) -> list[Plan]:
    return [p for p in (plan_conversion(symbol, t, cassette) for t in TARGETS) if p.feasible]


def product_strain_name(strain_name: str, product_symbol: str, node_lab_code: str) -> str:
    product = parse_symbol(product_symbol)
    renamed = re.sub(re.escape(product.gene) + r"<[^>]*>", lambda _m: str(product), strain_name, count=1)
    if "/" in renamed:
        return f"{renamed}{node_lab_code}"
    return f"{renamed}/{node_lab_code}"
