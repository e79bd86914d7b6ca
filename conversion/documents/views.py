"""Pages: upload a document to a request (the panel on the request page lists them)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from ..errors import ApiError
from . import operations as ops

bp = Blueprint("documents", __name__)


@bp.route("/requests/<int:request_id>/documents", methods=["POST"])
@login_required
def upload(request_id: int):
    back = url_for("requests.show", request_id=request_id) + "#docs-h"
    upload = request.files.get("file")
    try:
        doc = ops.upload_document(
            current_user,
            request_id,
            kind=request.form.get("kind"),
            name=upload.filename if upload else None,
            stream=upload.stream if upload and upload.filename else None,
        )
    except ApiError as exc:
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
        return redirect(back)
    flash(f"{doc.kind_label} uploaded: {doc.name} ({doc.size:,} bytes, SHA-256 {doc.sha256[:12]}…).", "success")
    return redirect(back)
