"""The derived-alleles report for MGI: one row per strain EMMA derived by a conversion (the
archive loop), with what MGI asks of a new allele: parent and derived allele, excision, deleter or
TAT-Cre, colony, background, node and date."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..catalogue.models import Strain
from ..exports import csv_cell
from ..extensions import db
from ..lab.models import Mating
from ..requests.models import ConversionRequest

COLUMNS = (
    "parent_allele",
    "derived_allele",
    "excision",
    "deleter",
    "tat_cre",
    "colony",
    "background",
    "node",
    "completed_on",
)


def _deleters(req: ConversionRequest, matings: list[Mating]) -> str:
    """The deleter strains of the matings in force, in step order ("TAT-Cre" for a treatment)."""
    names: list[str] = []
    for mating in sorted(matings, key=lambda m: (m.step, m.id)):
        if getattr(mating, "voided", False) or getattr(mating, "voided_at", None):
            continue
        name = "TAT-Cre" if mating.method == "tat_cre" else (mating.deleter.label() if mating.deleter else "")
        if name and name not in names:
            names.append(name)
    if not names and req.use_tat_cre:
        names.append("TAT-Cre")
    return "; ".join(names)


def derived_allele_rows() -> list[dict]:
    """The report's rows, oldest archived first."""
    from ..alleles import background_of

    strains = list(
        db.session.scalars(
            select(Strain)
            .where(Strain.derived_from_id.is_not(None))
            .options(joinedload(Strain.derived_from), joinedload(Strain.holder_node))
            .order_by(Strain.archived_at, Strain.id)
        )
    )
    ids = [s.derived_by_request_id for s in strains if s.derived_by_request_id]
    requests = (
        {r.id: r for r in db.session.scalars(select(ConversionRequest).where(ConversionRequest.id.in_(ids)))}
        if ids
        else {}
    )
    matings: dict[int, list[Mating]] = {}
    if ids:
        for m in db.session.scalars(
            select(Mating).where(Mating.request_id.in_(ids)).options(joinedload(Mating.deleter))
        ):
            matings.setdefault(m.request_id, []).append(m)
    rows = []
    for strain in strains:
        req = requests.get(strain.derived_by_request_id)
        steps = req.steps if req else []
        rows.append(
            {
                "parent_allele": strain.derived_from.allele_symbol,
                "derived_allele": strain.allele_symbol,
                "excision": " then ".join(s["recombinase"] for s in steps),
                "deleter": _deleters(req, matings.get(req.id, [])) if req else "",
                "tat_cre": "yes" if req is not None and req.use_tat_cre else "no",
                "colony": strain.derived_by_reference or "",
                "background": background_of(strain.strain_name, strain.gene),
                "node": strain.holder_node.code,
                "completed_on": strain.archived_at.date().isoformat() if strain.archived_at else "",
            }
        )
    return rows


def derived_alleles_tsv() -> str:
    """The report as tab-separated text (cells safe in spreadsheets: no formula runs)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in derived_allele_rows():
        writer.writerow([csv_cell(str(row[c]).replace("\t", " ")) for c in COLUMNS])
    return out.getvalue()
