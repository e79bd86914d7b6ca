"""Allele engine: real symbols from each IKMC pipeline, refusals, names, QC (pure Python, fast)."""

from __future__ import annotations

import re

import pytest

from conversion.alleles import (
    CASSETTES,
    QC_ASSAYS,
    RULES,
    TARGETS,
    AlleleSymbol,
    SymbolError,
    all_products,
    allele_label,
    apply,
    classify,
    family_for,
    is_conditional_target,
    normalize_assay,
    normalize_target,
    parse_symbol,
    plan_conversion,
    product_strain_name,
    structure_of,
)

# symbol, target, steps (None = refused), product symbol or a fragment of the refusal reason
EXAMPLES = [
    # EUCOMM (Wtsi, Hmgu), KOMP-CSD: knockout-first tm1a
    ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "b", ["Cre"], "Cdk5rap2<tm1b(EUCOMM)Wtsi>"),
    ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "c", ["Flp"], "Cdk5rap2<tm1c(EUCOMM)Wtsi>"),
    ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "d", ["Flp", "Cre"], "Cdk5rap2<tm1d(EUCOMM)Wtsi>"),
    ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "e.1", None, "cannot go backwards or across"),
    ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", ".1", None, "only tm1b, tm1c and tm1d"),
    ("H2-Ab1<tm1a(KOMP)Wtsi>", "c", ["Flp"], "H2-Ab1<tm1c(KOMP)Wtsi>"),
    ("H2-Ab1<tm1a(KOMP)Wtsi>", "tm1b", ["Cre"], "H2-Ab1<tm1b(KOMP)Wtsi>"),
    # EUCOMMTools, NorCOMM
    ("Zfp462<tm1a(EUCOMMTools)Hmgu>", "b", ["Cre"], "Zfp462<tm1b(EUCOMMTools)Hmgu>"),
    ("Nxn<tm1a(NorCOMM)Mbp>", "d", ["Flp", "Cre"], "Nxn<tm1d(NorCOMM)Mbp>"),
    # derivatives
    ("Fbxo7<tm1c(EUCOMM)Hmgu>", "d", ["Cre"], "Fbxo7<tm1d(EUCOMM)Hmgu>"),
    ("Fbxo7<tm1c(EUCOMM)Hmgu>", "b", None, "lacZ is already removed in tm1c"),
    ("Fbxo7<tm1c(EUCOMM)Hmgu>", "c", None, "already tm1c"),
    (
        "Slc2a1<tm1b(EUCOMM)Hmgu>",
        "c",
        None,
        "The critical exon is already deleted in tm1b: a conditional allele (tm1c) cannot be made from it.",
    ),
    ("Slc2a1<tm1b(EUCOMM)Hmgu>", "d", None, "one FRT site"),
    ("Slc2a1<tm1b(EUCOMM)Hmgu>", "e.1", None, "critical exon is already deleted"),
    ("Tmem127<tm1d(EUCOMM)Wtsi>", "b", None, "lacZ is already removed in tm1d"),
    ("Tmem127<tm1d(EUCOMM)Wtsi>", "c", None, "critical exon is already deleted in tm1d"),
    ("Tmem127<tm1d(EUCOMM)Wtsi>", ".2", None, "nothing can be made from tm1d"),
    # tm1e: targeted non-conditional (3' loxP lost)
    ("Ptprd<tm1e(EUCOMM)Wtsi>", "e.1", ["Cre"], "Ptprd<tm1e.1(EUCOMM)Wtsi>"),
    ("Ptprd<tm1e(EUCOMM)Wtsi>", "c", None, "3' loxP site is missing in tm1e (targeted non-conditional)"),
    ("Ptprd<tm1e(EUCOMM)Wtsi>", "d", None, "3' loxP site is missing"),
    ("Ptprd<tm1e(EUCOMM)Wtsi>", "b", None, "3' loxP site is missing"),
    ("Ptpn11<tm1e.1(EUCOMM)Wtsi>", "c", None, "3' loxP site is missing in tm1e.1"),
    # KOMP Velocigene
    ("Abcd1<tm1(KOMP)Vlcg>", ".1", ["Cre"], "Abcd1<tm1.1(KOMP)Vlcg>"),
    ("Abcd1<tm1(KOMP)Vlcg>", ".2", None, "Velocigene alleles have no FRT sites"),
    ("Abcd1<tm1(KOMP)Vlcg>", "c", None, "Velocigene alleles have no FRT sites"),
    ("Abcd1<tm1(KOMP)Vlcg>", "d", None, "Velocigene alleles have no FRT sites"),
    ("Abcd1<tm1.1(KOMP)Vlcg>", ".1", None, "already tm1.1"),
    # KOMP-CSD deletion allele
    ("Atp8a1<tm1(KOMP)Wtsi>", ".1", ["Cre"], "Atp8a1<tm1.1(KOMP)Wtsi>"),
    ("Atp8a1<tm1(KOMP)Wtsi>", ".2", ["Flp"], "Atp8a1<tm1.2(KOMP)Wtsi>"),
    ("Atp8a1<tm1.1(KOMP)Wtsi>", ".2", None, "lacZ cannot be removed from tm1.1"),
    ("Atp8a1<tm1.2(KOMP)Wtsi>", ".1", None, "lacZ is already removed in tm1.2"),
    # CRISPR, transgenes, unknown cassettes
    ("Tyr<em1(IMPC)J>", "b", None, "only when its strain is declared conditional"),
    ("Tyr<em1Wtsi>", ".1", None, "no loxP or FRT sites"),
    ("Tg(CAG-Flpo)1Afst", "b", None, "is a transgene"),
    ("Gt(ROSA)26Sor<tm1(FLP1)Dym>", ".1", None, "not an allele of a known IKMC cassette"),
]


