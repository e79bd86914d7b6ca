"""Uploaded documents of a request: the row describes the file; the bytes live in the documents
directory (DOCUMENTS_DIR), stored once under their SHA-256 and never overwritten."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import UTCDateTime, db, iso_utc, utcnow


class DocumentKind(str, enum.Enum):
    mta = "mta"
    purchase_order = "purchase_order"
    import_permit = "import_permit"
    health_report = "health_report"
    other = "other"


KIND_LABELS = {
    DocumentKind.mta: "Signed Material Transfer Agreement",
    DocumentKind.purchase_order: "Purchase order",
    DocumentKind.import_permit: "Import permit",
    DocumentKind.health_report: "Health report",
    DocumentKind.other: "Other document",
}


class RequestDocument(db.Model):
    __tablename__ = "request_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("conversion_requests.id"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    uploaded_by: Mapped[User] = relationship()

    __table_args__ = (Index("ix_request_documents_request_id_id", "request_id", "id"),)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(DocumentKind(self.kind), self.kind)

    def to_dict(self, url: str) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "url": url,
            "uploaded_by": self.uploaded_by.email,
            "uploaded_at": iso_utc(self.uploaded_at),
        }


@event.listens_for(RequestDocument, "before_update")
def _documents_are_immutable(mapper, connection, target):
    raise ValueError("An uploaded document never changes: upload a new one.")
