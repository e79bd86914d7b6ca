"""Property tests of the allele engine (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversion.alleles import (
    CASSETTES,
    IKMC_PROJECTS,
    RULES,
    SITES,
    TARGETS,
    AlleleSymbol,
    apply,
    classify,
    family_classes,
    has_pair,
    parse_symbol,
    plain_form,
    plan_conversion,
    product_strain_name,
    site_of,
    structure_of,
)

ELEMENT = st.sampled_from(["loxP", "loxP-", "loxP+", "FRT", "FRT-", "lacZ", "neo", "CE", "pA", "SA", "IRES"])
STRUCTURES = st.lists(ELEMENT, max_size=16).map(tuple)
RECOMBINASE = st.sampled_from(sorted(SITES))


def _is_subsequence(short: tuple, long: tuple) -> bool:
    it = iter(long)
    return all(e in it for e in short)


@given(STRUCTURES, RECOMBINASE)
def test_excision_is_idempotent_and_only_removes(structure, recombinase):
    once = apply(structure, recombinase)
    assert apply(once, recombinase) == once
    assert not has_pair(once, recombinase)
    assert _is_subsequence(once, structure)
    kind = SITES[recombinase]
    for orientation in "+-":
        before = sum(site_of(e) == (kind, orientation) for e in structure)
        after = sum(site_of(e) == (kind, orientation) for e in once)
        assert after <= min(before, 1)


@given(STRUCTURES, RECOMBINASE)
def test_a_recombinase_without_its_sites_changes_nothing(structure, recombinase):
    kind = SITES[recombinase]
    stripped = tuple(e for e in structure if (site_of(e) or ("",))[0] != kind)
    assert apply(stripped, recombinase) == stripped


@given(STRUCTURES, st.sampled_from(sorted(CASSETTES)))
def test_classification_never_fails(structure, family):
    assert classify(family, structure) in {None} | {r.cls for r in RULES[CASSETTES[family]["rules"]]}


def _symbol_for(family: str, cls: str, gene: str, project: str) -> str:
    """A symbol that the named cassette fits."""
    match = CASSETTES[family]["match"]
    if match["kind"] == "em":
        return f"{gene}<em1{cls}(IMPC)J>"  # em1, or em1.1 of a conditional em allele
    lab = match.get("labs", ("Wtsi",))[0]
    project = project if "projects" not in match else match["projects"][0]
    return f"{gene}<tm1{cls}({project}){lab}>"


SOURCES = st.sampled_from([(f, c) for f in CASSETTES for c in family_classes(f)])
GENES = st.from_regex(r"[A-Z][a-z]{1,5}[0-9]{0,2}(-[A-Z][a-z0-9]{0,2})?", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(SOURCES, st.sampled_from(TARGETS), GENES, st.sampled_from(IKMC_PROJECTS))
def test_plans_reproduce_their_product_and_never_lose_a_needed_site(source, target, gene, project):
    family, cls = source
    symbol = _symbol_for(family, cls, gene, project)
    sym = parse_symbol(symbol)
    plan = plan_conversion(symbol, target, cassette=family)
    assert plan.source_class == sym.allele_class and plan.target == target
    if not plan.feasible:
        assert plan.reason and plan.reason.endswith(".") and not plan.steps and plan.product_symbol is None
        return
    structure = structure_of(family, cls)
    assert 1 <= len(plan.steps) <= 2
    for number, step in enumerate(plan.steps, 1):
        assert step.number == number and step.tat_cre_possible == (step.recombinase == "Cre")
        assert has_pair(structure, step.recombinase), "a step needs two sites the earlier steps kept"
        assert parse_symbol(step.from_symbol).allele_class == step.from_class
        structure = apply(structure, step.recombinase)
        assert sym.with_class(classify(family, structure)).allele_class == step.to_class
        assert str(parse_symbol(step.to_symbol)) == step.to_symbol
    assert classify(family, structure) == target
    assert structure == structure_of(family, target)
    assert plan.product_symbol == str(sym.with_class(target))
    assert parse_symbol(plan.product_symbol).with_class(sym.cls) == sym
    if len(plan.steps) == 2:  # shortest: no single recombinase gets there
        assert all(classify(family, apply(structure_of(family, cls), r)) != target for r in SITES)
        assert plan.warnings and "one cross" in plan.warnings[0]


CLASSES_BY_KIND = {"tm": ["a", "b", "c", "d", "e", "e.1", "", ".1", ".2"], "em": ["", ".1", ".2"]}


@st.composite
def allele_symbols(draw) -> AlleleSymbol:
    kind = draw(st.sampled_from(["tm", "em", "Tg"]))
    lab = draw(st.from_regex(r"[A-Z][a-z]{0,4}[0-9]?", fullmatch=True))
    serial = draw(st.integers(1, 9999))
    if kind == "Tg":
        construct = draw(st.from_regex(r"[A-Z][A-Za-z0-9]{0,5}(-[A-Za-z0-9]{1,6}){0,2}", fullmatch=True))
        return AlleleSymbol(construct, "Tg", serial, "", None, lab)
    gene = draw(
        st.from_regex(
            r"[A-Z][a-z0-9]{0,6}(-[A-Z0-9][a-z0-9]{0,3})?(\.[0-9])?"
            r"(\([A-Z]{2,4}\)[0-9]{1,2}[A-Z][a-z]{2})?",
            fullmatch=True,
        )
    )
    project = draw(st.none() | st.sampled_from([*IKMC_PROJECTS, "FLP1", "CMV-cre", "ACTB-cre,-EGFP"]))
    return AlleleSymbol(gene, kind, serial, draw(st.sampled_from(CLASSES_BY_KIND[kind])), project, lab)


@given(allele_symbols())
def test_symbols_round_trip(sym):
    assert parse_symbol(str(sym)) == sym
    assert parse_symbol(f"  {sym}  ") == sym
    if sym.kind == "tm":
        for cls in CLASSES_BY_KIND["tm"]:
            changed = parse_symbol(str(sym.with_class(cls)))
            assert changed.cls == cls and changed.with_class(sym.cls) == sym


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # timings vary on a loaded machine
@given(allele_symbols(), st.sampled_from(TARGETS))
def test_planning_any_parsable_symbol_answers(sym, target):
    plan = plan_conversion(str(sym), target)
    assert plan.feasible == (plan.reason is None)
    assert plan.to_dict()["steps"] == [s.recombinase for s in plan.steps]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    allele_symbols().filter(lambda s: s.kind == "tm"),
    st.from_regex(r"(C57BL/6N|B6N\.Cg|129S5)", fullmatch=True),
    st.sampled_from(["/H", "/Wtsi", ""]),
    st.sampled_from(["Wtsi", "Ics", "H", "Oulu"]),
)
def test_product_strain_names(sym, background, holder, code):
    strain = f"{background}-{sym}{holder}"
    product = str(sym.with_class("b"))
    name = product_strain_name(strain, product, code)
    assert name.startswith(f"{background}-{product}/") and name.endswith(code)


def _fold_slowly(text: str) -> str:
    """plain_form without its shortcut for text that is plain already."""
    import re

    from conversion.alleles.symbols import _ANGLES, _SUP_CLOSE, _SUP_OPEN

    text = _SUP_CLOSE.sub(">", _SUP_OPEN.sub("<", text.translate(_ANGLES)))
    return re.sub(r"\s+", " ", re.sub(r"\s*([<>])\s*", r"\1", text.strip()))


SYMBOLISH = st.text(alphabet=st.sampled_from(list("Ab1(/)<>‹›〈〉＜＞ \t\n\xa0supSUP")), max_size=30)


@given(st.one_of(SYMBOLISH, st.text(max_size=30)))
def test_plain_form_shortcut_changes_nothing(text):
    assert plain_form(text) == _fold_slowly(text)
    assert plain_form(plain_form(text)) == plain_form(text)
