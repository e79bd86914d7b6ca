"""Messages on a request: a thread between the requester, the node's staff and the coordinators.

Internal notes are for EMMA staff (node staff and coordinators): a requester never sees them and
cannot write one. Each message is written with its emails to the other side (the message_posted
signal: the outbox) in one transaction, and shows in the request's timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import JSON, Boolean, Integer, String, Text, bindparam, cast, literal_column, null, select, union_all
from sqlalchemy.orm import aliased, joinedload

from ..accounts.models import Role, User
from ..catalogue.models import Node
from ..errors import Forbidden, Invalid
from ..extensions import by_key, db
from ..reads import Read
from .models import ConversionRequest, RequestEvent, RequestMessage
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


class TimelineEvent(NamedTuple):
    """A history event as the request page's timeline shows it."""

    id: int
    at: datetime
    trigger: str
    from_status: str | None
    to_status: str
    comment: str | None
    data: dict[str, Any] | None
    actor: Author


def _author(user_id) -> list:
    """The name, email, role and node code of the user `user_id` refers to, each by primary key
    (extensions.by_key; joined, PostgreSQL hashed all users for each page's timeline: 0.94 -> 0.19
    ms of execution at 1,000 users under EXPLAIN ANALYZE)."""
    user = aliased(User)
    code = select(Node.code).join(user, user.node_id == Node.id).where(user.id == user_id).scalar_subquery()
    return [
        *(by_key(column, User.id, user_id).label(column.key) for column in (User.name, User.email, User.role)),
        code.label("code"),
    ]


def _timeline_both_statement(notes: bool):
    """The request's history (part 0) and messages (part 1) in one statement: the UNION ALL of
    each event with NULLs for a message's columns, and of each message with NULLs for an event's."""
    events = select(
        literal_column("0", Integer()).label("part"),
        RequestEvent.id,
        RequestEvent.at,
        RequestEvent.trigger,
        RequestEvent.from_status,
        RequestEvent.to_status,
        RequestEvent.comment,
        RequestEvent.data,
        cast(null(), Boolean()).label("internal"),
        cast(null(), Text()).label("body"),
        *_author(RequestEvent.actor_id),
    ).where(RequestEvent.request_id == bindparam("request_id"))
    messages = select(
        literal_column("1", Integer()).label("part"),
        RequestMessage.id,
        RequestMessage.created_at,
        cast(null(), String()),
        cast(null(), String()),
        cast(null(), String()),
        cast(null(), Text()),
        cast(null(), JSON()),
        RequestMessage.internal,
        RequestMessage.body,
        *_author(RequestMessage.author_id),
    ).where(RequestMessage.request_id == bindparam("request_id"))
    if not notes:
        messages = messages.where(RequestMessage.internal.is_(False))
    return union_all(events, messages)


_TIMELINE_BOTH = {True: Read(_timeline_both_statement(True)), False: Read(_timeline_both_statement(False))}


def timeline(user: User, request_id: int) -> list[tuple[str, TimelineEvent | TimelineMessage]]:
    """The request page's timeline: its history and the messages `user` may see (requesters: no
    notes), in time order, as [("event", TimelineEvent) | ("message", TimelineMessage)]. One
    statement of plain rows (not the request's history entities with their actors and nodes)."""
    rows = _TIMELINE_BOTH[user.role is not Role.requester].all({"request_id": request_id})
    items: list[tuple[Any, int, int, str, TimelineEvent | TimelineMessage]] = []
    for part, rid, at, trigger, from_status, to_status, comment, data, internal, body, name, email, role, code in rows:
        author = Author(name or email, role, NodeCode(code) if code else None)
        if part == 0:
            event = TimelineEvent(rid, at, trigger, from_status, to_status, comment, data, author)
            items.append((at, 0, rid, "event", event))
        else:
            items.append((at, 1, rid, "message", TimelineMessage(rid, at, internal, body, author)))
    items.sort(key=lambda t: t[:3])
    return [(kind, item) for *_, kind, item in items]


def list_messages(user: User, request_id: int) -> list[RequestMessage]:
    return messages_of(user, get_request(user, request_id))
