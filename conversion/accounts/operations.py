"""Account operations shared by the CLI, the pages and the API: users, sign-in with lockout,
passwords, roles, sign-out everywhere, and the security audit trail."""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from datetime import timedelta
from typing import cast

from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from sqlalchemy import CursorResult, func, select, update
from werkzeug.security import generate_password_hash

from ..catalogue.models import Node
from ..errors import ApiError, Conflict, Forbidden, Invalid, NotFound
from ..extensions import db, utcnow
from .models import (
    AccountRequest,
    ApiToken,
    OneTimeToken,
    Role,
    SecurityEvent,
    User,
    UserSession,
    hash_token,
    password_hash_method,
)
from .signals import account_request_changed

log = logging.getLogger("conversion.security")

MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = frozenset(
    [
        "password",
        "password1",
        "password12",
        "password123",
        "password1234",
        "passw0rd123",
        "123456789012",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "qwertyuiop1",
        "qwerty12345",
        "qwerty123456",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "iloveyou123",
        "letmein123",
        "welcome123",
        "welcome1234",
        "changeme123",
        "administrator",
        "admin12345",
        "abc1234567",
        "abcdefghij",
        "abcd123456",
        "football123",
        "baseball123",
        "sunshine123",
        "princess123",
        "dragon1234",
        "monkey12345",
        "trustno1234",
        "superman123",
        "starwars123",
        "computer123",
        "internet123",
        "whatever123",
        "mousemouse1",
        "laboratory1",
    ]
)

# Sign-in throttling (app.config overrides): failures within the window lock the account
# (per email as typed, whether it exists or not) or the address for LOCKOUT minutes.
SIGN_IN_DEFAULTS = {
    "SIGN_IN_WINDOW_MINUTES": 15,
    "SIGN_IN_LOCKOUT_MINUTES": 15,
    "SIGN_IN_MAX_FAILURES_ACCOUNT": 5,
    "SIGN_IN_MAX_FAILURES_ADDRESS": 20,
}
WRONG = "Unknown email or wrong password."
LOCKED = "Too many failed sign-ins for this account or from your address: try again in {minutes} minutes."


class AccountError(Invalid, ValueError):
    """A user could not be created or changed; the message says why (422 on pages and API)."""


def _setting(name: str) -> int:
    return current_app.config.get(name, SIGN_IN_DEFAULTS[name]) if has_app_context() else SIGN_IN_DEFAULTS[name]


# ---- audit ------------------------------------------------------------------------
def record_event(
    kind: str,
    *,
    email: str | None = None,
    user: User | None = None,
    actor: User | None = None,
    address: str | None = None,
    detail: str = "",
) -> SecurityEvent:
    """Add a security event to the session (the caller commits) and write it to the log."""
    event = SecurityEvent(
        kind=kind,
        email=(email or (user.email if user else None) or None),
        user=user,
        actor=actor,
        address=(address or None) and address[:64],
        detail=detail[:500],
    )
    db.session.add(event)
    _log_event(event)
    return event


def _log_event(event: SecurityEvent) -> None:
    kind = event.kind
    level = logging.WARNING if kind.startswith(("lockout", "sign_in_failed", "sign_in_blocked")) else logging.INFO
    log.log(
        level,
        "security event %s",
        kind,
        extra={
            "fields": {
                "security_event": kind,
                "email": event.email,
                "address": event.address,
                "actor": event.actor.email if event.actor else None,
                "detail": event.detail,
            }
        },
    )


# ---- users ------------------------------------------------------------------------
def normalise_email(email: str) -> str:
    """NFKC (full-width and compatibility forms become plain letters), then the address as
    email_validator normalises it (IDNA domains in Unicode), lower-cased."""
    text = unicodedata.normalize("NFKC", (email or "").strip())
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountError(f"Invalid email address {email!r}: {exc}") from None


