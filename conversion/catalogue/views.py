"""Catalogue search and strain pages."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from .models import Material
from .operations import ALLELE_CLASSES, count_strains, derivatives_of, get_strain, holder_nodes, search_strains

bp = Blueprint("catalogue", __name__)

PER_PAGE = 100
MATERIAL_LABELS = {"frozen_sperm": "Frozen sperm", "frozen_embryos": "Frozen embryos", "live": "Live animals"}


def catalogue_args(source) -> dict:
    """The catalogue's query string, cleaned: q and the filters node, allele_class, material."""
    return {
        "q": (source.get("q") or "").strip()[:200],
        "node": (source.get("node") or "").strip().upper()[:20],
        "allele_class": (source.get("class") or "").strip()[:10],
        "material": (source.get("material") or "").strip()[:20],
    }


@bp.route("/strains")
def search():
    args = catalogue_args(request.args)
    try:
        page = max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        page = 1
    filters = {k: args[k] or None for k in ("node", "allele_class", "material")}
    total = count_strains(current_user, args["q"], **filters)
    strains = search_strains(current_user, args["q"], limit=PER_PAGE, offset=(page - 1) * PER_PAGE, **filters)
    link = {"q": args["q"], "node": args["node"], "class": args["allele_class"], "material": args["material"]}
    link = {k: v for k, v in link.items() if v}
    return render_template(
        "catalogue/search.html",
        q=args["q"],
        args=args,
        strains=strains,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        first=(page - 1) * PER_PAGE + 1,
        link=link,
        nodes=holder_nodes(),
        classes=ALLELE_CLASSES,
        materials=[(m.value, MATERIAL_LABELS.get(m.value, m.value)) for m in Material],
        filtered=any(filters.values()),
    )


@bp.route("/strains/<emma_id>")
def strain(emma_id: str):
    found = get_strain(current_user, emma_id)
    if found is None:
        abort(404)
    from ..alleles import SymbolError, all_products

    try:
        products = all_products(found.allele_symbol, design=found.design)
    except (SymbolError, ValueError):
        products = []
    parent = get_strain(current_user, found.derived_from.emma_id) if found.derived_from_id else None
    return render_template(
        "catalogue/strain.html",
        strain=found,
        products=products,
        parent=parent,
        derivatives=derivatives_of(current_user, found),
    )
