"""Email notifications: an outbox written with each transition, delivered by `outbox send`."""


def init_app(app):
    from ..registry import ROLES, add_links
    from ..requests.signals import message_posted, request_changed
    from . import views
    from .cli import outbox_cli
    from .operations import on_event, on_message

    app.register_blueprint(views.bp)
    app.cli.add_command(outbox_cli)
    request_changed.connect(on_event)  # idempotent: blinker keeps one connection per receiver
    message_posted.connect(on_message)
    for role in ROLES:
        add_links(app, role, nav=("Notifications", "notifications.settings"))
