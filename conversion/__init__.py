"""EMMA allele conversion request system: the Flask application factory."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from flask import Flask

from config import INSTANCE_DIR, get_config

ROOT = Path(__file__).resolve().parent.parent

# Each domain package exposes init_app(app): blueprints, hooks, CLI commands.
# In layer order (docs/DEVELOPING.md): registrations (demo seeders, links) happen in this order.
DOMAINS = [
    "security",
    "catalogue",
    "accounts",
    "requests",
    "lab",
    "dashboards",
    "invoices",
    "documents",
    "notifications",
    "observability",
    "pages",
    "apidocs",
]


class App(Flask):
    """Flask, with its check of whether a view or hook is a coroutine made once per function rather
    than on each of the ~15 calls of a request (inspect.iscoroutinefunction; issue 20)."""

    def ensure_sync(self, func):
        synced = self.__dict__.setdefault("_synced", {})
        found = synced.get(func)
        if found is None:
            found = super().ensure_sync(func)
            if len(synced) < 10_000:  # views and hooks are registered once; anything else is not kept
                synced[func] = found
        return found


def create_app(config: str | type | dict | None = None) -> Flask:
    """Build the app. `config` is a config name, a config class or a dict of overrides."""
    app = App(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(INSTANCE_DIR),
    )
    from .urls import IdConverter, fixed_url_for

    app.url_map.converters["int"] = IdConverter  # ids beyond the database's integers are 404s
    app.jinja_env.globals["url_for"] = fixed_url_for
    from .extensions import OrjsonProvider

    app.json = OrjsonProvider(app)
    overrides = config if isinstance(config, dict) else {}
    cfg = get_config(config if isinstance(config, str) else overrides.get("APP_CONFIG"))
    if isinstance(config, type):
        cfg = config
    app.config.from_object(cfg)
    app.config.update(overrides)
    cfg.validate(app.config)
    os.makedirs(app.instance_path, exist_ok=True)

    from .extensions import (
        check_pooled_connections,
        close_request_connection,
        csrf,
        db,
        end_reads_with_commit,
        login_manager,
        migrate,
        read_only_requests_in_autocommit,
    )

    # Registered before db's: the app context's teardowns run in reverse, so the read connection is
    # returned after the Session that may have joined it is closed.
    app.teardown_appcontext(close_request_connection)
    db.init_app(app)
    end_reads_with_commit(app)  # registered after db: runs before its session teardown
    check_pooled_connections()
    read_only_requests_in_autocommit()
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)

    from . import models  # noqa: F401  (register every table)
    from .api import init_api
    from .cli import register_cli
    from .errors import register_error_handlers

    for name in DOMAINS:
        importlib.import_module(f"{__name__}.{name}").init_app(app)  # noqa
    init_api(app)
    register_error_handlers(app)
    register_cli(app)
    return app
