"""Notifications: who hears about a transition, the outbox, and its delivery.

`on_event` runs inside the transaction of the transition (requests.signals.request_changed), so a
change and its emails are committed together or not at all. `send_pending` delivers them
afterwards (`flask outbox send`), one row at a time: the row is locked while its email is
handed to the SMTP server and marked sent in the same transaction, so two senders never send
one message twice, and a message whose sending failed stays queued with a backoff."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, render_template
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from ..accounts.models import Role, User
from ..extensions import db, utcnow
from .models import CATEGORIES, NotificationPreference, OutboxMessage

# Triggers the coordinators hear about (besides the requests they act on themselves).
COORDINATION_TRIGGERS = frozenset(
    {"submit", "decline", "cancel", "hold", "resume", "rederivation_failed", "confirm_delivery"}
)
BACKOFF_FIRST = 60  # seconds before the first retry; doubles each attempt
BACKOFF_MAX = 6 * 3600  # never wait longer than this between two attempts


# ---- preferences ---------------------------------------------------------------
def preferences(user: User) -> NotificationPreference:
    """The user's preferences (a new, unsaved row with everything on when none is stored)."""
    pref = db.session.get(NotificationPreference, user.id)
    if pref is None:
        pref = NotificationPreference(user_id=user.id, my_requests=True, node_queue=True, coordination=True)
    return pref


def relevant_categories(user: User) -> list[str]:
    """The categories that can concern a user of this role."""
    return {Role.requester: ["my_requests"], Role.staff: ["node_queue"], Role.coordinator: ["coordination"]}[user.role]


def save_preferences(user: User, **choices: bool) -> NotificationPreference:
    pref = preferences(user)
    for name in CATEGORIES:
        if name in choices:
            setattr(pref, name, bool(choices[name]))
    db.session.add(pref)
    db.session.commit()
    return pref


# ---- who hears about what ------------------------------------------------------
@dataclass
class Audience:
    """recipient user -> category, first category wins (one email per person and event)."""

    users: dict[int, tuple[User, str]] = field(default_factory=dict)

    def add(self, users, category: str, actor: User) -> None:
        for user in users:
            if user.id != actor.id and user.active and user.id not in self.users:
                self.users[user.id] = (user, category)


def audience(req, event) -> list[tuple[User, str]]:
    """Who is told about `event`: the requester of every change to their request; staff of the
    assigned node when someone else acts on it; coordinators of what needs coordination.
    Never the person who acted. All of them can see the request (confidential strains too)."""
    actor = event.actor
    out = Audience()
    out.add([req.requester], "my_requests", actor)
    if req.node_id is not None and not actor.is_staff_of(req.node_id):
        out.add(
            db.session.scalars(
                select(User).where(User.role == Role.staff, User.node_id == req.node_id).order_by(User.id)
            ),
            "node_queue",
            actor,
        )
    if event.trigger in COORDINATION_TRIGGERS:
        out.add(
            db.session.scalars(select(User).where(User.role == Role.coordinator).order_by(User.id)),
            "coordination",
            actor,
        )
    return _wanted(out)


def _wanted(out) -> list:
    """The (user, category) pairs whose notification preferences want that category."""
    ids = list(out.users)
    prefs = (
        {
            p.user_id: p
            for p in db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id.in_(ids)))
        }
        if ids
        else {}
    )
    return [
        (user, category)
        for uid, (user, category) in out.users.items()
        if uid not in prefs or prefs[uid].wants(category)
    ]


def on_event(req, event) -> None:
    """request_changed receiver: queue one email per recipient, in the transition's transaction."""
    recipients = audience(req, event)
    if not recipients:
        return
    from workflows.lifecycle import CANCEL_REASONS

    from ..requests.present import cancel_reason_label, history_label, state_label

    base = current_app.config["BASE_URL"].rstrip("/")
    context = dict(
        req=req,
        event=event,
        url=f"{base}/requests/{req.id}",
        settings_url=f"{base}/settings/notifications",
        what=history_label(event.trigger),
        state=state_label(event.to_status),
        previous=state_label(event.from_status) if event.from_status else None,
        reason=CANCEL_REASONS.get((event.data or {}).get("reason") or "", (event.data or {}).get("reason")),
    )
    subject = f"[EMMA] {req.reference}: {context['what']} ({context['state']})"[:300]
    slug = (event.data or {}).get("reason")
    for user, category in recipients:
        context.update(user=user, category=category, why=CATEGORIES[category].split(":")[0])
        if slug:  # requesters read the reason in their own words
            context["reason"] = cancel_reason_label(slug, user.role.value)
        db.session.add(
            OutboxMessage(
                recipient=user.email,
                subject=subject,
                category=category,
                request_id=req.id,
                body_text=render_template("notifications/event.txt", **context),
                body_html=render_template("notifications/event.html", **context),
            )
        )


def message_audience(req, message) -> list[tuple[User, str]]:
    """The other side of a message: the node's staff (or, before assignment, the coordinators) for
    a requester's message; the requester for EMMA's; EMMA staff only for an internal note."""
    author, out = message.author, Audience()
    staff = (
        list(
            db.session.scalars(
                select(User).where(User.role == Role.staff, User.node_id == req.node_id).order_by(User.id)
            )
        )
        if req.node_id
        else []
    )
    coordinators = list(db.session.scalars(select(User).where(User.role == Role.coordinator).order_by(User.id)))
    if message.internal:
        out.add(staff, "node_queue", author)
        out.add(coordinators, "coordination", author)
    elif author.role is Role.requester:
        out.add(staff, "node_queue", author)
        if not staff:
            out.add(coordinators, "coordination", author)
    else:
        out.add([req.requester], "my_requests", author)
    return _wanted(out)


