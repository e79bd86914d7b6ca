"""Invoices: price lists, VAT, gapless numbering, PDF rendering, credit notes, certificates."""


def init_app(app):
    from ..catalogue.seed import SEEDERS
    from ..pages.views import HOME_SECTIONS, NAV_LINKS
    from . import views
    from .seed import seed_price_lists

    app.register_blueprint(views.bp)
    if seed_price_lists not in SEEDERS:
        SEEDERS.append(seed_price_lists)
    for role, links in (("requester", [("My invoices", "invoices.index")]),
                        ("staff", [("Invoices", "invoices.index"), ("Price lists", "invoices.prices")]),
                        ("coordinator", [("Invoices", "invoices.index"), ("Price lists", "invoices.prices")])):
        for link in links:
            if link not in NAV_LINKS[role]:
                NAV_LINKS[role].append(link)
    if ("My invoices", "invoices.index") not in HOME_SECTIONS["requester"]:
        HOME_SECTIONS["requester"].append(("My invoices", "invoices.index"))
