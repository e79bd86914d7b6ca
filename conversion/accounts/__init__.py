def init_app(app):
    from ..registry import add_links, add_seeder
    from . import auth, views
    from .seed import seed_users

    auth.init_app(app)
    app.register_blueprint(views.bp)
    add_seeder(app, seed_users)
    for link in (
        ("Users and roles", "accounts.users"),
        ("Account requests", "accounts.accounts"),
        ("Security events", "accounts.security_events"),
    ):
        add_links(app, "coordinator", nav=link, home=link)
