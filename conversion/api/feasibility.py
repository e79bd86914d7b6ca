import marshmallow as ma
from flask_smorest import Blueprint

from ..errors import ApiError

blp = Blueprint("api_feasibility", __name__, description="Can this allele be converted?")


class FeasibilityRequest(ma.Schema):
    allele = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    target = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20))
    cassette = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=60))
    design = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.OneOf(["conditional"]),
        metadata={
            "description": "'conditional' declares a CRISPR em allele floxed "
            "(its symbol cannot show it): em1 -> em1.1 with Cre"
        },
    )


class StepDetail(ma.Schema):
    number = ma.fields.Integer()
    recombinase = ma.fields.String()
    from_class = ma.fields.String()
    to_class = ma.fields.String()
    from_symbol = ma.fields.String()
    to_symbol = ma.fields.String()
    tat_cre_possible = ma.fields.Boolean()
    qc_assays = ma.fields.List(ma.fields.String())


class FeasibilityResponse(ma.Schema):
    feasible = ma.fields.Boolean(required=True)
    source_class = ma.fields.String(allow_none=True)
    product_symbol = ma.fields.String(allow_none=True)
    steps = ma.fields.List(ma.fields.String())
    reason = ma.fields.String(allow_none=True)
    target = ma.fields.String()
    product_class = ma.fields.String(allow_none=True)
    warnings = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Assumptions the engine made about the allele's structure, and how to run the steps"},
    )
    assumed_cassette = ma.fields.String(allow_none=True)
    step_details = ma.fields.List(ma.fields.Nested(StepDetail))


@blp.route("/feasibility", methods=["POST"])
@blp.arguments(FeasibilityRequest)
@blp.response(200, FeasibilityResponse)
def feasibility(body):
    """Whether `allele` can be converted into the `target` class, how, and if not why."""
    from ..alleles import SymbolError, plan_conversion

    try:
        plan = plan_conversion(body["allele"], body["target"], body.get("cassette"), design=body.get("design"))
    except SymbolError as exc:
        raise ApiError(422, f"Cannot parse allele symbol {body['allele']!r}: {exc}") from None
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    return plan.to_dict()