@pytest.mark.parametrize("symbol, target, steps, expected", EXAMPLES)
def test_pipeline_examples(symbol, target, steps, expected):
    plan = plan_conversion(symbol, target)
    if steps is None:
        assert not plan.feasible and plan.steps == [] and plan.product_symbol is None
        assert expected in plan.reason
    else:
        assert plan.feasible and plan.reason is None, plan.reason
        assert [s.recombinase for s in plan.steps] == steps
        assert plan.product_symbol == expected
        assert plan.product_class == parse_symbol(expected).allele_class


def test_every_class_of_the_domain_table_is_reached_or_refused():
    sources = [
        "G<tm1a(EUCOMM)Wtsi>",
        "G<tm1b(EUCOMM)Wtsi>",
        "G<tm1c(EUCOMM)Wtsi>",
        "G<tm1d(EUCOMM)Wtsi>",
        "G<tm1e(EUCOMM)Wtsi>",
        "G<tm1e.1(EUCOMM)Wtsi>",
        "G<tm1(KOMP)Wtsi>",
        "G<tm1.1(KOMP)Wtsi>",
        "G<tm1.2(KOMP)Wtsi>",
        "G<tm1(KOMP)Vlcg>",
        "G<tm1.1(KOMP)Vlcg>",
        "G<em1(IMPC)J>",
    ]
    reached = set()
    for source in sources:
        for target in TARGETS:
            plan = plan_conversion(source, target)
            assert plan.feasible == (plan.reason is None)
            assert plan.reason is None or plan.reason.endswith(".")
            if plan.feasible:
                reached.add(plan.product_class)
    assert reached == {"tm1b", "tm1c", "tm1d", "tm1e.1", "tm1.1", "tm1.2"}


def contract(plan) -> dict:
    d = plan.to_dict()
    return {k: d[k] for k in ("feasible", "source_class", "product_symbol", "steps", "reason")}


