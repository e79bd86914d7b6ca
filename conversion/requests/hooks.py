"""What the packages above `requests` add to a request, registered from their init_app: requests
never imports them (one direction of dependencies: requests -> lab -> invoices ...).

- the guard facts the lifecycle reads (lab registers an object answering `LabFacts`);
- extra JSON in the request detail (lab adds its records: `records`);
- sections of the request page (lab adds its workspace)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from ..accounts.models import User
    from .models import ConversionRequest


class LabFacts(Protocol):
    def missing_paperwork(self, req: "ConversionRequest") -> list[str]: ...
    def has_source_founder(self, req: "ConversionRequest") -> bool: ...
    def has_step_product_animal(self, req: "ConversionRequest") -> bool: ...
    def passing_assays_in_step(self, req: "ConversionRequest") -> int: ...
    def failed_three_prime_loxp(self, req: "ConversionRequest") -> bool: ...
    def cryo_problem(self, req: "ConversionRequest") -> str | None: ...
    def shipment_problem(self, req: "ConversionRequest") -> str | None: ...


_lab_facts: LabFacts | None = None

DETAIL_EXTRAS: dict[str, Callable[["ConversionRequest", "User"], Any]] = {}
"""key -> (request, user) -> JSON value, added to the request detail (e.g. "records")."""

PAGE_SECTIONS: list[Callable[..., dict]] = []
"""(request, user, replace) -> {"template": ..., **context, "fixes": {trigger: anchor}} for the
request page; `replace` holds forms with errors to show again."""


def register_lab_facts(facts: LabFacts) -> None:
    global _lab_facts
    _lab_facts = facts


def lab_facts() -> LabFacts:
    if _lab_facts is None:
        raise RuntimeError("No lab facts registered: create_app() registers them (conversion.lab.init_app).")
    return _lab_facts
