"""Invoices: price lists, VAT, gapless numbering, PDF rendering, credit notes, certificates."""


def init_app(app):
    from ..registry import add_links, add_seeder
    from . import views
    from .seed import seed_price_lists

    app.register_blueprint(views.bp)
    add_seeder(app, lambda context: seed_price_lists(context["nodes"]))
    add_links(app, "requester", nav=("My invoices", "invoices.index"), home=("My invoices", "invoices.index"))
    for role in ("staff", "coordinator"):
        add_links(app, role, nav=("Invoices", "invoices.index"))
        add_links(app, role, nav=("Price lists", "invoices.prices"))
