"""Signals other domains listen to (higher layers react without requests importing them)."""

from blinker import Namespace

_signals = Namespace()

request_changed = _signals.signal("request-changed")
"""Sent with (req, event=RequestEvent) for each transition, inside its transaction, before the
commit: a receiver's rows (the email outbox) commit or roll back with the transition."""

stock_asked = _signals.signal("stock-asked")
"""Sent with (req) when a finished conversion becomes a catalogue strain (complete_cryopreservation);
a receiver (the lab) returns the stock in force as (material "sperm" or "embryos", count), or None."""
message_posted = _signals.signal("message-posted")
"""Sent with (req, message=RequestMessage) for each message on a request, inside its transaction,
before the commit (the emails to the other side)."""
