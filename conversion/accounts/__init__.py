def init_app(app):
    from ..pages.views import HOME_SECTIONS, NAV_LINKS
    from . import auth, views

    auth.init_app(app)
    app.register_blueprint(views.bp)
    for link in (("Users and roles", "accounts.users"), ("Security events", "accounts.security_events")):
        if link not in HOME_SECTIONS["coordinator"]:
            HOME_SECTIONS["coordinator"].append(link)
        if link not in NAV_LINKS["coordinator"]:
            NAV_LINKS["coordinator"].append(link)
