"""Messages on a request: a thread between the requester, the node's staff and the coordinators.

Internal notes are for EMMA staff (node staff and coordinators): a requester never sees them and
cannot write one. Each message is written with its emails to the other side (the message_posted
signal: the outbox) in one transaction, and shows in the request's timeline."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from ..accounts.models import Role, User
from ..catalogue.models import Node
from ..errors import Forbidden, Invalid
from ..extensions import db
from .models import ConversionRequest, RequestMessage
from .operations import get_request
from .signals import message_posted

MAX_BODY = 4000


def post_message(user: User, request_id: int, *, body, internal=False) -> RequestMessage:
    req = get_request(user, request_id)
    if not isinstance(body, str) or not body.strip():
        raise Invalid("body is required: write the message.")
    body = body.strip()
    if len(body) > MAX_BODY:
        raise Invalid(f"The message is longer than {MAX_BODY} characters.")
    if not isinstance(internal, bool):
        raise Invalid("internal must be true or false.")
    if internal and user.role is Role.requester:
        raise Forbidden("Internal notes are for EMMA staff only: write a message instead.")
    message = RequestMessage(request_id=req.id, author=user, body=body, internal=internal)
    db.session.add(message)
    db.session.flush()
    message_posted.send(req, message=message)  # the emails, in this transaction
    db.session.commit()
    return message


def messages_of(user: User, req: ConversionRequest) -> list[RequestMessage]:
    """The messages of a request already loaded for `user`, oldest first (requesters: no notes)."""
    stmt = (
        select(RequestMessage)
        .where(RequestMessage.request_id == req.id)
        .options(joinedload(RequestMessage.author).joinedload(User.node))
    )
    if user.role is Role.requester:
        stmt = stmt.where(RequestMessage.internal.is_(False))
    return list(db.session.scalars(stmt.order_by(RequestMessage.id)))


class Author(NamedTuple):
    """What a timeline entry shows of a message's author (requests.present._who)."""

    display_name: str
    role: Role
    node: NodeCode | None


class NodeCode(NamedTuple):
    code: str


class TimelineMessage(NamedTuple):
    """A message as the request page's timeline shows it."""

    id: int
    created_at: datetime
    internal: bool
    body: str
    author: Author


def _timeline_statement(notes: bool):
    stmt = (
        select(
            RequestMessage.id,
            RequestMessage.created_at,
            RequestMessage.internal,
            RequestMessage.body,
            User.name,
            User.email,
            User.role,
            Node.code,
        )
        .join(User, User.id == RequestMessage.author_id)
        .outerjoin(Node, Node.id == User.node_id)
        .where(RequestMessage.request_id == bindparam("request_id"))
    )
    if not notes:
        stmt = stmt.where(RequestMessage.internal.is_(False))
    return stmt.order_by(RequestMessage.id)


_TIMELINE = {True: _timeline_statement(True), False: _timeline_statement(False)}  # built once per process


def timeline_messages(user: User, req: ConversionRequest) -> list[TimelineMessage]:
    """messages_of(user, req) as plain rows of what the request page's timeline shows."""
    # Plain rows straight from the session's connection: no ORM result handling (a read, nothing to flush).
    rows = db.session.connection().execute(_TIMELINE[user.role is not Role.requester], {"request_id": req.id}).all()
    return [
        TimelineMessage(mid, at, internal, body, Author(name or email, role, NodeCode(code) if code else None))
        for mid, at, internal, body, name, email, role, code in rows
    ]


def list_messages(user: User, request_id: int) -> list[RequestMessage]:
    return messages_of(user, get_request(user, request_id))
