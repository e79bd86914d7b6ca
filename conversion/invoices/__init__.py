"""Invoices: price lists, VAT, quotes, gapless numbering, PDF rendering, credit notes."""


def init_app(app):
    from ..registry import add_links, add_plan_extra, add_seeder
    from ..requests.signals import request_changed
    from . import views
    from .cli import vat_cli
    from .quotes import on_request_event
    from .seed import seed_price_lists
    from .vat import seed_vat_rates

    app.register_blueprint(views.bp)
    app.cli.add_command(vat_cli)
    add_seeder(app, seed_vat_rates)
    add_seeder(app, lambda context: seed_price_lists(context["nodes"]))
    request_changed.connect(on_request_event)  # a quote attached at submission and assignment
    add_plan_extra(app, views.confirm_estimate)
    add_links(app, "requester", nav=("My invoices", "invoices.index"), home=("My invoices", "invoices.index"))
    for role in ("staff", "coordinator"):
        add_links(app, role, nav=("Invoices", "invoices.index"))
        add_links(app, role, nav=("Price lists", "invoices.prices"))
