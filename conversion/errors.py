"""Error responses: JSON under /api/, friendly HTML pages elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from workflows import errors as wf

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A refusal with an HTTP status and a sentence for people.

    Raised by operations and API code; the API answers {"error": message},
    pages flash the message."""

    status = 400

    def __init__(self, status: int | str, message: str | None = None):
        if message is None:  # subclasses: Invalid("why")
            status, message = self.status, str(status)
        super().__init__(message)
        self.status = int(status)
        self.message = message


class Invalid(ApiError):
    status = 422


class NotFound(ApiError):
    status = 404


class Forbidden(ApiError):
    status = 403


class Conflict(ApiError):
    status = 409


# The lifecycle's refusals over HTTP (the one place that decides it): an unknown trigger or bad
# data for it 422, a role that may not 403, a wrong state or an unmet guard 409.
LIFECYCLE_ERRORS: dict[type[wf.LifecycleError], type[ApiError]] = {
    wf.UnknownTrigger: Invalid,
    wf.InvalidData: Invalid,
    wf.Forbidden: Forbidden,
    wf.NotAllowed: Conflict,
    wf.GuardFailed: Conflict,
}


def from_lifecycle(exc: wf.LifecycleError) -> ApiError:
    return LIFECYCLE_ERRORS.get(type(exc), Conflict)(exc.message)


def _flatten(messages, prefix: str = "") -> list[str]:
    """webargs/marshmallow error dicts -> 'field: message' sentences."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            name = "" if key in ("json", "query", "_schema", "form") else str(key)
            out += _flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
        return out
    if isinstance(messages, (list, tuple)):
        return [m for item in messages for m in _flatten(item, prefix)]
    return [f"{prefix}: {messages}" if prefix else str(messages)]


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, message: str):
    return jsonify(error=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        if wants_json():
            return json_error(exc.status, exc.message)
        template = f"errors/{exc.status}.html" if exc.status in (400, 403, 404, 405, 413) else "errors/generic.html"
        from types import SimpleNamespace

        # HTTPException.name is a read-only property: the templates only need these three.
        err = SimpleNamespace(code=exc.status, name="Not possible", description=exc.message)
        return render_template(template, error=err), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if wants_json():
            data = getattr(exc, "data", None) or {}
            messages = data.get("messages") or data.get("errors")
            message = (
                "; ".join(_flatten(messages)) if messages else (data.get("message") or exc.description or exc.name)
            )
            if exc.code == 422 and not messages:
                message = data.get("message") or exc.description
            response = json_error(exc.code or 500, message)
            if exc.code == 405:
                response[0].headers["Allow"] = ", ".join(exc.valid_methods or [])
            return response
        template = f"errors/{exc.code}.html" if exc.code in (400, 403, 404, 405, 413, 500) else "errors/generic.html"
        return render_template(template, error=exc), exc.code or 500

    from sqlalchemy import exc as sa_exc

    def _database_unavailable(exc: Exception):
        """The database cannot be reached (restart, outage, pool exhausted, busy): 503 with
        Retry-After, JSON under /api/, a page without anything that needs the database."""
        log.error("Database unavailable on %s %s: %s", request.method, request.path, exc)
        try:
            from .extensions import db

            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; the pool replaces it
            pass
        message = "The database is not available right now: please try again in a minute."
        if wants_json():
            response = json_error(503, message)[0]
            response.status_code = 503
        else:
            response = app.make_response((render_template("errors/503.html", message=message), 503))
        response.headers["Retry-After"] = "30"
        return response

    for cls in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, sa_exc.DisconnectionError):
        app.register_error_handler(cls, _database_unavailable)

    @app.errorhandler(sa_exc.DBAPIError)
    def _dbapi_error(exc):
        if exc.connection_invalidated:
            return _database_unavailable(exc)
        return _unexpected(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return json_error(500, "Internal error: the team has been notified.")
        return render_template("errors/500.html", error=InternalServerError()), 500
