"""Property: every product the planner can make, once archived under any spelling scientists use
(`<...>`, `<sup>...</sup>`, `‹...›`, spaces), is found again by the canonical comparison, and a
different product never is (SQLite and PostgreSQL)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from conversion.alleles import TARGETS, all_products, canonical_symbol, parse_symbol

GENES = st.sampled_from(
    ["Ano5", "H2-Ab2", "Gt(ROSA)27Sor", "Kif21a", "Zfp463", "Slc2a10", "Nxnl1"]
)  # not in the demo data
SOURCES = st.sampled_from(
    [
        "{g}<tm{n}a(EUCOMM)Wtsi>",
        "{g}<tm{n}a(KOMP)Wtsi>",
        "{g}<tm{n}a(EUCOMMTools)Hmgu>",
        "{g}<tm{n}c(EUCOMM)Hmgu>",
        "{g}<tm{n}e(EUCOMM)Wtsi>",
        "{g}<tm{n}(KOMP)Wtsi>",
        "{g}<tm{n}(KOMP)Vlcg>",
        "{g}<tm{n}a(NorCOMM)Mbp>",
    ]
)


def spellings(symbol: str) -> st.SearchStrategy[str]:
    gene, allele = symbol[:-1].split("<", 1)
    return st.sampled_from(
        [
            symbol,
            f"{gene}<sup>{allele}</sup>",
            f"{gene}‹{allele}›",
            f"{gene} < {allele} >",
            f"{gene}<SUP> {allele} </SUP>",
            f" {gene}<{allele}> ",
        ]
    )


@st.composite
def archived_products(draw):
    source = draw(SOURCES).format(g=draw(GENES), n=draw(st.integers(1, 3)))
    plans = all_products(source)
    product = draw(st.sampled_from([p.product_symbol for p in plans]))
    return source, product, draw(spellings(product)), [p.product_symbol for p in plans if p.product_symbol != product]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=archived_products())
def test_every_planned_product_once_archived_is_found_again(seeded, case):
    from conversion.catalogue.models import Access, Material, Node, Strain
    from conversion.catalogue.operations import find_archived
    from conversion.extensions import db
    from conversion.requests.operations import archived_derivative

    source, product, spelled, others = case
    assert canonical_symbol(spelled) == product
    node = db.session.scalar(select(Node).where(Node.code == "ICS"))
    db.session.add(
        Strain(
            emma_id="EM:29999",
            strain_name=f"C57BL/6N-{spelled}/Ics",
            allele_symbol=spelled,
            gene=parse_symbol(spelled).gene,
            holder_node=node,
            material=Material.frozen_sperm,
            access=Access.public,
        )
    )
    db.session.commit()
    try:
        assert archived_derivative(product).emma_id == "EM:29999"
        assert find_archived(spelled).emma_id == "EM:29999"
        for other in others:  # another product of the same source is not this strain
            found = find_archived(other)
            assert found is None or found.emma_id != "EM:29999"
    finally:
        db.session.execute(delete(Strain).where(Strain.emma_id == "EM:29999"))
        db.session.commit()


def test_targets_cover_every_product_class():
    assert set(TARGETS) >= {p.target for p in all_products("Cdk5rap2<tm1a(EUCOMM)Wtsi>")}
