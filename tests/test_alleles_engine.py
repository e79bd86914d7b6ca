"""Allele engine: real examples from each IKMC pipeline, and structural properties."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversion.alleles import (
    CASSETTES,
    SymbolError,
    all_products,
    apply,
    classify,
    parse_symbol,
    plan_conversion,
    product_strain_name,
    structure_of,
)

# symbol, target, feasible, steps, product symbol or a fragment of the reason
EXAMPLES = [
    # EUCOMM / KOMP-CSD knockout-first (promoter-driven)
    ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "b", True, ["Cre"], "Cdk5rap2<tm1b(EUCOMM)Wtsi>"),
    ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "c", True, ["Flp"], "Cdk5rap2<tm1c(EUCOMM)Wtsi>"),
    ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "d", True, ["Flp", "Cre"], "Cdk5rap2<tm1d(EUCOMM)Wtsi>"),
    ("H2-Ab1<tm1a(KOMP)Wtsi>", "c", True, ["Flp"], "H2-Ab1<tm1c(KOMP)Wtsi>"),
    ("Zfp462<tm1a(EUCOMMTools)Hmgu>", "b", True, ["Cre"], "Zfp462<tm1b(EUCOMMTools)Hmgu>"),
    ("Gt(ROSA)26Sor<tm1a(EUCOMM)Wtsi>", "c", True, ["Flp"], "Gt(ROSA)26Sor<tm1c(EUCOMM)Wtsi>"),
    ("Nxn<tm1a(NorCOMM)Mbp>", "d", True, ["Flp", "Cre"], "Nxn<tm1d(NorCOMM)Mbp>"),
    ("Fbxo7<tm1c(EUCOMM)Hmgu>", "d", True, ["Cre"], "Fbxo7<tm1d(EUCOMM)Hmgu>"),
    # refusals with the biological reason
    ("Slc2a1<tm1b(EUCOMM)Wtsi>", "c", False, [], "critical exon is already deleted"),
    ("Slc2a1<tm1b(EUCOMM)Wtsi>", "d", False, [], "FRT"),
    ("Fbxo7<tm1c(EUCOMM)Hmgu>", "b", False, [], "lacZ is already removed"),
    ("Tmem127<tm1d(EUCOMM)Wtsi>", "c", False, [], "critical exon is already deleted"),
    ("Tmem127<tm1d(EUCOMM)Wtsi>", "b", False, [], "lacZ is already removed"),
    ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "e.1", False, [], "cannot go backwards or across"),
    # tm1e: targeted non-conditional
    ("Ptprd<tm1e(EUCOMM)Wtsi>", "e.1", True, ["Cre"], "Ptprd<tm1e.1(EUCOMM)Wtsi>"),
    ("Ptprd<tm1e(EUCOMM)Wtsi>", "c", False, [], "3' loxP site is missing"),
    ("Ptprd<tm1e(EUCOMM)Wtsi>", "d", False, [], "3' loxP site is missing"),
    # KOMP Velocigene
    ("Abcd1<tm1(KOMP)Vlcg>", ".1", True, ["Cre"], "Abcd1<tm1.1(KOMP)Vlcg>"),
    ("Abcd1<tm1(KOMP)Vlcg>", ".2", False, [], "no FRT sites"),
    ("Abcd1<tm1(KOMP)Vlcg>", "c", False, [], "no FRT sites"),
    ("Abcd1<tm1.1(KOMP)Vlcg>", ".1", False, [], "already tm1.1"),
    # KOMP-CSD deletion allele
    ("Atp8a1<tm1(KOMP)Wtsi>", ".1", True, ["Cre"], "Atp8a1<tm1.1(KOMP)Wtsi>"),
    ("Atp8a1<tm1(KOMP)Wtsi>", ".2", True, ["Flp"], "Atp8a1<tm1.2(KOMP)Wtsi>"),
    # CRISPR
    ("Tyr<em1(IMPC)H>", "b", False, [], "no loxP or FRT sites"),
    ("Tyr<em1(IMPC)H>", ".1", False, [], "no loxP or FRT sites"),
]


@pytest.mark.parametrize("symbol, target, feasible, steps, expected", EXAMPLES)
def test_real_examples(symbol, target, feasible, steps, expected):
    plan = plan_conversion(symbol, target)
    assert plan.feasible is feasible, plan.reason
    assert [s.recombinase for s in plan.steps] == steps
    if feasible:
        assert plan.product_symbol == expected and plan.reason is None
    else:
        assert expected in plan.reason and plan.product_symbol is None


def test_feasibility_dict_has_the_contract_shape():
    d = plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "d").to_dict()
    assert {k: d[k] for k in ("feasible", "source_class", "product_symbol", "steps", "reason")} == {
        "feasible": True,
        "source_class": "tm1a",
        "product_symbol": "Cdk5rap2<tm1d(EUCOMM)Wtsi>",
        "steps": ["Flp", "Cre"],
        "reason": None,
    }
    first, second = d["step_details"]
    assert (first["from_symbol"], first["to_symbol"]) == ("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "Cdk5rap2<tm1c(EUCOMM)Wtsi>")
    assert (second["from_class"], second["to_class"]) == ("tm1c", "tm1d")
    assert second["tat_cre_possible"] and not first["tat_cre_possible"]
    assert "tm1d PCR" in second["qc_assays"] and "tm1c PCR" in first["qc_assays"]
    assert any("one cross" in w for w in d["warnings"])
    assert d["assumed_cassette"] == "knockout_first_promoter_driven"


def test_promoterless_tm1b_keeps_neo():
    pd = structure_of("knockout_first_promoter_driven", "b")
    pl = structure_of("knockout_first_promoterless", "b")
    assert "neo" not in pd and "neo" in pl and "CE" not in pl
    plan = plan_conversion("Cdk5rap2<tm1a(EUCOMM)Wtsi>", "b", cassette="knockout_first_promoterless")
    assert plan.feasible and plan.assumed_cassette is None


@pytest.mark.parametrize(
    "symbol, message",
    [
        ("", "empty"),
        ("Cdk5rap2", "missing '<...>'"),
        ("<tm1a(EUCOMM)Wtsi>", "empty gene"),
        ("Cdk5rap2<xx1a(EUCOMM)Wtsi>", "unknown allele type"),
        ("Cdk5rap2<tm1a(EUCOMM)Wtsi", "end with '>'"),
    ],
)
def test_unparseable_symbols_say_what_is_wrong(symbol, message):
    with pytest.raises(SymbolError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_symbol(symbol)


def test_symbols_with_odd_gene_names():
    for symbol, gene in [
        ("H2-Ab1<tm1a(EUCOMM)Wtsi>", "H2-Ab1"),
        ("Gt(ROSA)26Sor<tm1a(EUCOMM)Wtsi>", "Gt(ROSA)26Sor"),
        ("Ptpn11<tm1e.1(EUCOMM)Wtsi>", "Ptpn11"),
        ("Tyr<em1(IMPC)H>", "Tyr"),
    ]:
        parsed = parse_symbol(symbol)
        assert parsed.gene == gene and str(parsed) == symbol
    assert parse_symbol("Ptpn11<tm1e.1(EUCOMM)Wtsi>").allele_class == "tm1e.1"


def test_all_products_of_a_tm1a():
    assert [p.product_class for p in all_products("Cdk5rap2<tm1a(EUCOMM)Wtsi>")] == ["tm1b", "tm1c", "tm1d"]
    assert all_products("Tyr<em1(IMPC)H>") == []


def test_product_strain_name_appends_the_node_lab_code():
    assert (
        product_strain_name("C57BL/6N-Cdk5rap2<tm1a(EUCOMM)Wtsi>/H", "Cdk5rap2<tm1b(EUCOMM)Wtsi>", "Wtsi")
        == "C57BL/6N-Cdk5rap2<tm1b(EUCOMM)Wtsi>/HWtsi"
    )


# ---- properties ------------------------------------------------------------------
ELEMENTS = st.lists(st.sampled_from(["loxP", "FRT", "lacZ", "neo", "CE", "pA", "SA"]), max_size=14).map(tuple)


@given(ELEMENTS, st.sampled_from(["Cre", "Flp"]))
def test_excision_is_idempotent(structure, recombinase):
    once = apply(structure, recombinase)
    assert apply(once, recombinase) == once
    site = {"Cre": "loxP", "Flp": "FRT"}[recombinase]
    assert once.count(site) == min(structure.count(site), 1)
    assert len(once) <= len(structure)


GENES = st.from_regex(r"[A-Z][a-z]{1,5}[0-9]{0,2}", fullmatch=True)
SOURCES = st.sampled_from(
    [
        "tm1a(EUCOMM)Wtsi",
        "tm1a(KOMP)Wtsi",
        "tm1c(EUCOMM)Hmgu",
        "tm1e(EUCOMM)Wtsi",
        "tm1(KOMP)Vlcg",
        "tm1(KOMP)Wtsi",
        "tm1b(EUCOMMTools)Hmgu",
        "em1(IMPC)H",
    ]
)


@settings(max_examples=150)
@given(GENES, SOURCES, st.sampled_from(["b", "c", "d", "e.1", ".1", ".2"]))
def test_plans_reproduce_their_product_and_never_lose_a_needed_site(gene, allele, target):
    symbol = f"{gene}<{allele}>"
    assert str(parse_symbol(symbol)) == symbol
    plan = plan_conversion(symbol, target)
    if not plan.feasible:
        assert plan.reason
        return
    sym = parse_symbol(symbol)
    from conversion.alleles import family_for

    family, _ = family_for(sym, None)
    structure = structure_of(family, sym.cls)
    for i, step in enumerate(plan.steps):
        site = {"Cre": "loxP", "Flp": "FRT"}[step.recombinase]
        assert structure.count(site) >= 2, "a step needs two sites the earlier steps kept"
        structure = apply(structure, step.recombinase)
        assert f"{sym.kind}{sym.serial}{classify(family, structure)}" == step.to_class
    assert plan.product_class == f"{sym.kind}{sym.serial}{classify(family, structure)}"
    assert parse_symbol(plan.product_symbol).with_class(sym.cls) == sym


def test_cassettes_are_data():
    assert set(CASSETTES) >= {
        "knockout_first_promoter_driven",
        "knockout_first_promoterless",
        "tm1e_promoter_driven",
        "komp_csd_deletion",
        "velocigene",
        "crispr_em",
    }
    assert all(isinstance(c["elements"], tuple) for c in CASSETTES.values())