def test_exact_feasibility_dicts():
    base = "Cdk5rap2<tm1a(EUCOMM)Wtsi>"
    assert contract(plan_conversion(base, "c")) == {
        "feasible": True,
        "source_class": "tm1a",
        "product_symbol": "Cdk5rap2<tm1c(EUCOMM)Wtsi>",
        "steps": ["Flp"],
        "reason": None,
    }
    assert contract(plan_conversion(base, "d")) == {
        "feasible": True,
        "source_class": "tm1a",
        "product_symbol": "Cdk5rap2<tm1d(EUCOMM)Wtsi>",
        "steps": ["Flp", "Cre"],
        "reason": None,
    }
    assert contract(plan_conversion(base, "b")) == {
        "feasible": True,
        "source_class": "tm1a",
        "product_symbol": "Cdk5rap2<tm1b(EUCOMM)Wtsi>",
        "steps": ["Cre"],
        "reason": None,
    }
    assert contract(plan_conversion("Abcd1<tm1(KOMP)Vlcg>", ".1")) == {
        "feasible": True,
        "source_class": "tm1",
        "product_symbol": "Abcd1<tm1.1(KOMP)Vlcg>",
        "steps": ["Cre"],
        "reason": None,
    }
    refused = plan_conversion("Slc2a1<tm1b(EUCOMM)Hmgu>", "c").to_dict()
    assert refused["feasible"] is False and refused["product_symbol"] is None and refused["steps"] == []


def test_two_step_plan_details_and_race_warning():
    d = plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "tm1d").to_dict()
    assert set(d) == {
        "feasible",
        "source_class",
        "product_symbol",
        "steps",
        "reason",
        "target",
        "product_class",
        "warnings",
        "assumed_cassette",
        "step_details",
    }
    assert d["target"] == "d" and d["product_class"] == "tm1d"
    assert d["assumed_cassette"] == "knockout_first_promoter_driven"
    first, second = d["step_details"]
    assert first == {
        "number": 1,
        "recombinase": "Flp",
        "from_class": "tm1a",
        "to_class": "tm1c",
        "from_symbol": "Cdk5rap2<tm1a(EUCOMM)Wtsi>",
        "to_symbol": "Cdk5rap2<tm1c(EUCOMM)Wtsi>",
        "tat_cre_possible": False,
        "qc_assays": ["Flp PCR", "tm1c PCR", "5' FRT PCR", "3' loxP PCR", "lacZ qPCR"],
        "qc_expected": {
            "Flp PCR": "negative: the Flp deleter transgene bred out",
            "tm1c PCR": "positive: the tm1c band",
            "5' FRT PCR": "positive: 1 FRT site left",
            "3' loxP PCR": "positive: the 3' loxP site kept (else the line is tm1e)",
            "lacZ qPCR": "lacZ lost",
        },
    }
    assert second["from_symbol"] == first["to_symbol"] and second["to_class"] == "tm1d"
    assert second["tat_cre_possible"] is True
    assert second["qc_assays"] == ["Cre PCR", "tm1d PCR", "LoA qPCR"]
    [warning] = d["warnings"]
    assert "one cross" in warning and "If Cre acts first it gives tm1b" in warning
    assert plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "c").warnings == []


def test_qc_assays_of_single_steps():
    b = plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "b").steps[0]
    assert b.qc_assays == ["Cre PCR", "tm1b PCR", "lacZ qPCR", "neo qPCR", "LoA qPCR"]
    v = plan_conversion("Abcd1<tm1(KOMP)Vlcg>", ".1").steps[0]
    assert v.tat_cre_possible and v.qc_assays == ["Cre PCR", "lacZ qPCR", "neo qPCR"]
    for plan in all_products("Cdk5rap2<tm1a(EUCOMM)Wtsi>") + all_products("Atp8a1<tm1(KOMP)Wtsi>"):
        assert all(set(s.qc_assays) <= set(QC_ASSAYS) and s.qc_assays for s in plan.steps)


