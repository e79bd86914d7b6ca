def init_app(app):
    """Request pages (views.bp), their template filters and the role links to them."""
    from ..pages.views import HOME_SECTIONS, NAV_LINKS
    from . import present, views

    present.init_app(app)
    app.register_blueprint(views.bp)
    links = {
        "requester": [("My requests", "requests.index", "My requests: follow your conversions")],
        "staff": [("Work queue", "requests.index", "Work queue: your node's requests")],
        "coordinator": [("Review", "requests.review", "Review queue: approve, reject, assign"),
                        ("All requests", "requests.index", "All requests of every node")],
    }
    for role, items in links.items():
        for title, endpoint, card in items:
            if (title, endpoint) not in NAV_LINKS[role]:
                NAV_LINKS[role].append((title, endpoint))
                HOME_SECTIONS[role].append((card, endpoint))
