"""Signals of the accounts package (higher layers react without accounts importing them)."""

from blinker import Namespace

_signals = Namespace()

account_request_changed = _signals.signal("account-request-changed")
"""Sent with (account_request, kind="verified"|"approved"|"refused") inside the change's
transaction, before the commit: a receiver's rows (the email outbox) commit with it."""
