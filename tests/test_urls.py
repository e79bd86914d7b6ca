"""The layout's links and static files are built once per script root (conversion.urls.fixed_url_for):
a deployment under a path prefix gets its prefix on every link, one at the root gets none, from the
same process."""

from __future__ import annotations

import re


def _links(html: str) -> set[str]:
    return set(re.findall(r'(?:href|src|action)="([^"]+)"', html))


def test_layout_links_follow_the_script_root(seeded, client):
    at_root = client.get("/workflow")
    under = client.get("/workflow", base_url="http://localhost/emma/")
    again = client.get("/workflow")
    assert at_root.status_code == under.status_code == again.status_code == 200
    root_links = {link for link in _links(at_root.text) if link.startswith("/")}
    prefixed = {link for link in _links(under.text) if link.startswith("/")}
    assert {"/static/app.css", "/strains", "/workflow"} <= root_links
    assert prefixed and all(link.startswith("/emma/") for link in prefixed)
    assert {link.removeprefix("/emma") for link in prefixed} == root_links
    assert _links(again.text) == _links(at_root.text)  # the prefixed answers did not leak into these
