"""Allele engine: MGI symbols, cassettes as data, Cre/Flp simulation, conversion planning.

Pure Python: no Flask, no SQL. `plan_conversion(symbol, target)` is the entry point."""
from .cassettes import CASSETTES, ELEMENT_NAMES, IKMC_PROJECTS, RULES, Rule
from .planner import (
    DESIGNS,
    QC_ASSAYS,
    TARGETS,
    Plan,
    Step,
    all_products,
    assumption_warnings,
    background_of,
    candidates,
    check_design,
    family_for,
    is_conditional_target,
    normalize_assay,
    normalize_target,
    plan_conversion,
    product_strain_name,
    qc_assays_for,
    strain_carries,
    three_prime_loxp_loss,
    qc_expectations,
)
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
    site_of,
    structure_of,
)
from .symbols import (
    CLASSES,
    AlleleSymbol,
    SymbolError,
    allele_label,
    canonical_symbol,
    parse_symbol,
    plain_form,
    same_allele,
)

__all__ = [
    "DESIGNS", "assumption_warnings", "background_of", "canonical_symbol", "check_design", "plain_form",
    "same_allele", "strain_carries", "three_prime_loxp_loss",
    "CASSETTES", "CLASSES", "ELEMENT_NAMES", "IKMC_PROJECTS", "QC_ASSAYS", "RULES", "SITES", "TARGETS",
    "AlleleSymbol", "Plan", "Rule", "Step", "Structure", "SymbolError", "all_products", "allele_label",
    "apply", "candidates", "classify", "count_sites", "family_classes", "family_for", "flanked",
    "has_pair", "is_conditional_target", "normalize_assay", "normalize_target", "parse_symbol",
    "plan_conversion", "product_strain_name", "qc_assays_for", "qc_expectations", "reachable", "site_of", "structure_of",
]
