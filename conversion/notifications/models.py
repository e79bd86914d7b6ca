"""The email outbox and each user's choice of notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import UTCDateTime, db, utcnow

CATEGORIES = {
    "my_requests": "My requests: every change to a request I submitted",
    "node_queue": "Node work queue: requests assigned to my node, and changes others make to them",
    "coordination": "Coordination: new requests to review, declines, holds and cancellations",
}


class OutboxMessage(db.Model):
    """One email, written in the transaction of the change it tells about; sent later
    by `flask outbox send`. `sent_at` is set once, after the SMTP server accepted it."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("conversion_requests.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_outbox_messages_pending", "sent_at", "next_attempt_at"),)


class NotificationPreference(db.Model):
    """Which categories of email a user gets (no row: all of them)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    my_requests: Mapped[bool] = mapped_column(default=True)
    node_queue: Mapped[bool] = mapped_column(default=True)
    coordination: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()

    def wants(self, category: str) -> bool:
        return bool(getattr(self, category))


class ArchiveWatch(db.Model):
    """A requester asking to be emailed when a product another open request is making gets
    archived (the archive loop). `product_symbol` is canonical; `notified_at` is set once the email
    is queued, `strain_id` then names the strain it was archived as."""

    __tablename__ = "archive_watches"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    product_symbol: Mapped[str] = mapped_column(String(200), index=True)
    waiting_on_id: Mapped[int | None] = mapped_column(ForeignKey("conversion_requests.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    strain_id: Mapped[int | None] = mapped_column(ForeignKey("strains.id"))

    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "product_symbol", name="uq_archive_watches_user_id"),)
