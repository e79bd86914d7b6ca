def init_app(app):
    from ..registry import add_seeder
    from . import views
    from .seed import seed_catalogue

    app.register_blueprint(views.bp)
    add_seeder(app, seed_catalogue)
