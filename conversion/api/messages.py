"""Messages on a request (with internal notes for EMMA staff)."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from ..requests import messages as ops
from . import error_responses, require_user

blp = Blueprint("api_messages", __name__, description="Messages between requester, node and EMMA")

Str = ma.fields.String


class MessageBody(ma.Schema):
    body = Str(required=True, validate=ma.validate.Length(max=ops.MAX_BODY))
    internal = ma.fields.Boolean(
        load_default=False, metadata={"description": "an internal note: EMMA staff only (requesters: 403)"}
    )


class MessageSchema(ma.Schema):
    id = ma.fields.Integer()
    body = Str()
    internal = ma.fields.Boolean()
    by = Str()
    role = Str()
    at = Str()


class MessageList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MessageSchema))


@blp.route("/requests/<int:request_id>/messages", methods=["POST"])
@blp.arguments(MessageBody)
@blp.response(201, MessageSchema)
@error_responses(blp, 401, 403, 404, 422)
def post(body, request_id):
    """Write on the request's thread; each message emails the other side."""
    user = require_user()
    return ops.post_message(user, request_id, body=body["body"], internal=body["internal"]).to_dict()


@blp.route("/requests/<int:request_id>/messages", methods=["GET"])
@blp.response(200, MessageList)
@error_responses(blp, 401, 404)
def index(request_id):
    """The thread, oldest first (requesters never see internal notes)."""
    return {"items": [m.to_dict() for m in ops.list_messages(require_user(), request_id)]}
