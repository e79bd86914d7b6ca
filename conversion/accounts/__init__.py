def init_app(app):
    from . import auth, views

    auth.init_app(app)
    app.register_blueprint(views.bp)
