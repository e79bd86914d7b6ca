import marshmallow as ma
from flask_smorest import Blueprint

from ..accounts.auth import api_user
from ..catalogue.operations import get_strain, search_strains
from ..errors import ApiError

blp = Blueprint("api_strains", __name__, description="The strain catalogue")


class StrainSchema(ma.Schema):
    emma_id = ma.fields.String()
    strain_name = ma.fields.String()
    allele_symbol = ma.fields.String()
    gene = ma.fields.String()
    holder_node = ma.fields.String()
    material = ma.fields.String()
    access = ma.fields.String()
    industry_licence = ma.fields.String(allow_none=True)
    design = ma.fields.String(allow_none=True, metadata={"description": "'conditional': a floxed CRISPR allele"})
    mgi_id = ma.fields.String(allow_none=True, metadata={"description": "the gene's MGI accession"})
    derived_from = ma.fields.String(
        allow_none=True,
        metadata={"description": "EMMA id of the strain this one was converted from (derived strains only)"},
    )
    derived_by = ma.fields.String(allow_none=True, metadata={"description": "reference of the conversion request"})
    archived_at = ma.fields.String(allow_none=True)


class StrainQuery(ma.Schema):
    q = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 200))
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(0, 10**9))


class StrainList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(StrainSchema))


@blp.route("/strains")
@blp.arguments(StrainQuery, location="query")
@blp.response(200, StrainList)
def list_strains(args):
    """Search the catalogue by EMMA ID, gene, allele or strain name.

    Confidential and retracted strains are shown to coordinators only."""
    found = search_strains(api_user(), args["q"], args["limit"], args["offset"])
    return {"items": [s.to_dict() for s in found]}


@blp.route("/strains/<emma_id>")
@blp.response(200, StrainSchema)
def show_strain(emma_id):
    """One catalogue strain."""
    strain = get_strain(api_user(), emma_id)
    if strain is None:
        raise ApiError(404, f"No strain {emma_id} in the catalogue.")
    return strain.to_dict()
