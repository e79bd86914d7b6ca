"""The JSON API under /api/v1 (flask-smorest: schemas and OpenAPI from one source)."""

from __future__ import annotations

import flask_smorest
import marshmallow as ma
from flask import Flask, request
from flask_login import current_user
from flask_smorest import Api
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request

from ..accounts.auth import api_user, bearer_token
from ..errors import ApiError
from ..extensions import csrf
from ..inputs import json_body


class BoundedParser(FlaskParser):
    """webargs reads JSON bodies through conversion.inputs.load_json (via security.json_body):
    one parser, with the bounds, for every endpoint."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        body = json_body()
        return webargs_core.missing if body is None else body


# Every flask-smorest blueprint (conversion/api/*.py) parses its arguments with it.
flask_smorest.Blueprint.ARGUMENTS_PARSER = BoundedParser()


class ErrorSchema(ma.Schema):
    error = ma.fields.String(required=True, metadata={"description": "Human readable reason"})


class ConversionApi(Api):
    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def _register_error_handlers(self):
        """Errors are handled app-wide in conversion.errors (JSON under /api/)."""


api = ConversionApi()


def error_responses(blp, *codes: int):
    """Document `{"error": ...}` answers with these statuses on an endpoint."""

    def deco(fn):
        for code in codes:
            fn = blp.alt_response(code, schema=ErrorSchema, description='{"error": "..."}')(fn)
        return fn

    return deco


def not_signed_in() -> ApiError:
    return ApiError(401, "Not signed in: send 'Authorization: Bearer <token>' (POST /api/v1/tokens).")


def require_user(*roles: str, reads_only: bool = False):
    """The calling user (401 when not signed in, 403 when the role may not). `reads_only`: for a
    read-only view that reads no more of the user than its columns (auth.user_for_token)."""
    user = api_user(reads_only=reads_only)
    if user is None:
        raise not_signed_in()
    if roles and user.role.value not in roles:
        raise ApiError(403, f"Your role ({user.role.value}) may not do this.")
    return user


API_MODULES = ["tokens", "strains", "feasibility", "requests", "lab", "invoices", "documents", "messages", "archive"]
"""Modules of this package with a flask-smorest `blp`, registered under /api/v1."""


def init_api(app: Flask) -> None:
    import importlib

    api.init_app(app)
    for name in API_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    from .openapi import finish_spec

    finish_spec(api)  # bearer scheme, security per operation, {"error"} on every error response

    @app.before_request
    def _csrf_for_cookie_json():
        """Bearer calls need no CSRF token; cookie-authenticated (signed-in session) writes do."""
        if (
            request.path.startswith("/api/")
            and request.method not in ("GET", "HEAD", "OPTIONS")
            and bearer_token() is None
            and current_user.is_authenticated
            and request.path != "/api/v1/tokens"
        ):
            csrf.protect()