def on_message(req, message) -> None:
    """message_posted receiver: one email per person on the other side, in the message's transaction."""
    base = current_app.config["BASE_URL"].rstrip("/")
    kind = "Internal note" if message.internal else "Message"
    subject = f"[EMMA] {req.reference}: {kind.lower()} from {message.author.display_name}"[:300]
    for user, category in message_audience(req, message):
        context = dict(
            req=req,
            message=message,
            kind=kind,
            user=user,
            url=f"{base}/requests/{req.id}#messages",
            settings_url=f"{base}/settings/notifications",
            why=CATEGORIES[category].split(":")[0],
        )
        db.session.add(
            OutboxMessage(
                recipient=user.email,
                subject=subject,
                category=category,
                request_id=req.id,
                body_text=render_template("notifications/message.txt", **context),
                body_html=render_template("notifications/message.html", **context),
            )
        )


# ---- delivery ------------------------------------------------------------------
def backlog() -> int:
    return (
        db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))) or 0
    )


def due_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def _claim(message_id: int) -> OutboxMessage | None:
    """Lock one unsent message for this transaction, or None when it is sent or another sender
    holds it. PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED. SQLite: a no-op UPDATE takes the
    database write lock (a second sender waits, then finds the row sent)."""
    stmt = select(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(attempts=OutboxMessage.attempts)
            .execution_options(synchronize_session=False)
        )
    else:
        stmt = stmt.with_for_update(skip_locked=True)
    return db.session.scalar(stmt.execution_options(populate_existing=True))


def build_email(message: OutboxMessage) -> EmailMessage:
    sender = current_app.config["MAIL_SENDER"]
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "emma.example"
    mail["Message-ID"] = make_msgid(f"outbox-{message.id}", domain=domain)
    mail.set_content(message.body_text)
    mail.add_alternative(message.body_html, subtype="html")
    return mail


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX))


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


class _Connection:
    """One SMTP connection for a run, opened on first use."""

    def __init__(self):
        self.smtp: smtplib.SMTP | None = None

    def send(self, mail: EmailMessage) -> None:
        if self.smtp is None:
            cfg = current_app.config
            self.smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg.get("MAIL_TIMEOUT", 20))
        self.smtp.send_message(mail)

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.smtp = None


def send_pending(ids: list[int] | None = None, *, now: datetime | None = None, progress=None) -> SendResult:
    """Deliver the due messages (or `ids`); one transaction per message. When the server cannot
    be reached, the run stops and the rest stay queued for the next run."""
    now = now or utcnow()
    ids = due_ids(now) if ids is None else ids
    db.session.commit()  # end the read transaction before locking rows one by one
    result, conn = SendResult(), _Connection()
    try:
        for message_id in ids:
            if progress:
                progress(1)
            try:
                message = _claim(message_id)
            except OperationalError:  # SQLite: another sender held the lock too long
                message = None
            if message is None or message.next_attempt_at > now:
                db.session.rollback()
                result.skipped += 1
                continue
            try:
                conn.send(build_email(message))
            except (smtplib.SMTPException, OSError) as exc:
                conn.close()
                message.attempts += 1
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                message.next_attempt_at = now + backoff(message.attempts)
                db.session.commit()
                result.failed += 1
                result.errors.append(f"#{message_id} to {message.recipient}: {message.last_error}")
                if not isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)):
                    break  # the server is down or refusing: keep the rest for the next run
                continue
            message.attempts += 1
            message.sent_at = utcnow()
            message.last_error = None
            db.session.commit()
            result.sent += 1
    finally:
        db.session.rollback()
        conn.close()
    return result


# ---- account requests (/register) -----------------------------------------------------------------
def on_account_event(pending, kind: str) -> None:
    """accounts.signals.account_request_changed receiver, in the change's transaction: an address
    confirmed -> every coordinator hears of an account to review; approved or refused -> the
    person hears it. (The emails with one-time links never go through the outbox.)"""
    from markupsafe import escape

    base = current_app.config["BASE_URL"].rstrip("/")
    if kind == "verified":
        who = f"{pending.name or pending.email} <{pending.email}>" + (
            f", {pending.organisation}" if pending.organisation else ""
        )
        subject = f"[EMMA] Account request to review: {pending.email}"[:300]
        text = f"{who} confirmed their address and asks for a requester account.\n\nDecide at {base}/admin/accounts\n"
        recipients = [
            u.email
            for u in db.session.scalars(
                select(User).where(User.role == Role.coordinator, User.active).order_by(User.id)
            )
        ]
        category = "coordination"
    elif kind in ("approved", "refused"):
        subject = f"[EMMA] Your account request was {kind}"
        text = (
            f"Your EMMA allele conversion account is ready: sign in at {base}/login with {pending.email} "
            "and the password you chose.\n"
            if kind == "approved"
            else "An EMMA coordinator did not approve your request for an account. Questions: reply to this email.\n"
        )
        recipients, category = [pending.email], "my_requests"
    else:
        return
    for recipient in recipients:
        db.session.add(
            OutboxMessage(
                recipient=recipient,
                subject=subject,
                category=category,
                request_id=None,
                body_text=text,
                body_html=f"<p>{escape(text)}</p>",
            )
        )
