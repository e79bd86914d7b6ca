"""Demo data: EMMA nodes, deleter strains, catalogue strains (idempotent)."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import Access, DeleterStrain, Material, Node, Recombinase, Strain

# code, name, country, holder lab code, offers conversion, VAT number, address
NODES = [
    (
        "SANG",
        "Wellcome Sanger Institute",
        "GB",
        "Wtsi",
        False,
        "GB123456782",
        "Wellcome Genome Campus, Hinxton, Cambridge CB10 1SA, United Kingdom",
    ),
    (
        "CNR",
        "CNR Institute of Biochemistry and Cell Biology",
        "IT",
        "Cnrm",
        False,
        "IT02118760582",
        "Via E. Ramarini 32, 00015 Monterotondo Scalo (RM), Italy",
    ),
    (
        "MRC",
        "MRC Harwell Institute",
        "GB",
        "H",
        True,
        "GB654321006",
        "Harwell Campus, Didcot, Oxfordshire OX11 0RD, United Kingdom",
    ),
    (
        "ICS",
        "Institut Clinique de la Souris",
        "FR",
        "Ics",
        True,
        "FR27775688732",
        "1 rue Laurent Fries, 67404 Illkirch, France",
    ),
    (
        "HMGU",
        "Helmholtz Zentrum München",
        "DE",
        "Ieg",
        True,
        "DE123456788",
        "Ingolstädter Landstraße 1, 85764 Neuherberg, Germany",
    ),
    (
        "CNB",
        "Centro Nacional de Biotecnología (CNB-CSIC)",
        "ES",
        "Cnbc",
        False,
        "ESA12345674",
        "Calle Darwin 3, 28049 Madrid, Spain",
    ),
    (
        "UNIOULU",
        "University of Oulu, Biocenter Oulu",
        "FI",
        "Oulu",
        True,
        "FI12345671",
        "Aapistie 5, 90220 Oulu, Finland",
    ),
    (
        "VETMEDUNI",
        "University of Veterinary Medicine Vienna",
        "AT",
        "Biat",
        False,
        "ATU12345675",
        "Veterinärplatz 1, 1210 Vienna, Austria",
    ),
    (
        "CNRS",
        "CNRS Orléans, TAAM",
        "FR",
        "Orl",
        False,
        "FR40180089013",
        "3B rue de la Férollerie, 45071 Orléans, France",
    ),
    (
        "CIPHE",
        "Centre d'Immunophénomique",
        "FR",
        "Ciphe",
        False,
        "FR19130005481",
        "163 avenue de Luminy, 13288 Marseille, France",
    ),
    (
        "IMG",
        "Institute of Molecular Genetics, Czech Centre for Phenogenomics",
        "CZ",
        "Ph",
        False,
        "CZ12345679",
        "Průmyslová 595, 252 50 Vestec, Czech Republic",
    ),
    ("BSRC", "BSRC Alexander Fleming", "GR", "Flmg", False, "EL123456783", "34 Fleming Street, 16672 Vari, Greece"),
]

# node code -> [(recombinase, name, EMMA id)]
DELETERS = {
    "ICS": [
        ("Cre", "Gt(ROSA)26Sor<tm1(ACTB-cre,-EGFP)Ics>", None),
        ("Flp", "Gt(Rosa)26Sor(CAG-Flpo,-EYFP)Ics", None),
    ],
    "MRC": [
        ("Cre", "C57BL/6NTac-Tg(ACTB-cre)3Mrt/H", None),
        ("Flp", "B6.Cg-Tg(ACTFLPe)9205Dym/H", None),
    ],
    "HMGU": [
        ("Cre", "Gt(ROSA)26Sor<tm16(cre)Arte>", None),
        ("Flp", "C57BL/6N-Gt(ROSA)26Sor<tm1(FLP1)Dym>", None),
    ],
    "UNIOULU": [
        ("Cre", "C57BL/6N-Hprt<tm1(CMV-cre)Wtsi>/WtsiOulu", "EM:05414"),
        ("Cre", "B6N.Cg-Tg(Sox2-cre)1Amc/J", None),
        ("Flp", "Tg(CAG-Flpo)1Afst", None),
    ],
}

# emma id, allele symbol, background, holder node, material, access, industry licence
STRAINS = [
    ("EM:05402", "Cdk5rap2<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "MRC", "frozen_sperm", "public", None),
    ("EM:05519", "Slc2a1<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "MRC", "frozen_sperm", "public", None),
    ("EM:07243", "Slc2a1<tm1b(EUCOMM)Wtsi>", "C57BL/6N", "MRC", "frozen_sperm", "public", None),
    ("EM:05608", "Ptpn11<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "SANG", "frozen_sperm", "public", None),
    ("EM:06112", "H2-Ab1<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "ICS", "frozen_embryos", "public", None),
    ("EM:06230", "Dnase1l2<tm1a(EUCOMM)Hmgu>", "C57BL/6N", "HMGU", "frozen_sperm", "public", None),
    ("EM:06377", "Fbxo7<tm1a(EUCOMM)Hmgu>", "C57BL/6N", "HMGU", "frozen_sperm", "public", None),
    ("EM:06378", "Fbxo7<tm1c(EUCOMM)Hmgu>", "C57BL/6N", "HMGU", "frozen_sperm", "public", None),
    ("EM:08412", "Zfp462<tm1a(EUCOMMTools)Hmgu>", "C57BL/6N", "HMGU", "frozen_sperm", "public", None),
    ("EM:09876", "Arhgef6<tm1a(EUCOMMTools)Wtsi>", "C57BL/6N", "SANG", "frozen_sperm", "public", None),
    ("EM:05733", "Atp8a1<tm1a(KOMP)Wtsi>", "C57BL/6N", "SANG", "frozen_sperm", "public", None),
    ("EM:05894", "Nxn<tm1a(KOMP)Wtsi>", "C57BL/6N", "MRC", "frozen_embryos", "public", None),
    ("EM:10021", "Kif21b<tm1a(KOMP)Wtsi>", "C57BL/6N", "UNIOULU", "frozen_sperm", "public", None),
    ("EM:10432", "Ccdc88c<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "UNIOULU", "frozen_sperm", "public", None),
    ("EM:11007", "Tmem127<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "ICS", "frozen_sperm", "public", None),
    ("EM:11008", "Tmem127<tm1d(EUCOMM)Wtsi>", "C57BL/6N", "ICS", "frozen_sperm", "public", None),
    ("EM:11230", "Prdm14<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "CNR", "frozen_embryos", "public", None),
    ("EM:11455", "Mettl14<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "CNB", "frozen_sperm", "public", None),
    ("EM:11602", "Nlrp12<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "CIPHE", "frozen_sperm", "public", None),
    ("EM:11718", "Sik3<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "IMG", "frozen_sperm", "public", None),
    ("EM:11840", "Usp47<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "VETMEDUNI", "frozen_sperm", "public", None),
    ("EM:11903", "Adgrl2<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "BSRC", "frozen_sperm", "public", None),
    ("EM:12015", "Gpr35<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "CNRS", "frozen_sperm", "public", None),
    ("EM:12177", "Lrrk2<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "SANG", "frozen_sperm", "public", "genoway"),
    ("EM:12250", "Mapt<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "ICS", "frozen_sperm", "public", "genoway"),
    ("EM:06890", "Ptprd<tm1e(EUCOMM)Wtsi>", "C57BL/6N", "SANG", "frozen_sperm", "public", None),
    ("EM:07411", "Abcd1<tm1(KOMP)Vlcg>", "C57BL/6NTac", "MRC", "frozen_sperm", "public", None),
    ("EM:07412", "Akr1c18<tm1(KOMP)Vlcg>", "C57BL/6NTac", "HMGU", "frozen_sperm", "public", None),
    ("EM:13101", "Tyr<em1(IMPC)H>", "C57BL/6NTac", "MRC", "live", "public", None),
    ("EM:13377", "Pcdh15<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "ICS", "frozen_sperm", "confidential", None),
    ("EM:13378", "Spata22<tm1a(EUCOMM)Wtsi>", "C57BL/6N", "MRC", "frozen_sperm", "retracted", None),
]

DEMO_PASSWORD_NOTE = "Demo accounts are listed in README.md."


# email, password, role, node, name, organisation
def strain_name(background: str, symbol: str, lab_code: str) -> str:
    return f"{background}-{symbol}/{lab_code}"


def seed_nodes() -> dict[str, Node]:
    nodes = {n.code: n for n in db.session.scalars(select(Node))}
    for code, name, country, lab, offers, vat, address in NODES:
        node = nodes.get(code) or Node(code=code)
        node.name, node.country, node.lab_code = name, country, lab
        node.offers_conversion, node.vat_number, node.address = offers, vat, address
        node.email = f"conversions@{code.lower()}.emma.example"
        db.session.add(node)
        nodes[code] = node
    db.session.flush()
    for code, deleters in DELETERS.items():
        have = {d.name for d in nodes[code].deleters}
        for recombinase, name, emma_id in deleters:
            if name not in have:
                db.session.add(
                    DeleterStrain(node=nodes[code], name=name, emma_id=emma_id, recombinase=Recombinase(recombinase))
                )
    return nodes


def seed_strains(nodes: dict[str, Node]) -> None:
    from ..alleles import parse_symbol

    have = set(db.session.scalars(select(Strain.emma_id)))
    for emma_id, symbol, background, node_code, material, access, licence in STRAINS:
        if emma_id in have:
            continue
        node = nodes[node_code]
        db.session.add(
            Strain(
                emma_id=emma_id,
                allele_symbol=symbol,
                gene=parse_symbol(symbol).gene,
                strain_name=strain_name(background, symbol, node.lab_code),
                holder_node=node,
                material=Material(material),
                access=Access(access),
                industry_licence=licence,
            )
        )


def seed_catalogue(context: dict) -> None:
    """Demo step: the 12 nodes (kept in context["nodes"] for later steps) and the strains."""
    context["nodes"] = seed_nodes()
    seed_strains(context["nodes"])
