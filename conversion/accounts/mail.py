"""Emails that carry a one-time link (verify an address, reset a password).

They are handed to the SMTP server straight away, in a background thread, and never written to
the outbox: the link's token exists only in the email (the database keeps its SHA-256), and the
answer to the person asking takes the same time whether an email is sent or not."""

from __future__ import annotations

import logging
import smtplib
import threading
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

log = logging.getLogger("conversion.security")
SENDING: list[threading.Thread] = []  # threads still delivering (tests wait for them)


def send_now(recipient: str, subject: str, text: str) -> None:
    """Deliver a plain-text email in the background (errors are logged, never shown)."""
    cfg = current_app.config
    sender = cfg["MAIL_SENDER"]
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, recipient, subject
    mail["Message-ID"] = make_msgid("account", domain=sender.rsplit("@", 1)[-1].strip("> ") or "emma.example")
    mail.set_content(text)
    server, port, timeout = cfg["MAIL_SERVER"], cfg["MAIL_PORT"], cfg.get("MAIL_TIMEOUT", 20)

    def deliver():
        try:
            with smtplib.SMTP(server, port, timeout=timeout) as smtp:
                smtp.send_message(mail)
        except (smtplib.SMTPException, OSError) as exc:
            log.error("account email to %s not sent: %s", recipient, exc)

    thread = threading.Thread(target=deliver, name="account-mail", daemon=True)
    SENDING[:] = [t for t in SENDING if t.is_alive()] + [thread]
    thread.start()


def wait_for_mail(timeout: float = 10.0) -> None:
    """Wait until the emails started so far are delivered (or failed)."""
    for thread in list(SENDING):
        thread.join(timeout)