def test_promoterless_cassette_is_chosen_explicitly_or_assumed():
    assumed = plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "b")
    chosen = plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "b", cassette="knockout_first_promoterless")
    assert assumed.assumed_cassette == "knockout_first_promoter_driven" and chosen.assumed_cassette is None
    assert "neo" in structure_of("knockout_first_promoterless", "b")
    assert "neo" not in structure_of("knockout_first_promoter_driven", "b")
    assert chosen.steps[0].qc_assays == ["Cre PCR", "tm1b PCR", "lacZ qPCR", "neo qPCR", "LoA qPCR"]
    # promoterless tm1b keeps both FRT sites: Cre then Flp cannot race, so no race sentence
    d = plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "d", cassette="knockout_first_promoterless")
    assert d.feasible and "acts first" not in d.warnings[0]
    # tm1e.1 is made from promoter-driven tm1e only
    pl = plan_conversion("Ptprd<tm1e(EUCOMM)Wtsi>", "e.1", cassette="tm1e_promoterless")
    assert not pl.feasible and "only one loxP site" in pl.reason
    assert plan_conversion("Abcd1<tm1(KOMP)Vlcg>", ".1").assumed_cassette is None
    with pytest.raises(ValueError, match="does not fit"):
        plan_conversion("Abcd1<tm1(KOMP)Vlcg>", ".1", cassette="knockout_first_promoterless")
    with pytest.raises(ValueError, match="does not fit"):
        plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "b", cassette="nonsense")


def test_classification_is_structural():
    tm1a = CASSETTES["knockout_first_promoter_driven"]["elements"]
    fam = "knockout_first_promoter_driven"
    assert classify(fam, tm1a) == "a"
    assert classify(fam, apply(tm1a, "Cre")) == "b"
    assert classify(fam, apply(tm1a, "Flp")) == "c"
    assert classify(fam, apply(apply(tm1a, "Flp"), "Cre")) == "d"
    assert classify(fam, apply(apply(tm1a, "Cre"), "Flp")) == "b"  # the race: tm1b stays tm1b
    assert apply(tm1a, "Flp") == ("FRT", "loxP", "CE", "loxP")
    assert classify(fam, ("FRT", "loxP", "CE")) is None  # not a named class
    assert classify("velocigene", apply(CASSETTES["velocigene"]["elements"], "Cre")) == ".1"
    assert classify("tm1e_promoter_driven", apply(CASSETTES["tm1e_promoter_driven"]["elements"], "Cre")) == "e.1"


def test_only_same_orientation_sites_recombine():
    assert apply(("loxP", "neo", "loxP-"), "Cre") == ("loxP", "neo", "loxP-")
    assert apply(("loxP-", "neo", "loxP-", "CE"), "Cre") == ("loxP-", "CE")
    assert apply(("loxP+", "neo", "loxP", "CE"), "Cre") == ("loxP+", "CE")
    assert apply(("FRT", "lacZ", "loxP", "neo", "loxP"), "Flp") == ("FRT", "lacZ", "loxP", "neo", "loxP")


def test_a_new_cassette_is_a_data_entry(monkeypatch):
    from conversion.alleles import Rule

    monkeypatch.setitem(
        RULES, "test_neo_flip", (Rule("", "selectable", has=("neo",)), Rule(".1", "selection-free", lacks=("neo",)))
    )
    monkeypatch.setitem(
        CASSETTES,
        "test_neo_flip",
        {
            "label": "Test",
            "elements": ("CE", "FRT", "promoter(PGK)", "neo", "pA", "FRT"),
            "rules": "test_neo_flip",
            "match": {"kind": "tm", "labs": ("Tst",)},
        },
    )
    plan = plan_conversion("Gene<tm1Tst>", ".1")
    assert plan.feasible and [s.recombinase for s in plan.steps] == ["Flp"]
    assert plan.product_symbol == "Gene<tm1.1Tst>" and plan.steps[0].qc_assays == ["Flp PCR", "5' FRT PCR"]
    refused = plan_conversion("Gene<tm1Tst>", "b")
    assert refused.reason.startswith("Test alleles have no loxP sites: Cre cannot act on them")
    assert "only tm1.1 can be made" in plan_conversion("Gene<tm1Tst>", ".2").reason


