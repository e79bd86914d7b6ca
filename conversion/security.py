"""Response headers every page and API answer carries; the reverse proxy; refusing JSON
nested too deeply for the parser. See docs/security.md."""

from __future__ import annotations

from flask import abort, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .inputs import json_body

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def init_app(app) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:  # behind N reverse proxies: take the client address and scheme from them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    @app.before_request
    def _refuse_malformed_input():
        """400 for what the database or the parser cannot take, before any view runs: NUL
        characters in the path, query, form fields or JSON text (PostgreSQL refuses them in
        text); JSON nested so deeply that json.loads raises RecursionError, over-long numbers,
        lone surrogates (conversion/inputs.load_json); 422 for JSON integers past 32 bits."""
        if "\x00" in request.path or any(
            "\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)
        ):
            abort(400, "NUL characters are not allowed in the address.")
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        if request.is_json:
            json_body()  # parsed once, bounded (conversion/inputs.py): 400/422 before any view
        elif any("\x00" in key or "\x00" in value for key, value in request.form.items(multi=True)):
            abort(400, "NUL characters are not allowed in form fields.")

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if "Cache-Control" not in headers and (
            "Authorization" in request.headers or request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        ):
            # personal pages and answers are not kept by shared caches or the back button
            headers["Cache-Control"] = "no-store"
        return response