# Letters that look like Latin ones (Cyrillic, Greek, others) and digits that pass for letters.
CONFUSABLES = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "ɡ": "g",
        "һ": "h",
        "ӏ": "l",
        "ԛ": "q",
        "ԝ": "w",
        "ѡ": "w",
        "ү": "y",
        "α": "a",
        "ο": "o",
        "ρ": "p",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "ð": "d",
        "ß": "ss",
        "0": "o",
        "1": "l",
        "|": "l",
        "!": "l",
    }
)


def email_skeleton(email: str) -> str:
    """What an address looks like to a person: case, accents, look-alike letters (Cyrillic a,
    digit 0, rn for m), dots, dashes and +tags of the local part, punycode domains all
    folded away. Two different addresses with one skeleton are look-alikes."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", email or "").casefold())
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(CONFUSABLES)
    local, _, domain = text.rpartition("@")
    labels = []
    for label in domain.split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except (UnicodeError, ValueError):
                pass
        labels.append(label)
    domain = ".".join(labels).translate(CONFUSABLES)
    local = re.sub(r"[._\-]", "", local.split("+", 1)[0])
    return (local + "@" + domain).replace("rn", "m").replace("vv", "w").replace("cl", "d")


def look_alike(email: str) -> str | None:
    """An existing account's (or open account request's) address that looks like `email`
    without being it, else None."""
    from .models import AccountRequest

    skeleton = email_skeleton(email)
    known = list(db.session.scalars(select(User.email))) + list(
        db.session.scalars(select(AccountRequest.email).where(AccountRequest.status.in_(("unverified", "pending"))))
    )
    return next((other for other in known if other != email and email_skeleton(other) == skeleton), None)


def find_user(email: str) -> User | None:
    key = unicodedata.normalize("NFKC", (email or "").strip()).lower()
    return db.session.scalar(select(User).where(func.lower(User.email) == key))


def password_problem(password: str, email: str = "") -> str | None:
    """Why `password` is too weak, or None: at least 10 characters of two kinds or more
    (lower case, upper case, digits, others), not the email address, not a common password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password too short: at least {MIN_PASSWORD_LENGTH} characters."
    kinds = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]"))
    if kinds < 2:
        return "Password too simple: mix at least two kinds of characters (letters, digits, symbols)."
    lowered = password.strip().lower()
    if email and lowered in (email.strip().lower(), email.strip().lower().split("@")[0]):
        return "Password must not be your email address."
    if lowered in COMMON_PASSWORDS:
        return "Password too common: choose another one."
    return None


def _role_and_node(role: str, node_code: str | None) -> tuple[Role, Node | None]:
    try:
        role_ = Role(role)
    except ValueError:
        raise AccountError(f"Unknown role {role!r}: use requester, staff or coordinator.") from None
    node = None
    if role_ is Role.staff:
        if not node_code:
            raise AccountError("Staff must belong to a node: pass --node CODE.")
        node = db.session.scalar(select(Node).where(Node.code == node_code.strip().upper()))
        if node is None:
            raise AccountError(f"Unknown node {node_code!r}.")
    elif node_code:
        raise AccountError("Only staff belong to a node; drop --node for this role.")
    return role_, node


def create_user(
    email: str,
    password: str,
    role: str,
    node_code: str | None = None,
    name: str = "",
    organisation: str = "",
) -> User:
    email = normalise_email(email)
    role_, node = _role_and_node(role, node_code)
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem)
    if find_user(email) is not None:
        raise AccountError(f"A user with email {email} already exists.")
    similar = look_alike(email)
    if similar is not None:
        raise AccountError(
            f"{email} looks too much like the address of an existing account ({similar}): "
            "use a clearly different address."
        )
    user = User(email=email, role=role_, node=node, name=name, organisation=organisation)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


# ---- sign-in ------------------------------------------------------------------------
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


