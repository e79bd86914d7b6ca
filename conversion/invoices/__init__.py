"""Invoices: price lists, VAT, quotes, gapless numbering, PDF rendering, credit notes."""


def init_app(app):
    from ..catalogue.seed import SEEDERS
    from ..pages.views import HOME_SECTIONS, NAV_LINKS
    from ..requests.operations import ON_EVENT
    from ..requests.views import CONFIRM_EXTRAS
    from . import views
    from .cli import vat_cli
    from .quotes import on_request_event
    from .seed import seed_price_lists
    from .vat import seed_vat_rates

    app.register_blueprint(views.bp)
    app.cli.add_command(vat_cli)
    for seeder in (seed_vat_rates, seed_price_lists):
        if seeder not in SEEDERS:
            SEEDERS.append(seeder)
    if on_request_event not in ON_EVENT:
        ON_EVENT.append(on_request_event)
    if views.confirm_estimate not in CONFIRM_EXTRAS:
        CONFIRM_EXTRAS.append(views.confirm_estimate)
    for role, links in (("requester", [("My invoices", "invoices.index")]),
                        ("staff", [("Invoices", "invoices.index"), ("Price lists", "invoices.prices")]),
                        ("coordinator", [("Invoices", "invoices.index"), ("Price lists", "invoices.prices")])):
        for link in links:
            if link not in NAV_LINKS[role]:
                NAV_LINKS[role].append(link)
    if ("My invoices", "invoices.index") not in HOME_SECTIONS["requester"]:
        HOME_SECTIONS["requester"].append(("My invoices", "invoices.index"))
