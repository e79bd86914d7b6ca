"""Errors raised by the lifecycle. Each carries a human-readable `.message` and an HTTP-ish
`status` hint; callers map them to their own responses."""
from __future__ import annotations


class LifecycleError(Exception):
    status = 409

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnknownTrigger(LifecycleError):
    """No such trigger (the JSON API answers 422)."""
    status = 400


class Forbidden(LifecycleError):
    """The actor's role may not fire this trigger on this request."""
    status = 403


class NotAllowed(LifecycleError):
    """The trigger is not allowed in the request's current state."""
    status = 409


class GuardFailed(LifecycleError):
    """The state allows the trigger but a precondition (lab records, paperwork...) is not met."""
    status = 409

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class InvalidData(LifecycleError):
    """Missing or invalid data for the trigger (comment, node, cancellation reason)."""
    status = 422