def _failures(column, value: str, resets: tuple[str, ...], kinds: tuple[str, ...] = ("sign_in_failed",)) -> int:
    """Failed sign-ins (`kinds`) for `value` in the window, since its last lockout or reset event."""
    since = utcnow() - timedelta(minutes=_setting("SIGN_IN_WINDOW_MINUTES"))
    last = db.session.scalar(select(func.max(SecurityEvent.at)).where(column == value, SecurityEvent.kind.in_(resets)))
    if last is not None and last > since:
        since = last
    return db.session.execute(
        select(func.count())
        .select_from(SecurityEvent)
        .where(SecurityEvent.kind.in_(kinds), column == value, SecurityEvent.at > since)
    ).scalar_one()


def _locked(column, value: str | None, kind: str) -> bool:
    if not value:
        return False
    since = utcnow() - timedelta(minutes=_setting("SIGN_IN_LOCKOUT_MINUTES"))
    return (
        db.session.execute(
            select(func.count())
            .select_from(SecurityEvent)
            .where(SecurityEvent.kind == kind, column == value, SecurityEvent.at > since)
        ).scalar_one()
        > 0
    )


def _sign_in_key(email: str | None) -> str:
    return (email or "").strip().lower()[:254]


def _lockouts(key: str, address: str | None) -> tuple[bool, bool]:
    """(account, address): locked out now."""
    return _locked(SecurityEvent.email, key, "lockout_account"), _locked(
        SecurityEvent.address, address, "lockout_address"
    )


def check_not_locked(email: str | None, address: str | None) -> None:
    """429 while the account (the email as typed) or the address is locked out."""
    key = _sign_in_key(email)
    if any(_lockouts(key, address)):
        log.warning(
            "sign-in refused: locked out",
            extra={"fields": {"security_event": "sign_in_blocked", "email": key, "address": address}},
        )
        raise ApiError(429, LOCKED.format(minutes=_setting("SIGN_IN_LOCKOUT_MINUTES")))


def _over_limits(key: str, address: str | None, *, started: bool) -> tuple[bool, bool]:
    """(account, address): their failures in the window reach the limits; `started`: counting the
    attempts still being checked too, and only beyond the limits (this one is among them)."""
    kinds = ("sign_in_failed", "sign_in_attempt") if started else ("sign_in_failed",)

    def over(column, value, resets, limit) -> bool:
        count = _failures(column, value, resets, kinds)
        return count > limit if started else count >= limit

    return (
        bool(key)
        and over(
            SecurityEvent.email,
            key,
            ("lockout_account", "sign_in", "token_created"),
            _setting("SIGN_IN_MAX_FAILURES_ACCOUNT"),
        ),
        bool(address)
        and over(SecurityEvent.address, address, ("lockout_address",), _setting("SIGN_IN_MAX_FAILURES_ADDRESS")),
    )


def _lock(key: str, address: str | None, account: bool, by_address: bool) -> None:
    """Record the lockouts (once per lockout period). Commits."""
    if account and not _locked(SecurityEvent.email, key, "lockout_account"):
        record_event(
            "lockout_account",
            email=key,
            address=address,
            detail=f"{_setting('SIGN_IN_MAX_FAILURES_ACCOUNT')} failed sign-ins",
        )
    if by_address and not _locked(SecurityEvent.address, address, "lockout_address"):
        record_event(
            "lockout_address",
            email=key,
            address=address,
            detail=f"{_setting('SIGN_IN_MAX_FAILURES_ADDRESS')} failed sign-ins",
        )
    db.session.commit()


