"""The archive loop's waiting list: a requester whose request was refused because an open request
is already making the same product asks to be emailed when that product is archived."""

from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..catalogue.operations import get_strain
from ..errors import Conflict, Invalid
from ..extensions import db, iso_utc, utcnow
from ..requests.operations import archived_derivative, open_request_making
from .models import ArchiveWatch, OutboxMessage

CATEGORY = "archive_watch"


def _product(user: User, strain: str, target: str) -> str:
    from ..alleles import SymbolError, plan_conversion

    found = get_strain(user, strain or "") if isinstance(strain, str) else None
    if found is None:
        raise Invalid(f"No strain {strain!r} in the catalogue.")
    try:
        plan = plan_conversion(found.allele_symbol, target, design=found.design)
    except (SymbolError, ValueError) as exc:
        raise Invalid(str(exc)) from None
    if not plan.feasible:
        raise Invalid(f"This conversion is not possible: {plan.reason}")
    return plan.product_symbol


def watch_archive(user: User, *, strain: str, target: str) -> ArchiveWatch:
    """Ask to be emailed when the product of (strain, target) is archived. 422 when it already is
    (naming the strain) or when no open request is making it (then submit a request instead).
    Asking twice answers the first watch."""
    product = _product(user, strain, target)
    existing = archived_derivative(product)
    if existing is not None:
        raise Invalid(f"{product} is already archived at EMMA as {existing.emma_id}: request that strain.")
    making = open_request_making(product)
    if making is None:
        raise Invalid(f"No open request is making {product}: submit a conversion request for it instead.")
    watch = db.session.scalar(
        select(ArchiveWatch).where(ArchiveWatch.user_id == user.id, ArchiveWatch.product_symbol == product)
    )
    if watch is not None and watch.notified_at is None:
        return watch
    if watch is None:
        watch = ArchiveWatch(user_id=user.id, product_symbol=product)
        db.session.add(watch)
    watch.waiting_on_id, watch.notified_at, watch.strain_id = making.id, None, None
    try:
        db.session.commit()
    except IntegrityError:  # the same ask at the same moment
        db.session.rollback()
        raise Conflict("You asked for this at the same moment twice: reload and try again.") from None
    return watch


def my_watches(user: User) -> list[ArchiveWatch]:
    return list(
        db.session.scalars(select(ArchiveWatch).where(ArchiveWatch.user_id == user.id).order_by(ArchiveWatch.id.desc()))
    )


def watch_dict(watch: ArchiveWatch) -> dict:
    from ..catalogue.models import Strain

    strain = db.session.get(Strain, watch.strain_id) if watch.strain_id else None
    return {
        "id": watch.id,
        "product_symbol": watch.product_symbol,
        "created_at": iso_utc(watch.created_at),
        "notified_at": iso_utc(watch.notified_at),
        "archived_strain": strain.emma_id if strain else None,
    }


def on_archived(req, event) -> None:
    """request_changed receiver: when a product becomes a catalogue strain, email everyone waiting
    for it (in the transition's transaction), once."""
    strain = req.archived_strain
    if event.trigger != "complete_cryopreservation" or strain is None:
        return
    watches = list(
        db.session.scalars(
            select(ArchiveWatch).where(
                ArchiveWatch.product_symbol == req.product_symbol, ArchiveWatch.notified_at.is_(None)
            )
        )
    )
    base = current_app.config["BASE_URL"].rstrip("/")
    for watch in watches:
        user = db.session.get(User, watch.user_id)
        if user is None or not user.active:
            continue
        context = dict(
            user=user, strain=strain, url=f"{base}/strains/{strain.emma_id}", confidential=not strain.is_public
        )
        db.session.add(
            OutboxMessage(
                recipient=user.email,
                category=CATEGORY,
                request_id=None,
                subject=f"[EMMA] {strain.allele_symbol} is archived as {strain.emma_id}"[:300],
                body_text=render_template("notifications/archived.txt", **context),
                body_html=render_template("notifications/archived.html", **context),
            )
        )
        watch.notified_at, watch.strain_id = utcnow(), strain.id
