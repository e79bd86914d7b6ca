import marshmallow as ma
from flask import request
from flask_smorest import Blueprint

from ..accounts.auth import bearer_token, issue_token, revoke_token
from ..accounts.operations import sign_in
from ..errors import ApiError
from . import require_user

blp = Blueprint("api_tokens", __name__, description="Sign in for API use")


class TokenRequest(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(max=254))
    password = ma.fields.String(required=True, validate=ma.validate.Length(max=200))


class TokenResponse(ma.Schema):
    token = ma.fields.String(required=True)


@blp.route("/tokens", methods=["POST"])
@blp.arguments(TokenRequest)
@blp.response(201, TokenResponse)
@blp.alt_response(401, schema=ma.Schema, description="Wrong email or password")
@blp.alt_response(429, schema=ma.Schema, description="Too many failed sign-ins: locked for a while")
def create_token(body):
    """Exchange email and password for a bearer token (failed attempts lock the account and
    the address out for a while, as on /login)."""
    user = sign_in(body["email"], body["password"], request.remote_addr, kind="token_created")
    return {"token": issue_token(user)}


class MeSchema(ma.Schema):
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    node = ma.fields.String(allow_none=True)


@blp.route("/me")
@blp.response(200, MeSchema)
def me():
    """Who the token (or session) belongs to."""
    user = require_user()
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "node": user.node.code if user.node else None,
    }


@blp.route("/tokens/current", methods=["DELETE"])
@blp.response(204)
def revoke_current_token():
    """Revoke the bearer token used for this call."""
    require_user()
    token = bearer_token()
    if token is None:
        raise ApiError(400, "Send the token to revoke as 'Authorization: Bearer <token>'.")
    revoke_token(token)