def start_attempt(email: str | None, address: str | None, detail: str = "") -> SecurityEvent:
    """Record a password check BEFORE it is made (committed), so that attempts racing in
    parallel, in any worker, see each other: one beyond the limits is refused unchecked (429).
    The caller then calls attempt_failed() or turns the event into its success. Commits."""
    check_not_locked(email, address)
    key = _sign_in_key(email)
    event = SecurityEvent(
        kind="sign_in_attempt", email=key or None, address=(address or None) and address[:64], detail=detail[:500]
    )
    db.session.add(event)
    db.session.commit()
    # (a lockout recorded meanwhile restarts the count: it must refuse by itself)
    over, locked = _over_limits(key, address, started=True), _lockouts(key, address)
    account, by_address = over[0] or locked[0], over[1] or locked[1]
    if account or by_address:
        event.kind, event.detail = "sign_in_failed", "refused unchecked: over the limit (attempts at the same time)"
        _log_event(event)
        _lock(key, address, account, by_address)
        raise ApiError(429, LOCKED.format(minutes=_setting("SIGN_IN_LOCKOUT_MINUTES")))
    return event


def attempt_failed(event: SecurityEvent) -> None:
    """The password was wrong: a failure; lock once at the limits. Commits."""
    event.kind = "sign_in_failed"
    db.session.commit()
    _log_event(event)
    _lock(event.email or "", event.address, *_over_limits(event.email or "", event.address, started=False))


def sign_in(email: str | None, password: str | None, address: str | None, *, kind: str = "sign_in") -> User:
    """The user for these credentials, or ApiError 401 (wrong; the same answer whether the
    account exists or not) or 429 (locked out). Records the attempt; commits."""
    attempt = start_attempt(email, address)
    user = authenticate(email or "", password or "")
    if user is None:
        attempt_failed(attempt)
        raise ApiError(401, WRONG)
    attempt.kind, attempt.user = kind, user
    _log_event(attempt)
    db.session.commit()
    return user


# ---- changes to one's own account ------------------------------------------------------
def _sign_out_everywhere(user: User) -> int:
    """Bump the session version (every session cookie of the user stops working) and revoke
    the user's API tokens; return how many tokens were revoked. The caller commits."""
    user.session_version = (user.session_version or 0) + 1
    now = utcnow()
    db.session.execute(
        update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None)).values(ended_at=now)
    )
    db.session.execute(
        update(OneTimeToken).where(OneTimeToken.user_id == user.id, OneTimeToken.used_at.is_(None)).values(used_at=now)
    )
    result = cast(
        CursorResult,
        db.session.execute(
            update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
        ),
    )
    return result.rowcount or 0


def sign_out_everywhere(user: User, address: str | None = None) -> int:
    revoked = _sign_out_everywhere(user)
    record_event(
        "sign_out_everywhere", user=user, actor=user, address=address, detail=f"{revoked} API token(s) revoked"
    )
    db.session.commit()
    return revoked


def change_password(user: User, current: str, new: str, repeat: str, address: str | None = None) -> None:
    """Check the current password (a wrong one counts as a failed sign-in), the new one's
    strength; then sign out everywhere else. Commits."""
    attempt = start_attempt(user.email, address, detail="wrong current password on password change")
    if not user.check_password(current or ""):
        attempt_failed(attempt)
        raise Invalid("Your current password is wrong.")
    db.session.delete(attempt)  # not a failure; the change below is recorded as such
    db.session.commit()
    if new != repeat:
        raise Invalid("The two new passwords differ.")
    if new == current:
        raise Invalid("The new password is the same as the current one.")
    problem = password_problem(new or "", user.email)
    if problem:
        raise Invalid(problem)
    user.set_password(new)
    revoked = _sign_out_everywhere(user)
    record_event(
        "password_changed",
        user=user,
        actor=user,
        address=address,
        detail=f"other sessions signed out, {revoked} API token(s) revoked",
    )
    db.session.commit()


# ---- coordinators: roles ---------------------------------------------------------------
def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.email)))


