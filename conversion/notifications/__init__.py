"""Email notifications: an outbox written with each transition, delivered by `outbox send`."""


def init_app(app):
    from ..accounts.operations import ACCOUNT_EVENTS
    from ..pages.views import NAV_LINKS
    from ..requests.operations import ON_EVENT
    from . import views
    from .cli import outbox_cli
    from .operations import on_account_event, on_event

    app.register_blueprint(views.bp)
    app.cli.add_command(outbox_cli)
    if on_event not in ON_EVENT:
        ON_EVENT.append(on_event)
    if on_account_event not in ACCOUNT_EVENTS:
        ACCOUNT_EVENTS.append(on_account_event)
    for role in NAV_LINKS:
        if ("Notifications", "notifications.settings") not in NAV_LINKS[role]:
            NAV_LINKS[role].append(("Notifications", "notifications.settings"))
