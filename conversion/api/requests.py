"""Requests: submit, list, read, fire triggers (lab records: api/lab.py)."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request
from flask_smorest import Blueprint
from werkzeug.datastructures import MultiDict

from ..accounts.auth import bearer_token
from ..errors import NotFound
from ..requests import operations as ops
from ..requests.serialize import request_detail, row_detail, summaries_from_rows
from ..urls import query_value
from . import error_responses, not_signed_in, require_user

blp = Blueprint("api_requests", __name__, description="Conversion requests and their lifecycle")

Str = ma.fields.String
Int = ma.fields.Integer


def _len(n: int):
    return ma.validate.Length(max=n)


class BillingSchema(ma.Schema):
    organisation = Str(required=True, validate=_len(200))
    address = Str(required=True, validate=_len(1000))
    country = Str(required=True, validate=_len(100), metadata={"description": "ISO 3166-1 alpha-2 code, e.g. DE"})
    vat_number = Str(load_default=None, allow_none=True, validate=_len(30))
    sector = Str(required=True, validate=ma.validate.OneOf(["academic", "industry"]))


class SubmitSchema(ma.Schema):
    strain = Str(required=True, validate=_len(300))
    target = Str(required=True, validate=_len(10))
    deliverable = Str(required=True, validate=ma.validate.OneOf(["frozen_sperm", "frozen_embryos", "live_animals"]))
    billing = ma.fields.Nested(BillingSchema, required=True)
    use_tat_cre = ma.fields.Boolean(load_default=False)
    comment = Str(load_default=None, allow_none=True, validate=_len(2000))


class HistorySchema(ma.Schema):
    trigger = Str()
    from_ = Str(data_key="from", attribute="from", allow_none=True)
    to = Str()
    by = Str()
    at = Str()
    comment = Str(allow_none=True)
    data = ma.fields.Dict()


class RequestSummarySchema(ma.Schema):
    id = Int()
    reference = Str()
    status = Str()
    strain = Str()
    gene = Str()
    target = Str()
    product_symbol = Str()
    node = Str(allow_none=True)
    requester = Str()
    created_at = Str()
    updated_at = Str()


class RequestSchema(RequestSummarySchema):
    strain_retracted = ma.fields.Boolean(
        metadata={"description": "coordinators and staff: the strain was retracted after submission"}
    )
    strain_name = Str()
    source_symbol = Str()
    source_class = Str()
    product_class = Str()
    product_strain_name = Str(allow_none=True)
    archived_strain = Str(
        allow_none=True,
        metadata={"description": "EMMA id of the catalogue strain the product became (after cryopreservation)"},
    )
    held_status = Str(allow_none=True)
    step = ma.fields.Dict(allow_none=True)
    plan = ma.fields.Dict()
    use_tat_cre = ma.fields.Boolean()
    deliverable = Str()
    billing = ma.fields.Dict()
    available_triggers = ma.fields.List(Str())
    history = ma.fields.List(ma.fields.Nested(HistorySchema))
    records = ma.fields.Dict()


class RequestListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RequestSummarySchema))
    next = Str(allow_none=True)


_LIST_TEXT = {"status": 30, "node": 20, "q": 200}  # ListQuery's strings: their maximum lengths
_LIST_INTS = {"cursor": 2**31 - 1, "limit": 100}  # its integers: their maximums (the minimum is 1)


class ListQuery(ma.Schema):
    status = Str(load_default=None, validate=_len(_LIST_TEXT["status"]))
    node = Str(load_default=None, validate=_len(_LIST_TEXT["node"]))
    q = Str(load_default=None, validate=_len(_LIST_TEXT["q"]))
    cursor = Int(load_default=None, validate=ma.validate.Range(1, _LIST_INTS["cursor"]))
    limit = Int(load_default=25, validate=ma.validate.Range(1, _LIST_INTS["limit"]))

    def load(self, data, *, many=None, partial=None, unknown=None):
        """The API list's query arguments: when each is given once and valid as they stand (plain
        digits within range, strings within their length), the same dict marshmallow would load,
        without its per-field machinery (~5 % of a list call's CPU); anything else through
        marshmallow, for the same answer or error."""
        args = getattr(data, "data", None)  # webargs' MultiDictProxy over request.args
        if many is None and partial is None and isinstance(args, MultiDict):
            loaded = _plain_list_args(args)
            if loaded is not None:
                return loaded
        return super().load(data, many=many, partial=partial, unknown=unknown)


def _plain_list_args(args: MultiDict) -> dict | None:
    """ListQuery's load of `args` when every value is given once and is valid as it stands, else None."""
    out: dict = {"status": None, "node": None, "q": None, "cursor": None, "limit": 25}
    for key, values in args.lists():
        if len(values) != 1:
            return None
        value = values[0]
        longest = _LIST_TEXT.get(key)
        if longest is not None:
            if len(value) > longest:
                return None
            out[key] = value
            continue
        highest = _LIST_INTS.get(key)
        if highest is None or not (value.isascii() and value.isdigit()) or len(value) > 10:
            return None
        number = int(value)
        if not 1 <= number <= highest:
            return None
        out[key] = number
    return out


class EventSchema(ma.Schema):
    trigger = Str(required=True, validate=_len(40))
    comment = Str(load_default=None, allow_none=True, validate=_len(4000))
    node = Str(load_default=None, allow_none=True, validate=_len(20))
    reason = Str(load_default=None, allow_none=True, validate=_len(100))


class SuggestionSchema(ma.Schema):
    node = Str()
    name = Str()
    ok = ma.fields.Boolean()
    problem = Str(allow_none=True)
    holds_stock = ma.fields.Boolean()
    open_requests = Int()


class SuggestionList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SuggestionSchema))


