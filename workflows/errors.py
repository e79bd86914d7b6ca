"""Errors raised by the lifecycle, each with a sentence for people (`.message`).

Pure domain errors: what they mean over HTTP is decided in one place, conversion/errors.py
(`from_lifecycle`)."""

from __future__ import annotations


class LifecycleError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnknownTrigger(LifecycleError):
    """No such trigger."""


class Forbidden(LifecycleError):
    """The actor's role may not fire this trigger on this request."""


class NotAllowed(LifecycleError):
    """The trigger is not allowed in the request's current state."""


class GuardFailed(LifecycleError):
    """The state allows the trigger but a precondition (lab records, paperwork...) is not met."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class InvalidData(LifecycleError):
    """Missing or invalid data for the trigger (comment, node, cancellation reason)."""
