def init_app(app):
    """Request pages (views.bp), their template filters and the role links to them."""
    from ..registry import add_links
    from . import present, views

    present.init_app(app)
    app.register_blueprint(views.bp)
    links = {
        "requester": [("My requests", "requests.index", "My requests: follow your conversions")],
        "staff": [("Work queue", "requests.index", "Work queue: your node's requests")],
        "coordinator": [
            ("Review", "requests.review", "Review queue: approve, reject, assign"),
            ("All requests", "requests.index", "All requests of every node"),
        ],
    }
    for role, items in links.items():
        for title, endpoint, card in items:
            add_links(app, role, nav=(title, endpoint), home=(card, endpoint))