def test_all_products():
    assert [p.product_class for p in all_products("Cdk5rap2<tm1a(EUCOMM)Wtsi>")] == ["tm1b", "tm1c", "tm1d"]
    assert [p.target for p in all_products("Atp8a1<tm1(KOMP)Wtsi>")] == [".1", ".2"]
    assert [p.target for p in all_products("Abcd1<tm1(KOMP)Vlcg>")] == [".1"]
    assert all_products("Tyr<em1(IMPC)J>") == [] and all_products("Tmem127<tm1d(EUCOMM)Wtsi>") == []


# ---- symbols --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "symbol, gene, kind, serial, cls, project, lab, label",
    [
        ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "Cdk5rap2", "tm", 1, "a", "EUCOMM", "Wtsi", "tm1a"),
        ("H2-Ab1<tm1a(KOMP)Wtsi>", "H2-Ab1", "tm", 1, "a", "KOMP", "Wtsi", "tm1a"),
        ("Gt(ROSA)26Sor<tm1(FLP1)Dym>", "Gt(ROSA)26Sor", "tm", 1, "", "FLP1", "Dym", "tm1"),
        ("Slc2a1<tm1b(EUCOMM)Hmgu>", "Slc2a1", "tm", 1, "b", "EUCOMM", "Hmgu", "tm1b"),
        ("Ptpn11<tm1e.1(EUCOMM)Wtsi>", "Ptpn11", "tm", 1, "e.1", "EUCOMM", "Wtsi", "tm1e.1"),
        ("Abcd1<tm1.1(KOMP)Vlcg>", "Abcd1", "tm", 1, ".1", "KOMP", "Vlcg", "tm1.1"),
        ("Abcd1<tm1(KOMP)Vlcg>", "Abcd1", "tm", 1, "", "KOMP", "Vlcg", "tm1"),
        ("Gene<tm1.2(KOMP)Wtsi>", "Gene", "tm", 1, ".2", "KOMP", "Wtsi", "tm1.2"),
        ("Gene<em1(IMPC)J>", "Gene", "em", 1, "", "IMPC", "J", "em1"),
        ("Gene<em1Wtsi>", "Gene", "em", 1, "", None, "Wtsi", "em1"),
        ("Zfp462<tm2a(EUCOMMTools)Hmgu>", "Zfp462", "tm", 2, "a", "EUCOMMTools", "Hmgu", "tm2a"),
        ("Nxn<tm1a(NorCOMM)Mbp>", "Nxn", "tm", 1, "a", "NorCOMM", "Mbp", "tm1a"),
        ("Hprt<tm1(CMV-cre)Wtsi>", "Hprt", "tm", 1, "", "CMV-cre", "Wtsi", "tm1"),
        ("Tg(CAG-Flpo)1Afst", "CAG-Flpo", "Tg", 1, "", None, "Afst", "Tg"),
        ("Tg(ACTFLPe)9205Dym", "ACTFLPe", "Tg", 9205, "", None, "Dym", "Tg"),
    ],
)
def test_parse_symbols(symbol, gene, kind, serial, cls, project, lab, label):
    parsed = parse_symbol(symbol)
    assert parsed == AlleleSymbol(gene, kind, serial, cls, project, lab)
    assert parsed.allele_class == label == allele_label(parsed) == allele_label(symbol)
    assert str(parsed) == symbol


def test_superscript_form_and_with_class():
    parsed = parse_symbol("Cdk5rap2<sup>tm1a(EUCOMM)Wtsi</sup>")
    assert str(parsed) == "Cdk5rap2<tm1a(EUCOMM)Wtsi>"
    assert str(parsed.with_class("b")) == "Cdk5rap2<tm1b(EUCOMM)Wtsi>"
    assert str(parse_symbol("Abcd1<tm1(KOMP)Vlcg>").with_class(".1")) == "Abcd1<tm1.1(KOMP)Vlcg>"
    with pytest.raises(SymbolError):
        parsed.with_class("z")


