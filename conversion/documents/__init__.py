"""Documents of a request: uploaded paperwork (MTA, purchase order, import permit, health
report), the conversion certificate, and the request page's documents panel (with invoices and
quotes from conversion.invoices, the layer below)."""

UPLOAD_ENDPOINTS = {"documents.upload", "api_documents.upload"}


def init_app(app):
    from flask import request

    from ..requests.hooks import add_page_section
    from . import views
    from .operations import UPLOAD_LIMIT, request_section

    app.register_blueprint(views.bp)
    add_page_section(app, request_section)

    @app.url_value_preprocessor
    def _upload_limit(endpoint, values):
        """Uploads may be larger than other requests (MAX_CONTENT_LENGTH); set before the CSRF
        check reads the form. The file itself is held to UPLOAD_LIMIT by the operation (413)."""
        if endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = UPLOAD_LIMIT + 256 * 1024
