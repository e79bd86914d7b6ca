"""Email notifications: an outbox written with each transition, delivered by `outbox send`."""


def init_app(app):
    from ..pages.views import NAV_LINKS
    from ..requests.messages import ON_MESSAGE
    from ..requests.operations import ON_EVENT
    from . import views
    from .cli import outbox_cli
    from .operations import on_event, on_message

    app.register_blueprint(views.bp)
    app.cli.add_command(outbox_cli)
    if on_event not in ON_EVENT:
        ON_EVENT.append(on_event)
    if on_message not in ON_MESSAGE:
        ON_MESSAGE.append(on_message)
    for role in NAV_LINKS:
        if ("Notifications", "notifications.settings") not in NAV_LINKS[role]:
            NAV_LINKS[role].append(("Notifications", "notifications.settings"))
