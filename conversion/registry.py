"""Per-app registries, filled by each domain's init_app (never module-level lists imported
across packages): navigation links, home-page cards and demo-data seeders.

They live in `app.extensions`, so two apps (tests build many) never share or double them, and a
lower layer never imports the page that shows its links."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

ROLES = ("requester", "staff", "coordinator")
Link = tuple[str, str]  # (title, endpoint)


def _store(app: Flask) -> dict:
    return app.extensions.setdefault(
        "conversion.registry",
        {"nav": {role: [] for role in ROLES}, "home": {role: [] for role in ROLES}, "seeders": [], "plan_extras": []},
    )


def add_links(app: Flask, role: str, *, nav: Link | None = None, home: Link | None = None) -> None:
    """A top-bar link and/or a home-page card for one role (in registration order)."""
    store = _store(app)
    for kind, link in (("nav", nav), ("home", home)):
        if link is not None and link not in store[kind][role]:
            store[kind][role].append(link)


def nav_links(app: Flask, role: str) -> list[Link]:
    return _store(app)["nav"].get(role, [])


def home_cards(app: Flask, role: str) -> list[Link]:
    return _store(app)["home"].get(role, [])


def add_seeder(app: Flask, seeder: Callable[[dict], None]) -> None:
    """A demo-data step; steps run in registration order (the layer order of DOMAINS) and share
    one dict (e.g. "nodes" by code)."""
    if seeder not in _store(app)["seeders"]:
        _store(app)["seeders"].append(seeder)


def seeders(app: Flask) -> list[Callable[[dict], None]]:
    return list(_store(app)["seeders"])


def add_plan_extra(app: Flask, extra: Callable) -> None:
    """A section of the check-the-plan step: extra(user, strain, plan, form) -> {"template": ...} or None."""
    if extra not in _store(app)["plan_extras"]:
        _store(app)["plan_extras"].append(extra)


def plan_extras(app: Flask) -> list[Callable]:
    return list(_store(app)["plan_extras"])
