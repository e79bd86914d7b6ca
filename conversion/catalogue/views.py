"""Catalogue search and strain pages."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from .operations import get_strain, search_strains

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
        products = all_products(found.allele_symbol)
    except SymbolError:
        products = []
    return render_template("catalogue/strain.html", strain=found, products=products)
