"""`seed-demo`: the demo data set, built by the steps each domain registers (conversion.registry)."""

from __future__ import annotations

from flask import current_app

from .extensions import db
from .registry import seeders


def seed_demo() -> None:
    """Every registered step, in layer order (nodes and strains, users, price lists); idempotent."""
    context: dict = {}
    for seeder in seeders(current_app):
        seeder(context)
        db.session.flush()
    db.session.commit()
