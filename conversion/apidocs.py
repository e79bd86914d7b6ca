"""/api/v1/docs: the OpenAPI document rendered by a small static script (no CDN, no inline JS)."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

bp = Blueprint("apidocs", __name__)


@bp.route("/api/v1/docs")
def docs():
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))


def init_app(app) -> None:
    app.register_blueprint(bp)
