"""Lab records: paperwork, matings and litters, animals, QC, cryopreservation and thaws, shipments.

`init_app` gives the requests package what it must not import itself: the guard facts (read
from the records in force), the records in the request JSON, and the workspace on the page."""


def init_app(app):
    from ..requests import hooks
    from ..requests.signals import stock_asked
    from . import operations, views

    hooks.register_lab_facts(app, operations.GuardFacts)
    stock_asked.connect(operations.stock_in_force)  # the archive loop: material and count of the stock
    hooks.add_detail_extra(app, "records", operations.lab_records, read=operations.ALL_RECORDS)
    views.init_app(app)
