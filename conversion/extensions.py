"""Flask extensions, created unbound and initialised in create_app()."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timestamp always stored and returned as timezone-aware UTC.

    SQLite keeps no zone, so values are normalised to UTC on the way in and
    marked UTC on the way out; PostgreSQL uses timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def utctoday() -> date:
    """Today's date in UTC: the one "today" of the app (price lists, invoices, lab dates, files)."""
    return utcnow().date()


def iso_utc(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as the API shows times."""
    return dt.isoformat().replace("+00:00", "Z") if dt else None


db = SQLAlchemy(model_class=Base)


def sqlite_write_lock(model, row_id: int) -> None:
    """SQLite has no SELECT ... FOR UPDATE: a no-op UPDATE of the row takes the database
    write lock, held until commit, so two writers of one row run one after the other.
    On PostgreSQL this does nothing (use with_for_update)."""
    if db.session.get_bind().dialect.name == "sqlite":
        table = model.__table__
        db.session.execute(table.update().where(table.c.id == row_id).values(id=table.c.id))


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