@pytest.mark.parametrize(
    "symbol, message",
    [
        ("", "empty allele symbol"),
        ("Cdk5rap2", "missing '<...>' allele part"),
        ("Gt(Rosa)26Sor(CAG-Flpo,-EYFP)Ics", "missing '<...>' allele part"),
        ("<tm1a(EUCOMM)Wtsi>", "empty gene symbol"),
        ("Cdk5rap2<xx1a(EUCOMM)Wtsi>", "unknown allele type 'xx1'"),
        ("Cdk5rap2<tm1a(EUCOMM)Wtsi", "must end with '>'"),
        ("Cdk5rap2<tm1f(EUCOMM)Wtsi>", "unknown allele class 'tm1f'"),
        ("Cdk5rap2<tm(EUCOMM)Wtsi>", "missing serial number"),
        ("Cdk5rap2<tm1a(EUCOMM)>", "missing lab code"),
        ("Cdk5rap2<tm1a()Wtsi>", "empty project"),
        ("Cdk5rap2<em1a(IMPC)J>", "no class letter"),
        ("Cdk(5rap2<tm1a(EUCOMM)Wtsi>", "gene symbol"),
        ("Tg(CAG-Flpo)Afst", "malformed transgene"),
        (None, "empty allele symbol"),
    ],
)
def test_unparseable_symbols_say_what_is_wrong(symbol, message):
    with pytest.raises(SymbolError, match=re.escape(message)):
        parse_symbol(symbol)
    if symbol is not None:
        with pytest.raises(SymbolError):
            plan_conversion(symbol, "b")


def test_allele_label_of_classes():
    assert [allele_label(c) for c in ("a", "b", "c", "d", "e", "e.1", "", ".1", ".2", "em")] == [
        "tm1a",
        "tm1b",
        "tm1c",
        "tm1d",
        "tm1e",
        "tm1e.1",
        "tm1",
        "tm1.1",
        "tm1.2",
        "em1",
    ]
    assert allele_label("tm1c") == "tm1c"
    with pytest.raises(ValueError):
        allele_label("wt?")


# ---- names and vocabularies ------------------------------------------------------------------
def test_targets_and_assays():
    assert TARGETS == ("b", "c", "d", "e.1", ".1", ".2")
    assert [normalize_target(t) for t in ("tm1b", "C", " d ", "tm1e.1", "tm1.1", ".2")] == [
        "b",
        "c",
        "d",
        "e.1",
        ".1",
        ".2",
    ]
    for bad in ("a", "tm1a", "e", "", "x", None):
        with pytest.raises(ValueError, match="Unknown target"):
            normalize_target(bad)
    assert normalize_assay("5’ frt  pcr") == "5' FRT PCR" and normalize_assay("LOA QPCR") == "LoA qPCR"
    with pytest.raises(ValueError, match="Cre PCR, Flp PCR"):
        normalize_assay("Southern blot")
    assert [t for t in TARGETS if is_conditional_target(t)] == ["c"]
    assert is_conditional_target("tm1c")


@pytest.mark.parametrize(
    "strain, product, code, expected",
    [
        (
            "C57BL/6N-Cdk5rap2<tm1a(EUCOMM)Wtsi>/H",
            "Cdk5rap2<tm1b(EUCOMM)Wtsi>",
            "Wtsi",
            "C57BL/6N-Cdk5rap2<tm1b(EUCOMM)Wtsi>/HWtsi",
        ),
        (
            "C57BL/6N-Gt(ROSA)26Sor<tm1a(EUCOMM)Wtsi>/Wtsi",
            "Gt(ROSA)26Sor<tm1c(EUCOMM)Wtsi>",
            "Ics",
            "C57BL/6N-Gt(ROSA)26Sor<tm1c(EUCOMM)Wtsi>/WtsiIcs",
        ),
        ("C57BL/6N-Abcd1<tm1(KOMP)Vlcg>", "Abcd1<tm1.1(KOMP)Vlcg>", "H", "C57BL/6N-Abcd1<tm1.1(KOMP)Vlcg>/H"),
        ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "Cdk5rap2<tm1d(EUCOMM)Wtsi>", "Oulu", "Cdk5rap2<tm1d(EUCOMM)Wtsi>/Oulu"),
        ("B6N.Cg-H2-Ab1<tm1a(KOMP)Wtsi>/Ieg", "H2-Ab1<tm1b(KOMP)Wtsi>", "Ieg", "B6N.Cg-H2-Ab1<tm1b(KOMP)Wtsi>/Ieg"),
    ],
)
def test_product_strain_name(strain, product, code, expected):
    assert product_strain_name(strain, product, code) == expected


