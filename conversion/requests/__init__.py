def init_app(app):
    """Request pages are registered here once they exist (views.bp)."""
