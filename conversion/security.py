"""Response headers every page and API answer carries; the reverse proxy; refusing JSON
nested too deeply for the parser. See docs/security.md."""
from __future__ import annotations

from flask import abort, request
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")


def init_app(app) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:  # behind N reverse proxies: take the client address and scheme from them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    @app.before_request
    def _refuse_malformed_input():
        """400 for what the database or the parser cannot take, before any view runs: NUL
        characters in the path, query, form fields or JSON text (PostgreSQL refuses them in
        text), and JSON nested so deeply that json.loads raises RecursionError."""
        if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                          for key, value in request.args.items(multi=True)):
            abort(400, "NUL characters are not allowed in the address.")
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        if request.is_json:
            if b"\\u0000" in request.get_data(cache=True):
                abort(400, "NUL characters are not allowed in the JSON body.")
            try:
                body = request.get_json(silent=True)
            except RecursionError:
                abort(400, "The JSON body is nested too deeply.")
            if b"\\ud" in request.get_data(cache=True).lower() and not _encodable(body):
                abort(400, "The JSON body has text that is not valid Unicode (a lone surrogate).")
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
                "Authorization" in request.headers or request.cookies.get(app.config["SESSION_COOKIE_NAME"])):
            # personal pages and answers are not kept by shared caches or the back button
            headers["Cache-Control"] = "no-store"
        return response


def _encodable(value, depth: int = 0) -> bool:
    """Whether every string in a parsed JSON value can be stored (UTF-8: no lone surrogates)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if depth > 200:
        return True
    if isinstance(value, dict):
        return all(_encodable(k, depth + 1) and _encodable(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(v, depth + 1) for v in value)
    return True