def test_product_strain_name_needs_the_gene():
    with pytest.raises(ValueError, match="does not carry"):
        product_strain_name("C57BL/6N-Nxn<tm1a(NorCOMM)Mbp>/H", "Cdk5rap2<tm1b(EUCOMM)Wtsi>", "H")


def test_family_for_reports_defaults():
    assert family_for(parse_symbol("G<tm1e(EUCOMM)Wtsi>")) == ("tm1e_promoter_driven", "tm1e_promoter_driven")
    assert family_for(parse_symbol("G<tm1.1(KOMP)Wtsi>")) == ("komp_csd_deletion", None)
    assert family_for(parse_symbol("G<em1(IMPC)J>")) == ("crispr_em", None)
    assert family_for(parse_symbol("G<tm1(CMV-cre)Wtsi>")) == (None, None)


# ---- the archive loop's allele rules (issue 17) ----------------------------------------------
from conversion.alleles import canonical_symbol, strain_carries, three_prime_loxp_loss  # noqa: E402


@pytest.mark.parametrize(
    "spelled",
    [
        "Cdk5rap2<sup>tm1b(EUCOMM)Wtsi</sup>",
        "Cdk5rap2‹tm1b(EUCOMM)Wtsi›",
        " Cdk5rap2 < tm1b(EUCOMM)Wtsi > ",
        "Cdk5rap2<SUP>tm1b(EUCOMM)Wtsi</SUP>",
    ],
)
def test_canonical_form_of_every_spelling(spelled):
    assert canonical_symbol(spelled) == "Cdk5rap2<tm1b(EUCOMM)Wtsi>"


@pytest.mark.parametrize(
    "symbol, message",
    [
        ("Cdk5rap2<tm1a(EUCOMM)wtsi>", "must start with a capital letter"),
        ("Cdk5rap2<tm1a(EUCOMM)<i>Wtsi</i>>", "markup inside the symbol"),
        ("Cdk5rap2<tm1a(EU<b>COMM</b>)Wtsi>", "markup inside the symbol"),
        ("Cdk5rap2<tm1a(EUCOMM)Wtsi>&nbsp;", "markup inside the symbol"),
        ("Tg(CAG-Flpo)1afst", "malformed transgene"),
    ],
)
def test_lowercase_lab_codes_and_markup_are_refused(symbol, message):
    with pytest.raises(SymbolError, match=re.escape(message)):
        parse_symbol(symbol)


def test_a_target_of_another_serial_is_refused():
    with pytest.raises(ValueError, match="keeps the allele's type and serial number"):
        plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "tm2b")
    with pytest.raises(ValueError, match="serial"):
        plan_conversion("Tyr<em1(IMPC)J>", "tm1.1", design="conditional")
    assert plan_conversion("Zfp462<tm2a(EUCOMMTools)Hmgu>", "TM2B").product_symbol == "Zfp462<tm2b(EUCOMMTools)Hmgu>"


def test_assay_names_follow_the_serial():
    steps = plan_conversion("Zfp462<tm2a(EUCOMMTools)Hmgu>", "d").steps
    assert [s.qc_assays for s in steps] == [
        ["Flp PCR", "tm2c PCR", "5' FRT PCR", "3' loxP PCR", "lacZ qPCR"],
        ["Cre PCR", "tm2d PCR", "LoA qPCR"],
    ]
    assert normalize_assay("TM2B pcr") == "tm2b PCR"