ERRORS = (401, 403, 404, 409, 422)


def _errors(*codes):
    return error_responses(blp, *codes)


def _json(payload: dict, status: int = 200):
    """The hot read endpoints build plain JSON-ready dicts already in the documented shape (the
    `@blp.response` schema still documents them); a `Response` skips flask-smorest's per-field
    marshmallow dump, which cost about as much as the query. Same bytes as `jsonify`."""
    resp = current_app.json.response(payload)
    resp.status_code = status
    return resp


IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": "Any unique string per submission: a retry, or the same submit sent "
    "several times at once, answers the first request (201) instead of "
    "making another; the key with a different strain or target is 409.",
}


@blp.route("/requests", methods=["POST"])
@blp.arguments(SubmitSchema)
@blp.response(201, RequestSchema)
@blp.doc(parameters=[IDEMPOTENCY_KEY])
@_errors(401, 403, 409, 422)
def submit(body):
    """Submit a conversion request (requesters). An `Idempotency-Key` header (1-100 characters)
    makes a retry, or the same submit sent several times at once, answer the first request."""
    user = require_user()
    req = ops.submit_request(
        user,
        strain=body["strain"],
        target=body["target"],
        deliverable=body["deliverable"],
        billing=ops.Billing(**body["billing"]),
        use_tat_cre=body["use_tat_cre"],
        comment=body["comment"],
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return request_detail(req, user)


@blp.route("/requests", methods=["GET"])
@blp.arguments(ListQuery(), location="query")  # one instance: webargs builds none per call
@blp.response(200, RequestListSchema)
@_errors(401, 422)
def list_requests(args):
    """Requests you may see, newest first; `next` is the URL of the next page."""
    user = require_user(reads_only=True)  # the list reads the caller's id, role and node only
    rows, next_cursor = ops.list_request_summaries(
        user, status=args["status"], node=args["node"], q=args["q"], cursor=args["cursor"], limit=args["limit"]
    )
    nxt = None
    if next_cursor:  # url_for(".list_requests", cursor=next_cursor, **the other args) as url_for writes it
        others = [f"{k}={query_value(str(v))}" for k, v in args.items() if v is not None and k != "cursor"]
        query = "&".join([f"cursor={next_cursor}", *others])
        nxt = f"{request.script_root}{request.path}?{query}"
    return _json({"items": summaries_from_rows(rows), "next": nxt})


@blp.route("/requests/<int:request_id>", methods=["GET"])
@blp.response(200, RequestSchema)
@_errors(401, 404)
def show(request_id):
    """One request with its plan, step, available triggers, history and lab records."""
    token = bearer_token()
    if token is None:  # a signed-in browser
        user = require_user()
        return _json(row_detail(ops.read_request_detail(user, request_id), user))
    found = ops.read_detail_for_token(token, request_id)  # the caller, the request and its records at once
    if found is None:
        raise not_signed_in()
    user, row = found
    return _json(row_detail(row, user))


@blp.route("/requests/<int:request_id>/events", methods=["POST"])
@blp.arguments(EventSchema)
@blp.response(200, RequestSchema)
@_errors(401, 403, 404, 409, 422)
def fire(body, request_id):
    """Fire a lifecycle trigger (`assign` takes `node`, `cancel` takes `reason`)."""
    user = require_user()
    data = {k: body[k] for k in ("node", "reason") if body.get(k) is not None}
    req, _ = ops.fire_trigger(user, request_id, body["trigger"], comment=body["comment"], **data)
    try:
        return row_detail(ops.read_request_detail(user, request_id), user)  # reloaded with Core
    except NotFound:  # committed, and out of the caller's view now (a staff decline): still a 200
        return request_detail(req, user)


@blp.route("/requests/<int:request_id>/node-suggestions", methods=["GET"])
@blp.response(200, SuggestionList)
@_errors(401, 403, 404)
def suggestions(request_id):
    """Nodes ranked for assignment (coordinators)."""
    user = require_user("coordinator")
    req = ops.get_request(user, request_id)
    return {
        "items": [
            {
                "node": s.node.code,
                "name": s.node.name,
                "ok": s.ok,
                "problem": s.problem,
                "holds_stock": s.holds_stock,
                "open_requests": s.open_requests,
            }
            for s in ops.suggest_nodes(req)
        ]
    }
