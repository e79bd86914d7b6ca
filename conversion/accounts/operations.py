"""Account operations shared by the CLI, the pages and the API."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from ..catalogue.models import Node
from ..extensions import db
from .models import Role, User, password_hash_method

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A user could not be created or changed; the message says why."""


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountError(f"Invalid email address {email!r}: {exc}") from None


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(
    email: str, password: str, role: str, node_code: str | None = None, name: str = "",
    organisation: str = "",
) -> User:
    email = normalise_email(email)
    try:
        role_ = Role(role)
    except ValueError:
        raise AccountError(f"Unknown role {role!r}: use requester, staff or coordinator.") from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Password too short: at least {MIN_PASSWORD_LENGTH} characters.")
    if find_user(email) is not None:
        raise AccountError(f"A user with email {email} already exists.")
    node = None
    if role_ is Role.staff:
        if not node_code:
            raise AccountError("Staff must belong to a node: pass --node CODE.")
        node = db.session.scalar(select(Node).where(Node.code == node_code.strip().upper()))
        if node is None:
            raise AccountError(f"Unknown node {node_code!r}.")
    elif node_code:
        raise AccountError("Only staff belong to a node; drop --node for this role.")
    user = User(email=email, role=role_, node=node, name=name, organisation=organisation)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, else None (same work either way)."""
    user = find_user(email or "")
    if user is None:
        # Hash anyway so that unknown accounts take as long as wrong passwords.
        generate_password_hash(password or "", method=password_hash_method())
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    return user