def test_tat_cre_steps_drop_the_cre_pcr():
    plan = plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "d", tat_cre=True)
    assert "Cre PCR" not in plan.steps[1].qc_assays and "Flp PCR" in plan.steps[0].qc_assays


def test_conditional_em_alleles():
    plan = plan_conversion("Tyr<em1(IMPC)J>", ".1", design="conditional")
    assert plan.feasible and plan.product_symbol == "Tyr<em1.1(IMPC)J>" and plan.steps[0].recombinase == "Cre"
    assert [p.product_class for p in all_products("Tyr<em1(IMPC)J>", design="conditional")] == ["em1.1"]
    refused = plan_conversion("Tyr<em1(IMPC)J>", ".1")
    assert not refused.feasible and "declared conditional" in refused.reason
    with pytest.raises(ValueError, match="design 'conditional' is for CRISPR em alleles"):
        plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "b", design="conditional")


def test_assumptions_are_warnings():
    assert any("assumed to be promoter-driven" in w for w in plan_conversion("Ptprd<tm1e(EUCOMM)Wtsi>", "e.1").warnings)
    assert any("KOMP-CSD deletion" in w for w in plan_conversion("Atp8a1<tm1(KOMP)Wtsi>", ".2").warnings)
    assert plan_conversion("Atp8a1<tm1(KOMP)Wtsi>", ".2", "komp_csd_deletion").warnings == []  # named, not assumed
    assert plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "b").warnings == []


@pytest.mark.parametrize(
    "symbol, target, lost",
    [
        ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "b", "Cre gives tm1e.1 instead"),
        ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "c", "really tm1e"),
        ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "d", "really tm1e"),
        ("Fbxo7<tm1c(EUCOMM)Hmgu>", "d", "3' loxP site of tm1c is missing"),
        ("Atp8a1<tm1(KOMP)Wtsi>", ".1", None),
        ("Abcd1<tm1(KOMP)Vlcg>", ".1", None),
        ("Ptprd<tm1e(EUCOMM)Wtsi>", "e.1", None),
    ],
)
def test_what_a_failed_three_prime_loxp_rules_out(symbol, target, lost):
    found = three_prime_loxp_loss(symbol, target)
    assert (found is None) if lost is None else (lost in found), found


@pytest.mark.parametrize(
    "strain, symbol, carries",
    [
        ("C57BL/6N-Cdk5rap2<sup>tm1a(EUCOMM)Wtsi</sup>/H", "Cdk5rap2<tm1a(EUCOMM)Wtsi>", True),
        ("C57BL/6N-Cdk5rap2<tm1b(EUCOMM)Wtsi>/H", "Cdk5rap2<tm1a(EUCOMM)Wtsi>", False),
        ("C57BL/6N-Nxn<tm1a(KOMP)Wtsi>/H", "Cdk5rap2<tm1a(EUCOMM)Wtsi>", False),
        ("C57BL/6N-XCdk5rap2<tm1a(EUCOMM)Wtsi>/H", "Cdk5rap2<tm1a(EUCOMM)Wtsi>", False),
    ],
)
def test_strain_names_must_carry_their_allele(strain, symbol, carries):
    assert strain_carries(strain, symbol) is carries


def test_product_strain_name_of_a_sup_name():
    """Regression: `<sup>` strain names were mangled (`Gene<sup>` replaced, `...Wtsi</sup>` left)."""
    assert (
        product_strain_name("C57BL/6N-Cdk5rap2<sup>tm1a(EUCOMM)Wtsi</sup>/H", "Cdk5rap2<tm1b(EUCOMM)Wtsi>", "Ics")
        == "C57BL/6N-Cdk5rap2<tm1b(EUCOMM)Wtsi>/HIcs"
    )
