"""Response headers every page and API answer carries; the reverse proxy; refusing JSON
nested too deeply for the parser. See docs/security.md."""

from __future__ import annotations

from flask import abort, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from .inputs import json_body

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, with its signing serializer built once per secret key rather
    than on every request (itsdangerous encodes a test value each time it builds one)."""

    _built: tuple | None = None

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self._built is None or self._built[0] != keys:
            self._built = (keys, super().get_signing_serializer(app))
        return self._built[1]


def init_app(app) -> None:
    app.session_interface = SessionInterface()
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

    always = [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
    ]
    if app.config.get("SESSION_COOKIE_SECURE"):
        always.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    session_cookie = app.config["SESSION_COOKIE_NAME"]

    @app.after_request
    def _headers(response):
        headers = response.headers
        present = {key.lower() for key in headers.keys()}  # noqa: SIM118 (Headers iterate as pairs)
        headers.extend([(key, value) for key, value in always if key.lower() not in present])
        if "cache-control" not in present and (
            "Authorization" in request.headers or request.cookies.get(session_cookie)
        ):
            # personal pages and answers are not kept by shared caches or the back button
            headers["Cache-Control"] = "no-store"
        return response