def change_role(actor: User, user_id: int, role: str, node_code: str | None, address: str | None = None) -> User:
    """A coordinator changes another user's role and node (audit logged). Commits."""
    if actor.role is not Role.coordinator:
        raise Forbidden("Only coordinators change roles.")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    if user.id == actor.id:
        raise Conflict("You cannot change your own role: ask another coordinator.")
    role_, node = _role_and_node(role, node_code or None)
    before = describe_role(user)
    if (user.role, user.node_id) == (role_, node.id if node else None):
        return user
    user.role, user.node = role_, node
    record_event("role_changed", user=user, actor=actor, address=address, detail=f"{before} -> {describe_role(user)}")
    db.session.commit()
    return user


def describe_role(user: User) -> str:
    return user.role.value + (f" ({user.node.code})" if user.node else "")


def security_events(
    *, kind: str | None = None, email: str | None = None, before: int | None = None, limit: int = 100
) -> list[SecurityEvent]:
    stmt = select(SecurityEvent).order_by(SecurityEvent.id.desc()).limit(limit)
    if kind:
        stmt = stmt.where(SecurityEvent.kind == kind)
    if email:
        stmt = stmt.where(SecurityEvent.email == email.strip().lower())
    if before:
        stmt = stmt.where(SecurityEvent.id < before)
    return list(db.session.scalars(stmt))


EVENT_KINDS = (
    "sign_in",
    "sign_in_failed",
    "lockout_account",
    "lockout_address",
    "token_created",
    "token_revoked",
    "sign_out",
    "sign_out_everywhere",
    "password_changed",
    "role_changed",
    "sign_in_attempt",
    "account_requested",
    "account_verified",
    "account_approved",
    "account_refused",
    "password_reset_requested",
    "password_reset",
)


# ---- server-side sessions ------------------------------------------------------------------
def start_session(user: User) -> str:
    """A new server-side session for `user`; returns the random id for the session cookie (only
    its SHA-256 is stored). Commits."""
    sid = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, token_hash=hash_token(sid)))
    db.session.commit()
    return sid


def end_session(sid: str | None, user: User | None = None, address: str | None = None) -> None:
    """Sign-out: the session with this id stops working at once, whoever holds its cookie."""
    if sid:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == hash_token(sid), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
    if user is not None:
        record_event("sign_out", user=user, actor=user, address=address)
    db.session.commit()


# ---- throttling of the emailed links (like sign-in) --------------------------------------------
def _throttle(kind: str, email: str, address: str | None) -> None:
    """429 when `email` (as typed) asked for `kind` SIGN_IN_MAX_FAILURES_ACCOUNT times, or the
    address SIGN_IN_MAX_FAILURES_ADDRESS times, within the sign-in window; else record it."""
    since = utcnow() - timedelta(minutes=_setting("SIGN_IN_WINDOW_MINUTES"))

    def count(column, value) -> int:
        return (
            db.session.scalar(
                select(func.count())
                .select_from(SecurityEvent)
                .where(SecurityEvent.kind == kind, column == value, SecurityEvent.at > since)
            )
            or 0
        )

    if count(SecurityEvent.email, email) >= _setting("SIGN_IN_MAX_FAILURES_ACCOUNT") or (
        address and count(SecurityEvent.address, address) >= _setting("SIGN_IN_MAX_FAILURES_ADDRESS")
    ):
        log.warning(
            "emailed link refused: too many",
            extra={"fields": {"security_event": f"{kind}_blocked", "email": email, "address": address}},
        )
        raise ApiError(
            429,
            f"Too many requests for this address or from your network: try again in "
            f"{_setting('SIGN_IN_WINDOW_MINUTES')} minutes.",
        )
    record_event(kind, email=email, address=address)


def _new_token(kind: str, hours: int, **owner) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(
        OneTimeToken(kind=kind, token_hash=hash_token(token), expires_at=utcnow() + timedelta(hours=hours), **owner)
    )
    return token


