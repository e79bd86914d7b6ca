"""Email notifications: an outbox written with each transition, delivered by `outbox send`."""


def init_app(app):
    from ..accounts.signals import account_request_changed
    from ..registry import ROLES, add_links
    from ..requests.signals import message_posted, request_changed
    from . import views
    from .archive import on_archived
    from .cli import outbox_cli
    from .operations import on_account_event, on_event, on_message

    app.register_blueprint(views.bp)
    app.cli.add_command(outbox_cli)
    request_changed.connect(on_event)  # idempotent: blinker keeps one connection per receiver
    request_changed.connect(on_archived)
    message_posted.connect(on_message)
    account_request_changed.connect(on_account_event)
    for role in ROLES:
        add_links(app, role, nav=("Notifications", "notifications.settings"))
