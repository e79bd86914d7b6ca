"""What the packages above `requests` add to a request, registered per app from their init_app
(in `app.extensions`, like conversion/registry.py): requests never imports them (one direction
of dependencies: requests -> lab -> invoices ...).

- the guard facts the lifecycle reads (lab registers an object answering `LabFacts`);
- extra JSON in the request detail (lab adds its records under "records");
- sections of the request page (lab adds its workspace)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, current_app
from sqlalchemy import Select

if TYPE_CHECKING:
    from .models import ConversionRequest


class LabFacts(Protocol):
    def missing_paperwork(self, req: ConversionRequest) -> list[str]: ...
    def has_source_founder(self, req: ConversionRequest) -> bool: ...
    def has_step_product_animal(self, req: ConversionRequest) -> bool: ...
    def step_matings_unsuccessful(self, req: ConversionRequest) -> bool: ...
    def passing_assays_in_step(self, req: ConversionRequest) -> int: ...
    def failed_three_prime_loxp(self, req: ConversionRequest) -> bool: ...
    def cryo_problem(self, req: ConversionRequest) -> str | None: ...
    def shipment_problem(self, req: ConversionRequest) -> str | None: ...


def _store(app: Flask | None = None) -> dict:
    app = app or current_app
    return app.extensions.setdefault(
        "conversion.requests.hooks", {"facts": None, "detail": {}, "detail_reads": {}, "sections": []}
    )


def register_lab_facts(app: Flask, facts: LabFacts) -> None:
    _store(app)["facts"] = facts


def add_detail_extra(app: Flask, key: str, extra: Callable[..., Any], read: Select | None = None) -> None:
    """`extra(request, user)` -> a JSON value added to the request detail under `key`. With `read`, a
    SELECT of the rows `extra` shapes (parameter `request_id`): the API detail reads them in its one
    statement and calls `extra(request, user, rows)`."""
    _store(app)["detail"][key] = extra
    if read is not None:
        _store(app)["detail_reads"][key] = read


def add_page_section(app: Flask, section: Callable[..., dict | None]) -> None:
    """`section(request, user, replace)` -> {"template": ..., **context, "fixes": {trigger: anchor}}
    or None; `replace` holds forms with errors to show again."""
    if section not in _store(app)["sections"]:
        _store(app)["sections"].append(section)


def lab_facts() -> LabFacts:
    facts = _store()["facts"]
    if facts is None:
        raise RuntimeError("No lab facts registered: create_app() registers them (conversion.lab.init_app).")
    return facts


def detail_extras() -> dict[str, Callable[..., Any]]:
    return _store()["detail"]


def detail_reads() -> dict[str, Select]:
    """{key: SELECT} of the detail extras that read their rows with the detail (add_detail_extra)."""
    return _store()["detail_reads"]


def page_sections() -> list[Callable[..., dict | None]]:
    return list(_store()["sections"])
