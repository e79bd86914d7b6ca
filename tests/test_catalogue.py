"""Strain catalogue: CSV import (all or nothing), search, access rules, demo seed."""

import pytest
from conftest import sign_in
from sqlalchemy import func, select

HEADER = "emma_id,strain_name,allele_symbol,holder_node,material,access,industry_licence\n"
GOOD = (
    "EM:20001,C57BL/6N-Ano5<tm1a(EUCOMM)Wtsi>/Wtsi,Ano5<tm1a(EUCOMM)Wtsi>,SANG,frozen_sperm,public,\n"
    "EM:20002,C57BL/6N-H2-Ab1<tm1b(EUCOMM)Wtsi>/Ics,H2-Ab1<tm1b(EUCOMM)Wtsi>,ICS,frozen_embryos,confidential,genoway\n"
)


def count_strains():
    from conversion.catalogue.models import Strain
    from conversion.extensions import db

    return db.session.scalar(select(func.count()).select_from(Strain))


def run_import(app, tmp_path, text: str, name="strains.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return app.test_cli_runner().invoke(args=["strains", "import", str(path)])


def test_import_good_file(seeded, tmp_path):
    before = count_strains()
    res = run_import(seeded, tmp_path, HEADER + GOOD)
    assert res.exit_code == 0, res.output
    assert "Imported 2 strain(s)" in res.output
    assert count_strains() == before + 2
    from conversion.catalogue.operations import get_strain

    assert get_strain(None, "EM:20002") is None  # confidential: hidden from the public
    from conversion.catalogue.models import Strain
    from conversion.extensions import db

    s = db.session.scalar(select(Strain).where(Strain.emma_id == "EM:20002"))
    assert (s.gene, s.industry_licence, s.holder_node.code) == ("H2-Ab1", "genoway", "ICS")


def test_import_reports_every_bad_row_and_imports_nothing(seeded, tmp_path):
    before = count_strains()
    bad = (
        HEADER
        + GOOD
        + (
            "EM:123,C57BL/6N-X<tm1a(EUCOMM)Wtsi>/Wtsi,X<tm1a(EUCOMM)Wtsi>,SANG,frozen_sperm,public,\n"
            "EM:20001,dup,Ano5<tm1a(EUCOMM)Wtsi>,SANG,frozen_sperm,public,\n"
            "EM:20003,name,,SANG,frozen_sperm,public,\n"
            "EM:20004,name,Y<tm1a(EUCOMM)Wtsi>,NOPE,frozen_sperm,public,\n"
            "EM:20005,name,Y<tm1a(EUCOMM)Wtsi>,ICS,straws,public,\n"
            "EM:20006,name,Y<tm1a(EUCOMM)Wtsi>,ICS,live,secret,\n"
            "EM:05402,name,Y<tm1a(EUCOMM)Wtsi>,ICS,live,public,\n"
            "EM:20007,name,Y<tm1a(EUCOMM)Wtsi>,ICS,live,public,other\n"
        )
    )
    res = run_import(seeded, tmp_path, bad)
    assert res.exit_code != 0
    out = res.output
    for line, reason in [
        (4, "bad EMMA ID 'EM:123'"),
        (5, "duplicate EMMA ID EM:20001 (also on line 2)"),
        (6, "empty allele symbol"),
        (7, "unknown node 'NOPE'"),
        (8, "material 'straws'"),
        (9, "access 'secret'"),
        (10, "EMMA ID EM:05402 is already in the catalogue"),
        (11, "industry_licence 'other'"),
    ]:
        assert f"line {line}: {reason}" in out, (line, out)
    assert "nothing was imported" in out
    assert count_strains() == before


@pytest.mark.parametrize(
    "content, message",
    [
        ("emma_id,strain_name\nEM:00001,x\n", "missing column(s) allele_symbol"),
        (HEADER, "no data rows"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (HEADER.replace("\n", ",colour\n") + GOOD, "unknown column(s) colour"),
        (HEADER + "EM:20009,n,Bad symbol,SANG,live,public,\n", "cannot be parsed"),
    ],
)
def test_import_refuses_broken_files(seeded, tmp_path, content, message):
    before = count_strains()
    res = run_import(seeded, tmp_path, content)
    assert res.exit_code != 0
    assert message in res.output
    assert count_strains() == before


def test_seed_demo_is_idempotent_and_complete(seeded):
    from conversion.catalogue.models import DeleterStrain, Node, Recombinase
    from conversion.extensions import db
    from conversion.seed import seed_demo

    first = count_strains()
    seed_demo()
    assert count_strains() == first >= 30
    nodes = db.session.scalars(select(Node)).all()
    assert len(nodes) == 12
    offering = sorted(n.code for n in nodes if n.offers_conversion)
    assert offering == ["HMGU", "ICS", "MRC", "UNIOULU"]
    for code in offering:
        node = next(n for n in nodes if n.code == code)
        kinds = {d.recombinase for d in node.deleters}
        assert kinds == {Recombinase.Cre, Recombinase.Flp}, code
    assert db.session.scalar(select(func.count()).select_from(DeleterStrain)) == 9


def test_every_node_vat_number_is_valid():
    from stdnum.eu import vat

    from conversion.catalogue.seed import NODES

    for code, _name, country, _lab, _offers, number, _addr in NODES:
        prefix = "EL" if country == "GR" else country
        assert number.startswith(prefix), code
        if country != "GB":  # stdnum's EU module no longer covers the UK
            assert vat.is_valid(number), code


@pytest.mark.parametrize(
    "who, sees_hidden", [(None, False), ("requester", False), ("staff_ics", False), ("coordinator", True)]
)
def test_confidential_and_retracted_strains_only_for_coordinators(seeded, client, auth, who, sees_hidden):
    headers = auth(client, who) if who else {}
    if who:
        sign_in(client, who)
    for q, emma_id in (("Pcdh15", "EM:13377"), ("Spata22", "EM:13378")):
        items = client.get(f"/api/v1/strains?q={q}", headers=headers).get_json()["items"]
        assert (emma_id in [i["emma_id"] for i in items]) is sees_hidden
        page = client.get(f"/strains?q={q}").get_data(as_text=True)
        assert (emma_id in page) is sees_hidden
        assert client.get(f"/strains/{emma_id}").status_code == (200 if sees_hidden else 404)
        assert client.get(f"/api/v1/strains/{emma_id}", headers=headers).status_code == (200 if sees_hidden else 404)


def test_search_matches_gene_allele_and_id(seeded, client):
    def ids(q):
        return [i["emma_id"] for i in client.get("/api/v1/strains", query_string={"q": q}).get_json()["items"]]

    assert ids("cdk5rap2") == ["EM:05402"]
    assert set(ids("Slc2a1")) == {"EM:05519", "EM:07243"}
    assert ids("EM:07411") == ["EM:07411"]
    assert ids("%") == [] and ids("_") == []
    assert len(ids("")) >= 25


def test_landing_page_has_search_for_anonymous_users(seeded, client):
    page = client.get("/?q=Slc2a1").get_data(as_text=True)
    assert "Search the catalogue" in page and "EM:05519" in page and "Sign in" in page
    assert client.get("/strains?q=Nxn").status_code == 200
    strain = client.get("/strains/EM:05402").get_data(as_text=True)
    assert "Cdk5rap2<sup>tm1a(EUCOMM)Wtsi</sup>" in strain


def test_api_query_validation(seeded, client):
    res = client.get("/api/v1/strains?limit=0")
    assert res.status_code == 422 and "limit" in res.get_json()["error"]
    assert client.get("/api/v1/strains/EM:99999").status_code == 404
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and list(missing.get_json()) == ["error"]
    assert client.get("/no-such-page").status_code == 404
    assert "Not found" in client.get("/no-such-page").get_data(as_text=True)
