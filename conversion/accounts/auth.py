"""Sign-in plumbing: session users, bearer tokens, role checks."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import wraps

from flask import abort, current_app, g, request, session
from flask_login import current_user
from sqlalchemy import bindparam, select

from ..catalogue.models import Node
from ..extensions import db, login_manager, utcnow
from ..reads import Read, detached, entity
from .models import ApiToken, Role, User, UserSession, hash_token


def init_app(app) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.refresh_view = "accounts.login"
    login_manager.needs_refresh_message = "Please sign in again to confirm it is you."
    login_manager.needs_refresh_message_category = "info"

    @app.before_request
    def _forget_cached_caller():
        """`g` outlives a request when an app context was already pushed (the test suite's
        fixtures): never serve one request with the user (or the CSRF token) of the previous one."""
        g.pop("_login_user", None)
        g.pop("api_user", None)
        g.pop(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


# Built once per process, like TOKEN_CALLER below: every column of the user and of its node (every
# page's menu names the node), made into entities without the ORM's loading machinery (reads.entity).
_SESSION_USER = Read(
    select(*User.__table__.c, *(c.label(f"node__{c.key}") for c in Node.__table__.c))
    .join(UserSession, UserSession.user_id == User.id)
    .outerjoin(Node, Node.id == User.node_id)
    .where(
        User.id == bindparam("user_id"),
        UserSession.token_hash == bindparam("token_hash"),
        UserSession.ended_at.is_(None),
    )
)


_USER_KEYS = tuple(c.key for c in User.__table__.c)
_NODE_KEYS = tuple((f"node__{c.key}", c.key) for c in Node.__table__.c)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        uid, version = (int(part) for part in user_id.split(":", 1))
    except ValueError:
        return None
    sid = session.get("_sid")
    if not sid or not isinstance(sid, str):
        return None
    # One statement: the user, if this browser session is still open on the server (sign-out,
    # sign out everywhere and a password reset end it: a copied cookie stops working).
    row = _SESSION_USER.first({"user_id": uid, "token_hash": hash_token(sid)})
    if row is None or row.session_version != version or not row.active:
        return None
    values = row._asdict()
    node = None if row.node_id is None else entity(Node, {key: values[label] for label, key in _NODE_KEYS})
    return entity(User, {"node": node, **{key: values[key] for key in _USER_KEYS}})


def issue_token(user: User) -> str:
    """Create an API token for `user`; only its SHA-256 is stored."""
    token = secrets.token_urlsafe(32)
    ttl = timedelta(hours=current_app.config["API_TOKEN_TTL_HOURS"])
    db.session.add(ApiToken(user=user, token_hash=hash_token(token), expires_at=utcnow() + ttl))
    db.session.commit()
    return token


# The user of a valid API token (unrevoked, unexpired, active), in one narrow Core statement built
# once per process (building it cost about as much CPU as running it; a full User entity from the
# wide row cost more: 0.29 -> 0.18 ms per lookup, issue 20). Also a SELECT another statement reads
# with its own: the API detail reads the caller, the request it may see and its records in one
# statement (requests.operations.read_detail_for_token). The token's user id is a scalar subquery:
# PostgreSQL finds the token by its hash, then the user by its key (written as a join, its generic
# plan walked the users' primary key up to the caller's id).
TOKEN_CALLER = select(User.id, User.email, User.role, User.node_id, User.active).where(
    User.id
    == select(ApiToken.user_id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now"),
    )
    .scalar_subquery(),
    User.active,
)
_TOKEN_CALLER = Read(TOKEN_CALLER)


def token_caller_params(token: str) -> dict:
    """TOKEN_CALLER's parameters for `token`."""
    return {"token_hash": hash_token(token), "now": utcnow()}


def caller_from_row(row) -> User:
    """The API caller read by TOKEN_CALLER (within another statement) for a read-only view that
    reads only these columns of it (the API detail): in no session, so that the request needs none."""
    g.api_user = user = _caller(row, reads_only=True)
    return user


def user_for_token(token: str, *, reads_only: bool = False) -> User | None:
    """The active user of an unrevoked, unexpired token; None otherwise. `reads_only`: for a view
    that only reads the caller's id, email, role, node and flag, the User in no session (see
    caller_from_row)."""
    row = _TOKEN_CALLER.first(token_caller_params(token))
    if row is None:
        return None
    return _caller(row, reads_only=reads_only)


def _caller(row, *, reads_only: bool) -> User:
    """The User of a TOKEN_CALLER row, made from the columns read (no second statement): detached
    (`reads_only`), else a persistent entity of the session (its own copy if it holds one, else a
    new one whose other attributes load on first use, like an expired entity's)."""
    values = row._asdict()
    return detached(User, values) if reads_only else entity(User, values)


def revoke_token(token: str) -> None:
    from .operations import record_event

    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        record_event(
            "token_revoked", user=row.user, actor=row.user, address=request.remote_addr, detail=f"token #{row.id}"
        )
        db.session.commit()


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def api_user(*, reads_only: bool = False) -> User | None:
    """The caller of an API endpoint: bearer token first, else the session user (`reads_only`:
    as user_for_token)."""
    if "api_user" not in g:
        token = bearer_token()
        if token is not None:
            g.api_user = user_for_token(token, reads_only=reads_only)
        else:
            g.api_user = current_user if current_user.is_authenticated else None
    return g.api_user


def role_required(*roles: Role):
    """Page decorator: signed in, and one of `roles` (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
