"""Catalogue search and strain pages."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from .operations import derivatives_of, get_strain, search_strains

bp = Blueprint("catalogue", __name__)


@bp.route("/strains")
def search():
    q = request.args.get("q", "")[:200]
    return render_template("catalogue/search.html", q=q, strains=search_strains(current_user, q, limit=100))


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
    return render_template("catalogue/strain.html", strain=found, products=products, parent=parent,
                           derivatives=derivatives_of(current_user, found))