def _valid_token(kind: str, token: str | None, *, lock: bool = False) -> OneTimeToken | None:
    """The unused, unexpired token of this kind, else None (the same for every reason)."""
    if not token or len(token) > 200:
        return None
    stmt = select(OneTimeToken).where(OneTimeToken.kind == kind, OneTimeToken.token_hash == hash_token(token))
    if lock:
        stmt = stmt.with_for_update()
    row = db.session.scalar(stmt)
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


def _link(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


# ---- /register: asking for an account -----------------------------------------------------------
VERIFY_HOURS = 48
RESET_HOURS = 1
REGISTERED = (
    "Thank you: if {email} can receive email, a link to confirm it is on its way. "
    "After that a coordinator reviews your request."
)


def register(
    email: str, password: str, repeat: str, *, name: str = "", organisation: str = "", address: str | None = None
) -> str:
    """Ask for a requester account. The answer (a sentence) is the same whether the address is
    new, already an account or already asking; the email says which. Commits."""
    from .mail import send_now

    key = _sign_in_key(email)
    _throttle("account_requested", key, address)
    db.session.commit()
    email = normalise_email(email)
    name, organisation = (name or "").strip()[:200], (organisation or "").strip()[:200]
    if password != repeat:
        raise Invalid("The two passwords differ.")
    problem = password_problem(password or "", email)
    if problem:
        raise Invalid(problem)
    if find_user(email) is None:
        similar = look_alike(email)
        if similar is not None:
            raise Invalid(
                f"{email} looks too much like the address of an existing account: "
                "use your own, clearly different address."
            )
    answer = REGISTERED.format(email=email)
    if find_user(email) is not None:
        send_now(
            email,
            "[EMMA] You already have an account",
            f"Someone (perhaps you) asked for an EMMA allele conversion account for {email}.\n\n"
            f"You already have one: sign in at {_link('/login')}\n"
            f"Forgot your password? Choose a new one at {_link('/reset-password')}\n\n"
            "If this was not you, ignore this email.",
        )
        return answer
    pending = db.session.scalar(
        select(AccountRequest).where(
            AccountRequest.email == email, AccountRequest.status.in_(("unverified", "pending"))
        )
    )
    if pending is not None and pending.status == "pending":
        send_now(
            email,
            "[EMMA] Your account request is being reviewed",
            "Your address is confirmed and a coordinator is reviewing your request: "
            "you will get an email when it is decided.",
        )
        return answer
    if pending is None:
        pending = AccountRequest(email=email)
        db.session.add(pending)
    pending.name, pending.organisation = name, organisation
    pending.password_hash = generate_password_hash(password, method=password_hash_method())
    db.session.flush()
    db.session.execute(
        update(OneTimeToken)
        .where(  # a new link replaces the older ones
            OneTimeToken.account_request_id == pending.id, OneTimeToken.used_at.is_(None)
        )
        .values(used_at=utcnow())
    )
    token = _new_token("verify_email", VERIFY_HOURS, account_request_id=pending.id)
    db.session.commit()
    send_now(
        email,
        "[EMMA] Confirm your email address",
        f"Hello{' ' + name if name else ''},\n\nto confirm your address for an EMMA allele conversion "
        f"account, open this link within {VERIFY_HOURS} hours (it works once):\n\n"
        f"{_link('/register/verify/' + token)}\n\n"
        "A coordinator then reviews your request. If you did not ask for an account, ignore this email.",
    )
    return answer


def verify_email(token: str, address: str | None = None) -> AccountRequest:
    """Open the emailed link: the account request waits for a coordinator. Commits."""
    row = _valid_token("verify_email", token, lock=True)
    if row is None or row.account_request is None or row.account_request.status != "unverified":
        db.session.rollback()
        raise NotFound(
            "This link is not valid: it was used already, has expired, or was replaced "
            "by a newer one. Ask again at /register."
        )
    row.used_at = utcnow()
    pending = row.account_request
    pending.status, pending.verified_at = "pending", utcnow()
    record_event("account_verified", email=pending.email, address=address)
    account_request_changed.send(pending, kind="verified")  # in this transaction (outbox)
    db.session.commit()
    return pending


def pending_accounts() -> list[AccountRequest]:
    return list(
        db.session.scalars(select(AccountRequest).where(AccountRequest.status == "pending").order_by(AccountRequest.id))
    )


def decide_account(actor: User, request_id: int, approve: bool, address: str | None = None) -> AccountRequest:
    """A coordinator approves (a requester account is created) or refuses a verified request."""
    if actor.role is not Role.coordinator:
        raise Forbidden("Only coordinators decide on account requests.")
    pending = db.session.get(AccountRequest, request_id) if 1 <= request_id <= 2**31 - 1 else None
    if pending is None:
        raise NotFound(f"No account request {request_id}.")
    if pending.status != "pending":
        raise Conflict(f"The account request of {pending.email} is {pending.status}, not waiting for a decision.")
    if approve:
        if find_user(pending.email) is not None or look_alike(pending.email) not in (None, pending.email):
            raise Conflict(f"{pending.email} is (or looks like) an existing account: refuse this request.")
        user = User(
            email=pending.email,
            role=Role.requester,
            name=pending.name,
            organisation=pending.organisation,
            password_hash=pending.password_hash,
        )
        db.session.add(user)
        db.session.flush()
        pending.user_id = user.id
    pending.status = "approved" if approve else "refused"
    pending.decided_at, pending.decided_by = utcnow(), actor
    record_event(
        f"account_{pending.status}",
        email=pending.email,
        actor=actor,
        address=address,
        user=db.session.get(User, pending.user_id) if pending.user_id else None,
    )
    account_request_changed.send(pending, kind=pending.status)
    db.session.commit()
    return pending


# ---- /reset-password ------------------------------------------------------------------------------
RESET_SENT = (
    "If an account exists for {email}, a link to choose a new password is on its way. It works once, within an hour."
)


def request_password_reset(email: str, address: str | None = None) -> str:
    """Email a one-time link to the account of `email`, if there is one; the answer is the same
    either way (and takes the same time: the email leaves in the background). Commits."""
    from .mail import send_now

    key = _sign_in_key(email)
    _throttle("password_reset_requested", key, address)
    try:
        email = normalise_email(email)
    except AccountError:
        db.session.commit()
        raise
    user = find_user(email)
    token = _new_token("reset_password", RESET_HOURS, user_id=user.id) if user is not None and user.active else None
    db.session.commit()
    if token and user is not None:
        send_now(
            user.email,
            "[EMMA] Choose a new password",
            f"To choose a new password for your EMMA allele conversion account, open this link "
            f"within {RESET_HOURS * 60} minutes (it works once):\n\n{_link('/reset-password/' + token)}\n\n"
            "Choosing a new password signs you out everywhere. If you did not ask for this, "
            "ignore this email: your password stays as it is.",
        )
    return RESET_SENT.format(email=email)


def reset_token_valid(token: str) -> bool:
    return _valid_token("reset_password", token) is not None


def reset_password(token: str, new: str, repeat: str, address: str | None = None) -> User:
    """Set a new password with an emailed link: the link and every other one of the user end,
    every session and API token of the user ends. Commits."""
    row = _valid_token("reset_password", token, lock=True)
    if row is None or row.user is None or not row.user.active:
        db.session.rollback()
        raise NotFound("This link is not valid: it was used already or has expired. Ask for a new one.")
    user = row.user
    if new != repeat:
        raise Invalid("The two passwords differ.")
    problem = password_problem(new or "", user.email)
    if problem:
        raise Invalid(problem)
    user.set_password(new)
    revoked = _sign_out_everywhere(user)  # also uses up this link and every other one
    record_event(
        "password_reset",
        user=user,
        actor=user,
        address=address,
        detail=f"every session signed out, {revoked} API token(s) revoked",
    )
    db.session.commit()
    return user
