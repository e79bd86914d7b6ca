"""Lab records of a request (paperwork, matings, animals, QC, cryopreservation)."""


def init_app(app):
    from ..requests.signals import stock_asked
    from .operations import stock_in_force

    stock_asked.connect(stock_in_force)  # idempotent: blinker keeps one connection per receiver
