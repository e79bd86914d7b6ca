"""URL converters, and URLs built once per page for its many rows."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote_plus

from flask import has_request_context, request, url_for
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in every URL: database ids, so 0..2**31-1. A larger number is a 404, not a
    database overflow (500); the OpenAPI document states the maximum."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def id_url(endpoint: str, name: str = "request_id") -> Callable[[int], str]:
    """`url_for(endpoint, **{name: id})` for many ids at the cost of one url_for (a page's rows:
    url_for costs ~15 µs a call). The id is an integer, so the URL is the same text around it."""
    marker = str(MAX_ID)
    head, _, tail = url_for(endpoint, **{name: MAX_ID}).partition(marker)
    return lambda value: f"{head}{int(value)}{tail}"


def query_value(value: str) -> str:
    """A query string's value quoted as url_for quotes it (werkzeug.urls._urlencode)."""
    return quote_plus(value, safe="!$'()*,/:;?@")


_FIXED: dict[tuple, str] = {}


def fixed_url_for(endpoint: str, **values) -> str:
    """The templates' url_for. A link without arguments (the layout's menus) or to a static file is
    the same text on every page of a deployment (for its script root): built once, not on each of
    the ~15 such links of every page. Anything else is url_for itself."""
    if not has_request_context() or (values and (endpoint != "static" or len(values) != 1)):
        return url_for(endpoint, **values)
    key = (request.script_root, endpoint, values.get("filename"))
    url = _FIXED.get(key)
    if url is None:
        url = url_for(endpoint, **values)
        if len(_FIXED) < 1_000:
            _FIXED[key] = url
    return url
