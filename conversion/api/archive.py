"""The archive loop: the derived-alleles report for MGI, and asking to be told when a product is archived."""

from __future__ import annotations

import marshmallow as ma
from flask import Response
from flask_smorest import Blueprint

from . import error_responses, require_user

blp = Blueprint("api_archive", __name__, description="Derived strains: the MGI report, archive watches")


class WatchRequest(ma.Schema):
    strain = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20))
    target = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20))


class WatchSchema(ma.Schema):
    id = ma.fields.Integer()
    product_symbol = ma.fields.String()
    created_at = ma.fields.String()
    notified_at = ma.fields.String(allow_none=True)
    archived_strain = ma.fields.String(allow_none=True)


class WatchList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(WatchSchema))


@blp.route("/reports/derived-alleles", methods=["GET"])
@blp.response(
    200,
    content_type="text/tab-separated-values",
    description=(
        "TSV, one row per archived derivative: parent_allele, derived_allele, excision, deleter, tat_cre, "
        "colony, background, node, completed_on"
    ),
)
@error_responses(blp, 401, 403)
def derived_alleles():
    """The derived alleles EMMA archived, for reporting to MGI (coordinators)."""
    from ..dashboards.reports import derived_alleles_tsv

    require_user("coordinator")
    return Response(
        derived_alleles_tsv(),
        mimetype="text/tab-separated-values",
        headers={"Content-Disposition": 'attachment; filename="derived-alleles.tsv"'},
    )


@blp.route("/archive-watches", methods=["POST"])
@blp.arguments(WatchRequest)
@blp.response(201, WatchSchema)
@error_responses(blp, 401, 422)
def watch(body):
    """Be emailed when the product of `strain` and `target`, which an open request is making, is archived."""
    from ..notifications.archive import watch_archive, watch_dict

    user = require_user()
    return watch_dict(watch_archive(user, strain=body["strain"], target=body["target"]))


@blp.route("/archive-watches", methods=["GET"])
@blp.response(200, WatchList)
@error_responses(blp, 401)
def watches():
    """Your archive watches, newest first."""
    from ..notifications.archive import my_watches, watch_dict

    user = require_user()
    return {"items": [watch_dict(w) for w in my_watches(user)]}
