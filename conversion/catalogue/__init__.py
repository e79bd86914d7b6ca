def init_app(app):
    from ..registry import add_seeder
    from . import present, views
    from .seed import seed_catalogue

    present.init_app(app)  # the `allele` filter: superscript alleles on pages, in emails and PDFs
    app.register_blueprint(views.bp)
    add_seeder(app, seed_catalogue)
